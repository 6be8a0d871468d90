"""FreqTrade's signal semantics in both engines (every test runs on the event engine and the
compiled kernel): ``minimal_roi`` net of both fees and the funding booked so far, the rules
for a candle with several signals, ``use_exit_signal``, ``ignore_roi_if_entry_signal``, and
the exit at the buffered liquidation price named ``liquidation``. The expected numbers are
worked out by hand in each test from FreqTrade's definitions (its ``calc_profit_ratio``:
``(close value / open value − 1)·L`` with the fees on both values and funding in the close
value)."""

from __future__ import annotations

import pytest
from backtest_helpers import HOUR, T0, at, config, flat, market, signals

from levtrade.backtest import BacktestResult, run
from levtrade.strategy.signals import SignalRules


@pytest.fixture(params=["event", "compiled"])
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def run_btc(
    engine: str,
    bars: list[tuple[float, float, float, float]],
    rules: SignalRules,
    columns: dict[str, object],
    funding: dict[int, float] | None = None,
    **cfg: object,
) -> BacktestResult:
    data = market(bars, funding=funding)
    table = signals(data, rules, BTC=columns)
    return run(table, data, config(**cfg), engine=engine)


FEE = 0.0005


def test_minimal_roi_is_net_of_both_fees_and_the_funding_booked(engine: str) -> None:
    # long 5 contracts at 100 (stake 100, 5x), fee 0.05 % on both sides, ROI 10 %.
    # Gross, the target would be 100 × (1 + 0.1/5) = 102 (reached on bar 2).
    # Net of fees: open value 5·100·1.0005 = 500.25; close value 5·p·0.9995 + funding.
    # Funding 0.1 % at bar 2's open on mark 100: the long pays 5·100·0.001 = 0.5.
    # (close value / 500.25 − 1)·5 = 0.10  ->  p = (1.02·500.25 + 0.5) / (5·0.9995)
    #                                          = 510.755 / 4.9975 = 102.20210105...
    target = (1.02 * 500.25 + 0.5) / (5 * 0.9995)
    bars = [
        flat(100),
        (100.0, 101.5, 99.5, 100.0),
        (100.0, 102.15, 99.8, 100.0),  # beyond 102 and the fees-only 102.102; short of 102.202
        (100.0, 102.5, 99.8, 102.4),
        flat(102.4),
    ]
    n = len(bars)
    result = run_btc(
        engine,
        bars,
        SignalRules(minimal_roi={0: 0.10}),
        {"enter_long": at(n, 0)},
        funding={2: 0.001},
        stake_amount=100.0,
        leverage=5,
        maker_fee=FEE,
        taker_fee=FEE,
    )
    trade = result.trades.iloc[0]
    assert (trade.exit_reason, trade.exit_time) == ("roi", T0 + 3 * HOUR)
    assert trade.exit_price == pytest.approx(target, rel=1e-12)
    close_value = 5 * trade.exit_price * (1 - FEE) - 0.5
    assert (close_value / 500.25 - 1) * 5 == pytest.approx(0.10, rel=1e-12)
    assert trade.funding == pytest.approx(-0.5)


def test_short_minimal_roi_is_net_of_fees(engine: str) -> None:
    # short 5 contracts at 100 (stake 100, 5x), fee 0.05 %, ROI 10 %: open value
    # 5·100·(1 − 0.0005) = 499.75; close value 5·p·1.0005; (1 − close/open)·5 = 0.1
    # -> p = 0.98 · 499.75 / (5 · 1.0005) = 97.90104947...
    target = 0.98 * 499.75 / (5 * 1.0005)
    bars = [flat(100), (100.0, 100.5, 97.95, 100.0), (100.0, 100.2, 97.5, 97.6), flat(97.6)]
    n = len(bars)
    result = run_btc(
        engine,
        bars,
        SignalRules(minimal_roi={0: 0.10}, can_short=True),
        {"enter_short": at(n, 0)},
        stake_amount=100.0,
        leverage=5,
        maker_fee=FEE,
        taker_fee=FEE,
    )
    trade = result.trades.iloc[0]
    assert (trade.exit_reason, trade.exit_time) == ("roi", T0 + 2 * HOUR)
    assert trade.exit_price == pytest.approx(target, rel=1e-12)


def test_the_trailing_offset_is_reached_net_of_both_fees(engine: str) -> None:
    # long 3 contracts at 100 (stake 100, 3x), fee 0.05 % on both sides; the trailing stop
    # (positive 2 %) arms only once the profit ratio passes the 4 % offset. FreqTrade's ratio
    # is net of fees: open value 3·100·1.0005 = 300.15.
    # Bar 1's high 101.40: gross (1.014 − 1)·3 = 0.042, but net
    # (3·101.40·0.9995 / 300.15 − 1)·3 = 0.038959 < 0.04: not armed (gross, the stop would go to
    # 101.40·(1 − 0.02/3) = 100.724 and bar 2's low 100.5 would exit there).
    # Bar 3's high 101.50: net (3·101.50·0.9995 / 300.15 − 1)·3 = 0.041957: armed, stop at
    # 101.50·(1 − 0.02/3) = 100.823333; bar 4 falls through it.
    assert pytest.approx(0.038959, abs=1e-6) == (3 * 101.40 * 0.9995 / 300.15 - 1) * 3
    assert pytest.approx(0.041957, abs=1e-6) == (3 * 101.50 * 0.9995 / 300.15 - 1) * 3
    bars = [
        flat(100),
        (100.0, 101.40, 99.9, 101.3),
        (101.3, 101.35, 100.5, 100.6),
        (100.6, 101.5, 100.6, 101.45),
        (101.45, 101.45, 100.7, 100.75),
        flat(100.75),
    ]
    n = len(bars)
    rules = SignalRules(
        stoploss=-0.3,
        trailing_stop=True,
        trailing_stop_positive=0.02,
        trailing_stop_positive_offset=0.04,
        trailing_only_offset_is_reached=True,
    )
    result = run_btc(
        engine,
        bars,
        rules,
        {"enter_long": at(n, 0)},
        stake_amount=100.0,
        leverage=3,
        maker_fee=FEE,
        taker_fee=FEE,
    )
    trade = result.trades.iloc[0]
    assert (trade.exit_reason, trade.exit_time) == ("trailing_stop", T0 + 4 * HOUR)
    assert trade.exit_price == pytest.approx(101.5 * (1 - 0.02 / 3), rel=1e-12)


def test_an_entry_with_its_sides_exit_on_one_candle_enters_nothing(engine: str) -> None:
    n = 5
    result = run_btc(
        engine,
        [flat(100)] * n,
        SignalRules(),
        {"enter_long": at(n, 0), "exit_long": at(n, 0)},
        stake_amount=100.0,
    )
    assert len(result.trades) == 0


def test_an_exit_with_its_sides_entry_holds_the_position(engine: str) -> None:
    # long from bar 1; bar 2 has exit_long and enter_long: FreqTrade neither exits nor
    # re-enters, the trade runs to bar 3's exit signal (filled at bar 4's open)
    n = 6
    result = run_btc(
        engine,
        [flat(100)] * n,
        SignalRules(),
        {"enter_long": at(n, 0, 2), "exit_long": at(n, 2, 3)},
        stake_amount=100.0,
    )
    assert len(result.trades) == 1
    trade = result.trades.iloc[0]
    assert (trade.entry_time, trade.exit_time) == (T0 + HOUR, T0 + 4 * HOUR)


def test_an_exit_and_the_other_sides_entry_flip(engine: str) -> None:
    # short from bar 1; bar 2: exit_short + enter_long -> exit and long entry at bar 3's open
    n = 5
    result = run_btc(
        engine,
        [flat(100)] * n,
        SignalRules(can_short=True),
        {"enter_short": at(n, 0), "exit_short": at(n, 2), "enter_long": at(n, 2)},
        stake_amount=100.0,
    )
    sides = list(zip(result.trades["side"], result.trades["entry_time"], strict=True))
    assert sides == [("short", T0 + HOUR), ("long", T0 + 3 * HOUR)]


def test_without_use_exit_signal_exit_columns_are_not_acted_on(engine: str) -> None:
    n = 5
    result = run_btc(
        engine,
        [flat(100)] * n,
        SignalRules(use_exit_signal=False),
        {"enter_long": at(n, 0), "exit_long": at(n, 1)},
        stake_amount=100.0,
    )
    trade = result.trades.iloc[0]
    assert trade.exit_reason == "end_of_data"


def test_ignore_roi_if_entry_signal_holds_the_roi_exit_a_bar(engine: str) -> None:
    # ROI 1 % at 1x from entry 100 (no fees): 101. Bars 2 and 3 reach 101.5; enter_long is
    # set again at bar 1's close, so bar 2 takes no ROI exit; bar 3 does, at 101.
    bars = [flat(100), flat(100), (100.0, 101.5, 99.9, 100.0), (100.0, 101.5, 99.9, 100.0)]
    bars.append(flat(100))
    n = len(bars)
    result = run_btc(
        engine,
        bars,
        SignalRules(minimal_roi={0: 0.01}, ignore_roi_if_entry_signal=True),
        {"enter_long": at(n, 0, 1)},
        stake_amount=100.0,
    )
    trade = result.trades.iloc[0]
    assert (trade.exit_reason, trade.exit_time) == ("roi", T0 + 3 * HOUR)
    assert trade.exit_price == pytest.approx(101.0)


def test_the_exit_at_the_buffered_liquidation_price_is_named_liquidation(engine: str) -> None:
    # isolated 10x, stake 10: 1 contract at 100, LP 90/0.996 = 90.3614; stoploss −100 %
    # (stop 90, beyond the LP); buffer 0.5 puts the stop at LP + (100 − LP)·0.5 = 95.1807.
    # FreqTrade names this exit "liquidation".
    lp = 90 / 0.996
    floor = lp + (100 - lp) * 0.5
    bars = [flat(100), flat(100), (100.0, 101.0, 85.0, 88.0), flat(88)]
    n = len(bars)
    result = run_btc(
        engine,
        bars,
        SignalRules(stoploss=-1.0),
        {"enter_long": at(n, 0)},
        stake_amount=10.0,
        leverage=10,
        margin_mode="isolated",
        liquidation_buffer=0.5,
    )
    trade = result.trades.iloc[0]
    assert trade.exit_reason == "liquidation"
    assert trade.exit_price == pytest.approx(floor, rel=1e-12)
