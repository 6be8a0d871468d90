"""Signal strategies in hedge mode (docs/backtest.md, "Signal strategies"), by hand, on both
engines: every scenario runs on the event engine and on the compiled kernel, and the
hand-computed figures hold for each.

BTC on Binance: tier 0 has MMR 0.004 and no maintenance amount up to a notional of 300,000, so
every liquidation price below is one line of algebra. Fees are zero unless a test sets them.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import pandas as pd
import pytest
from backtest_helpers import BTC, HOUR, T0, at, config, flat, market, signals

from levtrade.backtest import BacktestResult, run
from levtrade.errors import StrategyError
from levtrade.strategy.signal_strategy import SignalStrategy
from levtrade.strategy.signals import SignalRules, SymbolSignals

LIQ_LONG, LIQ_SHORT = f"liq:{BTC}:LONG", f"liq:{BTC}:SHORT"
SHORTS = SignalRules(can_short=True)


@pytest.fixture(params=["event", "compiled"])
def engine(request: pytest.FixtureRequest) -> str:
    """The engine a scenario runs on (through the ``run`` entry point)."""
    return str(request.param)


def run_hedge(
    engine: str,
    bars: list[tuple[float, float, float, float]],
    columns: dict[str, object],
    rules: SignalRules = SHORTS,
    funding: dict[int, float] | None = None,
    **cfg: object,
) -> BacktestResult:
    """Run BTC signals in hedge mode on ``engine``."""
    data = market(bars, funding=funding)
    table = signals(data, rules, BTC=columns)
    return run(table, data, config(position_mode="hedge", **cfg), engine=engine)


def by_leg(result: BacktestResult) -> dict[str, dict[str, object]]:
    trades = result.trades
    assert trades["leg"].is_unique
    return {str(row["leg"]): dict(row) for _, row in trades.iterrows()}


def test_both_entries_open_both_legs_and_one_exit_leaves_the_other(engine: str) -> None:
    # bar 0's close: enter_long + enter_short, stake 100 at 2x -> each leg 100 × 2 / 100 = 2
    # contracts at bar 1's open (100), LONG filled first; taker fee 0.05 %: 200 × 0.0005 = 0.1
    # per entry. Bar 2's close: exit_long -> LONG closes at bar 3's open 110:
    #   2 × (110 − 100) − 0.1 − 2 × 110 × 0.0005 = 20 − 0.1 − 0.11 = 19.79.
    # SHORT runs to the end: closed at the last close 105:
    #   2 × (100 − 105) − 0.1 − 2 × 105 × 0.0005 = −10 − 0.1 − 0.105 = −10.205.
    bars = [flat(100), flat(100), flat(110), flat(110), flat(105)]
    n = len(bars)
    result = run_hedge(
        engine,
        bars,
        {"enter_long": at(n, 0), "enter_short": at(n, 0), "exit_long": at(n, 2)},
        stake_amount=100.0,
        leverage=2,
        taker_fee=0.0005,
    )
    legs = by_leg(result)
    long, short = legs["LONG"], legs["SHORT"]
    assert (long["side"], short["side"]) == ("long", "short")
    assert long["entry_time"] == short["entry_time"] == T0 + HOUR
    assert (long["size"], short["size"]) == (2.0, 2.0)
    assert long["entry_price"] == short["entry_price"] == 100.0
    assert (long["exit_time"], long["exit_price"], long["exit_reason"]) == (
        T0 + 3 * HOUR,
        110.0,
        "signal",
    )
    assert long["fees"] == pytest.approx(0.21, abs=1e-12)
    assert long["pnl"] == pytest.approx(19.79, abs=1e-12)
    assert (short["exit_price"], short["exit_reason"]) == (105.0, "end_of_data")
    assert short["fees"] == pytest.approx(0.205, abs=1e-12)
    assert short["pnl"] == pytest.approx(-10.205, abs=1e-12)
    assert result.series["wallet"].iloc[-1] == pytest.approx(10_009.585, abs=1e-9)
    # the entries are orders on their legs, filled in submission order (LONG first)
    entries = result.orders[result.orders["tag"].isin(["enter_long", "enter_short"])]
    assert list(zip(entries["tag"], entries["leg"], entries["status"], strict=True)) == [
        ("enter_long", "LONG", "filled"),
        ("enter_short", "SHORT", "filled"),
    ]
    assert list(entries["fee"]) == pytest.approx([0.1, 0.1], abs=1e-12)
    # net notional: 0 while both legs are open (bars 1-2), −2 × 110 after the LONG exit
    notional = result.series[f"notional:{BTC}"]
    assert list(notional.iloc[1:4]) == pytest.approx([0.0, 0.0, -220.0], abs=1e-12)


def test_each_leg_has_its_own_leverage_stop_and_entry_signal(engine: str) -> None:
    # bar 0: enter_long at the row's 5x -> LONG 100 × 5 / 100 = 5 contracts at bar 1's open,
    #   stop 100 × (1 − 0.1/5) = 98.
    # bar 1: enter_short at the row's 2x -> SHORT 100 × 2 / 100 = 2 at bar 2's open,
    #   stop 100 × (1 + 0.1/2) = 105; bar 1's enter_long is ignored (the LONG leg is open).
    # bar 3 falls to 97: the LONG stop fills at 98: 5 × (98 − 100) = −10. Its high (100) is
    # far from the SHORT stop, which rests until the end: SHORT closes at 99: 2 × 1 = +2.
    bars = [flat(100), flat(100), flat(100), (100.0, 100.0, 97.0, 99.0), flat(99)]
    n = len(bars)
    result = run_hedge(
        engine,
        bars,
        {
            "enter_long": at(n, 0, 1),
            "enter_short": at(n, 1),
            "leverage": [5.0, 2.0, 2.0, 2.0, 2.0],
        },
        SignalRules(can_short=True, stoploss=-0.10),
        stake_amount=100.0,
    )
    legs = by_leg(result)
    long, short = legs["LONG"], legs["SHORT"]
    assert (long["leverage"], long["size"], short["leverage"], short["size"]) == (5, 5, 2, 2)
    assert (long["exit_reason"], long["exit_price"], long["exit_time"]) == (
        "stop_loss",
        98.0,
        T0 + 3 * HOUR,
    )
    assert long["pnl"] == pytest.approx(-10.0, abs=1e-12)
    assert short["entry_time"] == T0 + 2 * HOUR
    assert (short["exit_reason"], short["exit_price"]) == ("end_of_data", 99.0)
    assert short["pnl"] == pytest.approx(2.0, abs=1e-12)
    orders = result.orders
    assert list(orders["tag"]).count("enter_long") == 1
    stops = orders[orders["origin"] == "stop_loss"].set_index("leg")
    assert list(stops.loc[["LONG", "SHORT"], "price"]) == [98.0, 105.0]
    assert (stops.loc["LONG", "status"], stops.loc["SHORT", "status"]) == ("filled", "cancelled")
    assert stops.loc["SHORT", "reason"] == "end_of_data"


def test_roi_is_per_leg_from_its_own_entry(engine: str) -> None:
    # minimal_roi {0: 5 %} at 5x: LONG take-profit 100 × (1 + 0.05/5) = 101, SHORT 99. Bar 2
    # closes below its open, so its path is 100 -> 100 (high) -> 97 (low) -> 99: the SHORT's
    # take-profit (a buy at 99) is reached first, then the LONG's stop (98, stoploss −10 %).
    bars = [flat(100), flat(100), (100.0, 100.0, 97.0, 99.0), flat(99)]
    n = len(bars)
    result = run_hedge(
        engine,
        bars,
        {"enter_long": at(n, 0), "enter_short": at(n, 0)},
        SignalRules(can_short=True, stoploss=-0.10, minimal_roi={0: 0.05}),
        stake_amount=100.0,
        leverage=5,
    )
    legs = by_leg(result)
    # SHORT: 5 × (100 − 99) = +5; LONG: 5 × (98 − 100) = −10
    assert (legs["SHORT"]["exit_reason"], legs["SHORT"]["exit_price"]) == ("roi", 99.0)
    assert (legs["LONG"]["exit_reason"], legs["LONG"]["exit_price"]) == ("stop_loss", 98.0)
    assert legs["SHORT"]["pnl"] == pytest.approx(5.0, abs=1e-12)
    assert legs["LONG"]["pnl"] == pytest.approx(-10.0, abs=1e-12)
    # trades are listed as they close: the SHORT first
    assert list(result.trades["leg"]) == ["SHORT", "LONG"]


def test_funding_reaches_both_legs_with_opposite_signs(engine: str) -> None:
    # 3 contracts long and 3 short (stake 100 at 3x) from bar 1's open (100); funding rate
    # 0.1 % settles at bar 2's open at the mark 100: LONG −3 × 100 × 0.001 = −0.3,
    # SHORT +0.3. Flat prices: no PnL, so each leg's pnl is its funding, the wallet is
    # unchanged.
    bars = [flat(100)] * 4
    n = len(bars)
    result = run_hedge(
        engine,
        bars,
        {"enter_long": at(n, 0), "enter_short": at(n, 0)},
        funding={2: 0.001},
        stake_amount=100.0,
        leverage=3,
    )
    legs = by_leg(result)
    assert legs["LONG"]["funding"] == pytest.approx(-0.3, abs=1e-12)
    assert legs["SHORT"]["funding"] == pytest.approx(0.3, abs=1e-12)
    assert legs["LONG"]["pnl"] == pytest.approx(-0.3, abs=1e-12)
    assert legs["SHORT"]["pnl"] == pytest.approx(0.3, abs=1e-12)
    funding = result.ledger[result.ledger["kind"] == "funding"]
    assert list(funding["time"]) == [T0 + 2 * HOUR] * 2
    assert sorted(funding["amount"].abs()) == pytest.approx([0.3, 0.3], abs=1e-12)
    assert result.series["wallet"].iloc[-1] == pytest.approx(10_000.0, abs=1e-9)


def test_isolated_legs_each_have_their_own_liquidation(engine: str) -> None:
    # 1 contract per leg (stake 10 at 10x) from 100, isolated margin 10 each.
    #   LONG LP: 10 + (P − 100) = 0.004·P -> P = 90 / 0.996 = 90.3614...
    #   SHORT LP: 10 − (P − 100) = 0.004·P -> P = 110 / 1.004 = 109.5617...
    # Bar 2 falls to 85: the LONG is liquidated (Binance: closed at its bankruptcy price 90,
    # losing its margin 10); the SHORT is untouched and closes at the last close 88: +12.
    bars = [flat(100), flat(100), (100.0, 100.0, 85.0, 88.0), flat(88)]
    n = len(bars)
    result = run_hedge(
        engine,
        bars,
        {"enter_long": at(n, 0), "enter_short": at(n, 0)},
        stake_amount=10.0,
        leverage=10,
        margin_mode="isolated",
    )
    series = result.series
    assert series[LIQ_LONG].iloc[1] == pytest.approx(90 / 0.996, rel=1e-12)
    assert series[LIQ_SHORT].iloc[1] == pytest.approx(110 / 1.004, rel=1e-12)
    assert math.isnan(series[LIQ_LONG].iloc[2])
    assert series[LIQ_SHORT].iloc[2] == pytest.approx(110 / 1.004, rel=1e-12)
    legs = by_leg(result)
    long, short = legs["LONG"], legs["SHORT"]
    assert (long["exit_reason"], long["exit_time"]) == ("liquidation", T0 + 2 * HOUR)
    assert long["pnl"] == pytest.approx(-10.0, abs=1e-9)
    assert (short["exit_reason"], short["exit_price"]) == ("end_of_data", 88.0)
    assert short["pnl"] == pytest.approx(12.0, abs=1e-12)
    assert result.metrics["liquidations"] == 1
    assert series["wallet"].iloc[-1] == pytest.approx(10_002.0, abs=1e-9)


def test_liquidation_buffer_stop_is_per_leg(engine: str) -> None:
    # isolated legs as above, liquidation_buffer 0.5: each stop sits halfway between the
    # entry and the leg's own liquidation price:
    #   LONG 90/0.996 + (100 − 90/0.996) × 0.5 = 95.1807...,
    #   SHORT 110/1.004 − (110/1.004 − 100) × 0.5 = 104.7808...
    # Bar 2 falls to 94: the LONG stops out at its level; the SHORT stays.
    bars = [flat(100), flat(100), (100.0, 100.0, 94.0, 96.0), flat(96)]
    n = len(bars)
    result = run_hedge(
        engine,
        bars,
        {"enter_long": at(n, 0), "enter_short": at(n, 0)},
        stake_amount=10.0,
        leverage=10,
        margin_mode="isolated",
        liquidation_buffer=0.5,
    )
    long_stop = 90 / 0.996 + (100 - 90 / 0.996) * 0.5
    short_stop = 110 / 1.004 - (110 / 1.004 - 100) * 0.5
    # stops at the buffered liquidation price carry FreqTrade's name for that exit
    stops = result.orders[result.orders["origin"] == "liquidation"].set_index("leg")
    assert stops.loc["LONG", "price"] == pytest.approx(long_stop, rel=1e-12)
    assert stops.loc["SHORT", "price"] == pytest.approx(short_stop, rel=1e-12)
    legs = by_leg(result)
    assert legs["LONG"]["exit_reason"] == "liquidation"
    assert legs["LONG"]["exit_price"] == pytest.approx(long_stop, rel=1e-12)
    assert legs["LONG"]["pnl"] == pytest.approx(long_stop - 100.0, rel=1e-12)
    # SHORT: 100 − 96 = +4 at the end
    assert legs["SHORT"]["pnl"] == pytest.approx(4.0, abs=1e-12)


def test_cross_legs_share_the_wallet_and_are_liquidated_together(engine: str) -> None:
    # wallet 50, cross. bar 0: enter_long (stake 10, 10x) -> LONG 1 at 100 (bar 1).
    # bar 1: enter_short (stake 30, 10x) -> SHORT 3 at 100 (bar 2).
    # One cross pool: equity 50 + 1·(P − 100) − 3·(P − 100) = 250 − 2P, MM = 4·P·0.004, so
    # both legs share LP = 250 / 2.016 = 124.0079... (with the LONG alone: 50 / 0.996).
    # Bar 3 rises to 130: at P = LP the pool is liquidated, both legs executing at P; Binance
    # closes at the bankruptcy price, so the trader loses the whole wallet, 50. Realized at P:
    # LONG P − 100, SHORT 3·(100 − P); the rest of the loss, −50 − (200 − 2P) = 2P − 250, is
    # shared by notional at execution (1 : 3): LONG 1.5P − 162.5 = 23.5119...,
    # SHORT 112.5 − 1.5P = −73.5119... (the LONG leg was in profit, yet goes with the pool).
    bars = [flat(100), flat(100), flat(100), (100.0, 130.0, 100.0, 128.0), flat(128)]
    n = len(bars)
    result = run_hedge(
        engine,
        bars,
        {
            "enter_long": at(n, 0),
            "enter_short": at(n, 1),
            "stake": [10.0, 30.0, 10.0, 10.0, 10.0],
        },
        wallet=50.0,
        leverage=10,
    )
    series = result.series
    assert series[LIQ_LONG].iloc[1] == pytest.approx(50 / 0.996, rel=1e-12)
    assert math.isnan(series[LIQ_SHORT].iloc[1])
    assert series[LIQ_LONG].iloc[2] == pytest.approx(250 / 2.016, rel=1e-12)
    assert series[LIQ_SHORT].iloc[2] == pytest.approx(250 / 2.016, rel=1e-12)
    legs = by_leg(result)
    lp = 250 / 2.016
    for leg in ("LONG", "SHORT"):
        assert (legs[leg]["exit_reason"], legs[leg]["exit_time"]) == ("liquidation", T0 + 3 * HOUR)
        assert legs[leg]["exit_price"] == pytest.approx(lp, rel=1e-12)
    assert legs["LONG"]["pnl"] == pytest.approx(1.5 * lp - 162.5, abs=1e-9)
    assert legs["SHORT"]["pnl"] == pytest.approx(112.5 - 1.5 * lp, abs=1e-9)
    # the metric counts liquidated trades: both legs
    assert result.metrics["liquidations"] == 2
    assert series["wallet"].iloc[-1] == pytest.approx(0.0, abs=1e-9)


def test_cross_leg_on_the_favourable_side_of_the_shared_price_gets_no_buffer_floor(
    engine: str,
) -> None:
    # cross, wallet 50: SHORT 3 at 100 first (bar 0's signal, stake 30 at 10x), LONG 1 at 100
    # next (bar 1's). After the SHORT fill the pool's LP is 50 + 3·(100 − P) = 0.012·P ->
    # 350 / 3.012 = 116.2018...; its buffered floor (b = 0.5) 100 + (LP − 100)/2 = 108.1009...
    # is the SHORT's stop. After the LONG fill the shared LP is 250 / 2.016 = 124.0079...,
    # above the LONG's entry (its favourable side): the LONG gets no stop at all.
    bars = [flat(100)] * 4
    n = len(bars)
    result = run_hedge(
        engine,
        bars,
        {
            "enter_short": at(n, 0),
            "enter_long": at(n, 1),
            "stake": [30.0, 10.0, 10.0, 10.0],
        },
        wallet=50.0,
        leverage=10,
        liquidation_buffer=0.5,
    )
    stops = result.orders[result.orders["origin"] == "liquidation"]
    assert list(stops["leg"]) == ["SHORT"]
    assert stops["price"].iloc[0] == pytest.approx(100 + (350 / 3.012 - 100) / 2, rel=1e-12)
    assert result.series[LIQ_LONG].iloc[2] == pytest.approx(250 / 2.016, rel=1e-12)


def test_trailing_stops_move_per_leg(engine: str) -> None:
    # 1 contract per leg from 100 (stake 100, 1x), stoploss −5 % trailing: LONG stop 95,
    # SHORT stop 105. Bar 2 closes up: path 100 -> 100 (low) -> 110 (high) -> 108. On the way
    # up the SHORT's stop (105, never moved) fills: −5, `stop_loss`. At 110 the LONG's stop
    # moves to 110 × 0.95 = 104.5; bar 3 opens at 104, beyond it: the LONG exits at that open,
    # +4, `trailing_stop`.
    bars = [flat(100), flat(100), (100.0, 110.0, 100.0, 108.0), flat(104), flat(104)]
    n = len(bars)
    result = run_hedge(
        engine,
        bars,
        {"enter_long": at(n, 0), "enter_short": at(n, 0)},
        SignalRules(can_short=True, stoploss=-0.05, trailing_stop=True),
        stake_amount=100.0,
    )
    legs = by_leg(result)
    assert (legs["SHORT"]["exit_reason"], legs["SHORT"]["exit_price"]) == ("stop_loss", 105.0)
    assert (legs["SHORT"]["exit_time"], legs["SHORT"]["pnl"]) == (T0 + 2 * HOUR, -5.0)
    assert (legs["LONG"]["exit_reason"], legs["LONG"]["exit_price"]) == ("trailing_stop", 104.0)
    assert (legs["LONG"]["exit_time"], legs["LONG"]["pnl"]) == (T0 + 3 * HOUR, 4.0)


def test_short_leg_needs_can_short(engine: str) -> None:
    # without can_short, enter_short is not read: only the LONG leg opens
    bars = [flat(100)] * 3
    n = len(bars)
    result = run_hedge(
        engine,
        bars,
        {"enter_long": at(n, 0), "enter_short": at(n, 0)},
        SignalRules(can_short=False),
        stake_amount=10.0,
    )
    assert list(result.trades["leg"]) == ["LONG"]
    assert "enter_short" not in set(result.orders["tag"])


def test_max_open_trades_counts_legs(engine: str) -> None:
    # max_open_trades 1: the LONG entry fills first and takes the slot; the SHORT is rejected
    bars = [flat(100)] * 4
    n = len(bars)
    result = run_hedge(
        engine,
        bars,
        {"enter_long": at(n, 0), "enter_short": at(n, 0)},
        stake_amount=10.0,
        max_open_trades=1,
    )
    assert list(result.trades["leg"]) == ["LONG"]
    short = result.orders[result.orders["tag"] == "enter_short"].iloc[0]
    assert (short.status, short.reason) == ("rejected", "max_open_trades")


def test_unlimited_stake_counts_legs_as_slots(engine: str) -> None:
    # wallet 1,000, max_open_trades 2, ratio 0.99, 1x: the LONG (filled first) gets
    # 1,000 × 0.99 / 2 = 495 -> 4.95 contracts at 100; then the SHORT: available
    # 1,000 − 495 = 505, one free slot: 505 × 0.99 = 499.95 -> 4.9995 contracts
    bars = [flat(100)] * 3
    n = len(bars)
    both = {"enter_long": at(n, 0), "enter_short": at(n, 0)}
    result = run_hedge(
        engine, bars, both, wallet=1_000.0, stake_amount="unlimited", max_open_trades=2
    )
    sizes = result.trades.set_index("leg")["size"]
    assert sizes["LONG"] == pytest.approx(4.95, rel=1e-12)
    assert sizes["SHORT"] == pytest.approx(4.9995, rel=1e-12)
    # without max_open_trades hedge mode has two slots per symbol (one per leg): the same
    result = run_hedge(engine, bars, both, wallet=1_000.0, stake_amount="unlimited")
    sizes = result.trades.set_index("leg")["size"]
    assert sizes["LONG"] == pytest.approx(4.95, rel=1e-12)
    assert sizes["SHORT"] == pytest.approx(4.9995, rel=1e-12)


def test_exit_and_entry_on_one_bar_reopen_the_leg_and_leave_the_other(engine: str) -> None:
    # LONG and SHORT 1 each from 100 (stake 100, 1x). Bar 2's close: exit_long + enter_long
    # -> at bar 3's open 104 the LONG closes (+4) and reopens 100/104 contracts. The SHORT
    # has no exit_short: it runs to the end, 100 − 106 = −6.
    bars = [flat(100), flat(100), flat(102), flat(104), flat(106)]
    n = len(bars)
    result = run_hedge(
        engine,
        bars,
        {"enter_long": at(n, 0, 2), "enter_short": at(n, 0), "exit_long": at(n, 2)},
        stake_amount=100.0,
    )
    trades = result.trades
    longs = trades[trades["leg"] == "LONG"]
    assert list(longs["entry_time"]) == [T0 + HOUR, T0 + 3 * HOUR]
    assert longs["pnl"].iloc[0] == pytest.approx(4.0, abs=1e-12)
    # second LONG: 100/104 contracts from 104 to the last close 106
    assert longs["size"].iloc[1] == pytest.approx(100 / 104, rel=1e-12)
    assert longs["pnl"].iloc[1] == pytest.approx(200 / 104, rel=1e-12)
    short = trades[trades["leg"] == "SHORT"].iloc[0]
    assert (short.entry_time, short.exit_reason) == (T0 + HOUR, "end_of_data")
    assert short.pnl == pytest.approx(-6.0, abs=1e-12)


def test_one_way_results_are_unchanged_with_both_entries_on_one_bar(engine: str) -> None:
    # the table of the first test in one-way mode: bar 0's two entries cancel out, bar 2's
    # exit_long finds no position -> no order, no trade. Bar 3's enter_long alone is taken at
    # bar 4's open 105: 2 × 100 / 105 contracts (stake 100 at 2x), closed at the last close 108.
    bars = [flat(100), flat(100), flat(110), flat(110), flat(105), flat(108)]
    n = len(bars)
    data = market(bars)
    table = signals(
        data,
        SHORTS,
        BTC={"enter_long": at(n, 0, 3), "enter_short": at(n, 0), "exit_long": at(n, 2)},
    )
    cfg = config(stake_amount=100.0, leverage=2, taker_fee=0.0005)
    result = run(table, data, cfg, engine=engine)
    size = 200 / 105
    # the entry and the end-of-data close (no tag)
    assert result.orders["tag"].iloc[0] == "enter_long"
    assert len(result.orders) == 2 and result.orders["tag"].isna().iloc[1]
    assert result.orders["leg"].isna().all()
    trade = result.trades.iloc[0]
    assert (trade.leg, trade.entry_time) == ("BOTH", T0 + 4 * HOUR)
    assert trade["size"] == pytest.approx(size, rel=1e-12)
    fees = size * 105 * 0.0005 + size * 108 * 0.0005
    assert trade.pnl == pytest.approx(size * 3 - fees, rel=1e-12)
    assert result.series["wallet"].iloc[-1] == pytest.approx(10_000 + size * 3 - fees, rel=1e-12)


class BothSides(SignalStrategy):
    """Enters long and short on bar 1; the callbacks answer per side from ``answers``."""

    can_short = True
    answers: ClassVar[dict[str, tuple[float, float]]] = {}

    def populate_entry_trend(self, dataframe: pd.DataFrame, metadata: dict[str, Any]) -> Any:
        dataframe["enter_long"] = dataframe.index == 1
        dataframe["enter_short"] = dataframe.index == 1
        return dataframe

    def populate_exit_trend(self, dataframe: pd.DataFrame, metadata: dict[str, Any]) -> Any:
        dataframe["exit_long"] = dataframe["exit_short"] = False
        return dataframe

    def leverage(self, pair: str, *args: Any, side: str, **kwargs: Any) -> float:
        return self.answers[side][0]

    def custom_stake_amount(self, pair: str, *args: Any, side: str, **kwargs: Any) -> float:
        return self.answers[side][1]


def hedge_table(answers: dict[str, tuple[float, float]], mode: str = "hedge") -> SymbolSignals:
    strategy = BothSides()
    strategy.answers = answers
    cfg = config(position_mode=mode, stake_amount=100.0)
    return strategy.to_signals(market([flat(100)] * 3), cfg).by_symbol[BTC]


def test_signal_strategy_callbacks_are_asked_per_side_in_hedge_mode() -> None:
    # both sides agree: the bar's row gets their leverage 4 and stake 50, both entries stay
    table = hedge_table({"long": (4.0, 50.0), "short": (4.0, 50.0)})
    assert (table.enter_long[1], table.enter_short[1]) == (True, True)
    assert (table.leverage[1], table.stake[1]) == (4.0, 50.0)
    # a stake of 0 for the short drops only the short entry; the long's answers fill the row
    table = hedge_table({"long": (3.0, 60.0), "short": (3.0, 0.0)})
    assert (table.enter_long[1], table.enter_short[1]) == (True, False)
    assert (table.leverage[1], table.stake[1]) == (3.0, 60.0)
    # one row cannot hold two leverages
    with pytest.raises(StrategyError, match="share its leverage and stake"):
        hedge_table({"long": (3.0, 50.0), "short": (5.0, 50.0)})
    # one-way: the two entries cancel out, the callbacks are not asked (the row stays NaN)
    table = hedge_table({"long": (3.0, 50.0), "short": (5.0, 50.0)}, mode="one_way")
    assert math.isnan(table.leverage[1]) and math.isnan(table.stake[1])
