"""The compiled kernel by hand: money, liquidation outcomes, checks, and its plumbing.

Markets are the tiny hand-made series of ``backtest_helpers`` (2024-01-01 00:00 UTC, 1h
bars, funding at bar 0 and every 8th bar when given). Every run here is also executed by the
event engine and must agree (``run_both``), so each hand number holds for both engines.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from backtest_helpers import BTC, ETH, HOUR, T0, at, config, flat, market, portfolio, signals
from hypothesis import given, settings
from hypothesis import strategies as st
from test_engines_agree import run_both

from levtrade.backtest import engine, kernel, kernel_core, kernel_layout, run
from levtrade.backtest.market import prepare
from levtrade.data import MarketData, demo_market
from levtrade.errors import BacktestError, ConfigError
from levtrade.spec.config import BacktestConfig
from levtrade.strategy.signals import SignalRules, SymbolSignals

ONE_TIER = [{"floor": 0, "mmr": 0.01, "max_leverage": 50}]
"""1 % maintenance margin at every size: hand liquidation prices stay one-liners."""


def test_fees_funding_and_pnl_of_one_round_trip() -> None:
    # stake 1,000 at 5x on flat 100 bars: 50 contracts; taker 0.05 % → 2.50 per side;
    # funding 0.01 % at bar 8 (price 100): the long pays 50 × 100 × 0.0001 = 0.50;
    # exit at bar 10's open at 104: realized 50 × 4 = 200
    bars = [flat(100.0)] * 10 + [flat(104.0)] * 3
    data = market(bars, funding={8: 0.0001})
    n = len(bars)
    table = signals(data, BTC={"enter_long": at(n, 0), "exit_long": at(n, 9)})
    _, result = run_both(data, table, config(taker_fee=0.0005, leverage=5, stake_amount=1_000.0))
    (trade,) = result.trades.itertuples()
    assert (trade.size, trade.entry_price, trade.exit_price) == (50.0, 100.0, 104.0)
    assert trade.fees == pytest.approx(2.5 + 0.0005 * 50 * 104)
    assert trade.funding == pytest.approx(-0.5)
    assert trade.pnl == pytest.approx(200.0 - 2.5 - 2.6 - 0.5)
    assert result.series.wallet.iloc[-1] == pytest.approx(10_000.0 + trade.pnl)
    kinds = list(result.ledger.kind)
    assert kinds == ["deposit", "fee", "funding", "realized_pnl", "fee"]
    assert (trade.entry_time, trade.exit_time) == (T0 + HOUR, T0 + 10 * HOUR)


def test_isolated_liquidation_closes_at_bankruptcy_with_the_clearance_fee() -> None:
    # 10x isolated, stake 100 at 100: 10 contracts, margin 100. LP: 100 + 10(P − 100) =
    # 0.01 × 10P → P = 900/9.9 = 90.909 (bankruptcy at 90). Bar 2 falls to 85 (the trade
    # candles stand in for the mark): closed at the LP with equity = MM = 0.1·P = 9.0909
    # left; the trader loses the 100 of margin; the clearance fee, 0.5 % of the notional at
    # the LP (4.5455), is below that equity, and the fund takes the rest (4.5455)
    lp = 900.0 / 9.9
    bars = [flat(100.0), flat(100.0), (100.0, 100.0, 85.0, 86.0), flat(86.0)]
    data = market(bars)
    table = signals(data, BTC={"enter_long": at(4, 0)})
    cfg = config(
        leverage=10,
        stake_amount=100.0,
        margin_mode="isolated",
        clearance_fee_rate=0.005,
        tiers={BTC: ONE_TIER},
    )
    _, result = run_both(data, table, cfg)
    (trade,) = result.trades.itertuples()
    assert trade.exit_reason == "liquidation"
    assert trade.exit_price == pytest.approx(lp, rel=1e-12)
    assert trade.pnl == pytest.approx(-100.0, rel=1e-12)
    liquidation = result.ledger[result.ledger.time == T0 + 2 * HOUR]
    assert list(liquidation.kind) == ["realized_pnl", "liquidation_fee", "liquidation"]
    fee = 0.005 * 10 * lp
    assert liquidation.amount.iloc[1] == pytest.approx(fee, rel=1e-12)
    assert liquidation.amount.iloc[2] == pytest.approx(0.01 * 10 * lp - fee, rel=1e-9)
    assert result.metadata["insurance_fund"] == pytest.approx(0.01 * 10 * lp - fee, rel=1e-9)


def test_hyperliquid_backstop_takes_the_margin_when_the_mark_gaps() -> None:
    # Hyperliquid, 10x isolated, stake 100: LP 90.909 as above. Bar 2's mark opens at 80:
    # equity at 80 = 100 − 200 < ⅔ × MM, so the liquidator vault takes the position and the
    # pool's whole margin (100); the trader keeps nothing of it
    bars = [flat(100.0), flat(100.0), flat(80.0), flat(80.0)]
    data = market(bars)
    table = signals(data, BTC={"enter_long": at(4, 0)})
    cfg = config(
        venue="hyperliquid",
        leverage=10,
        stake_amount=100.0,
        margin_mode="isolated",
        tiers={BTC: ONE_TIER},
    )
    _, result = run_both(data, table, cfg)
    (trade,) = result.trades.itertuples()
    assert (trade.exit_reason, trade.exit_price) == ("liquidation", 80.0)
    assert trade.pnl == pytest.approx(-100.0)
    vault = result.ledger[result.ledger.debit == "liquidator_vault"]
    assert list(vault.amount) == [pytest.approx(100.0)]


def test_dydx_penalty_goes_to_the_fund_and_the_rest_back_to_the_trader() -> None:
    # dYdX, 10x isolated, stake 100, 0.5 % MMR: LP: 100 + 10(P − 100) = 0.005·10·P →
    # P = 900/9.95 = 90.452, where the equity left is the MM, 0.05·P = 4.5226; the penalty,
    # 1.5 % of 10P = 13.57, is capped at it: the fund takes it all, nothing is released
    tiers = [{"floor": 0, "mmr": 0.005, "max_leverage": 50}]
    lp = 900.0 / 9.95
    bars = [flat(100.0), flat(100.0), (100.0, 100.0, 85.0, 86.0), flat(86.0)]
    data = market(bars)
    cfg = config(
        venue="dydx", leverage=10, stake_amount=100.0, margin_mode="isolated", tiers={BTC: tiers}
    )
    _, result = run_both(data, signals(data, BTC={"enter_long": at(4, 0)}), cfg)
    (trade,) = result.trades.itertuples()
    assert trade.exit_price == pytest.approx(lp, rel=1e-12)
    penalty = result.ledger[result.ledger.kind == "liquidation_fee"]
    assert list(penalty.debit) == ["insurance_fund"]
    assert penalty.amount.iloc[0] == pytest.approx(0.005 * 10 * lp, rel=1e-9)
    # a penalty below the equity left: 3 % MMR, 5x, stake 100: 5 contracts, LP: 100 +
    # 5(P − 100) = 0.03·5·P → P = 400/4.85 = 82.474; equity left 0.15·P = 12.371; penalty
    # 1.5 % of 5P = 6.186 to the fund; the trader gets the other 6.186 back in cross
    wide = [{"floor": 0, "mmr": 0.03, "max_leverage": 20}]
    lp = 400.0 / 4.85
    bars = [flat(100.0), flat(100.0), (100.0, 100.0, 75.0, 76.0), flat(76.0)]
    data = market(bars)
    cfg = config(
        venue="dydx", leverage=5, stake_amount=100.0, margin_mode="isolated", tiers={BTC: wide}
    )
    _, result = run_both(data, signals(data, BTC={"enter_long": at(4, 0)}), cfg)
    (trade,) = result.trades.itertuples()
    assert trade.exit_price == pytest.approx(lp, rel=1e-12)
    moves = result.ledger[result.ledger.time == T0 + 2 * HOUR]
    assert list(moves.kind) == ["realized_pnl", "liquidation_fee", "transfer"]
    assert moves.amount.iloc[1] == pytest.approx(0.015 * 5 * lp, rel=1e-9)
    assert moves.amount.iloc[2] == pytest.approx(0.15 * lp - 0.075 * lp, rel=1e-9)
    assert trade.pnl == pytest.approx(-100.0 + 0.075 * lp, rel=1e-9)


def test_cross_pool_of_two_symbols_is_tested_at_the_adverse_extremes() -> None:
    # BTC long and ETH short, 10x cross, 1,000 of notional each (stake 100), wallet 200,
    # 1 % MM. Bar 2: BTC's low 92 and ETH's high 107 in the same bar: at those extremes
    # equity = 200 − 80 − 70 = 50 > MM (9.2 + 10.7 = 19.9): the pool holds. Bar 3: BTC low
    # 90, ETH high 110: equity 200 − 100 − 100 = 0 ≤ MM: liquidated at both extremes
    btc = market(
        [flat(100.0), flat(100.0), (100.0, 100.0, 92.0, 100.0), (100.0, 100.0, 90.0, 95.0)]
    )
    eth = market(
        [flat(100.0), flat(100.0), (100.0, 107.0, 100.0, 100.0), (100.0, 110.0, 100.0, 105.0)],
        symbol=ETH,
    )
    book = portfolio(btc, eth)
    rules = SignalRules(can_short=True)
    table = signals(book, rules, BTC={"enter_long": at(4, 0)}, ETH={"enter_short": at(4, 0)})
    cfg = config(
        wallet=200.0, leverage=10, stake_amount=100.0, tiers={BTC: ONE_TIER, ETH: ONE_TIER}
    )
    _, result = run_both(book, table, cfg)
    trades = result.trades
    assert list(trades.exit_reason) == ["liquidation", "liquidation"]
    assert list(trades.exit_price) == [90.0, 110.0]
    assert (trades.exit_time == T0 + 3 * HOUR).all()
    assert result.series.wallet.iloc[-1] == 0.0
    assert trades.pnl.sum() == pytest.approx(-200.0)


def test_unsupported_runs_are_refused_with_the_reason() -> None:
    data = market([flat(100.0)] * 4)
    table = signals(data, BTC={"enter_long": at(4, 0)})
    for venue in ("hyperliquid", "dydx"):  # no hedge mode there, in either engine
        hedge = config(venue=venue, position_mode="hedge", tiers={BTC: ONE_TIER})
        for run_signals in (kernel.run_signals, engine.run_signals):
            with pytest.raises(ConfigError, match="has no hedge mode"):
                run_signals(data, table, hedge)
    with pytest.raises(ConfigError, match="ETH/USDT:USDT"):
        kernel.run_signals(data, signals(data, ETH={}), config())
    with pytest.raises(ConfigError, match="3 bars"):
        kernel.run_signals(data, signals(market([flat(1.0)] * 3), BTC={}), config())
    with pytest.raises(BacktestError, match="BacktestConfig"):
        kernel.run_signals(data, table, {"venue": "binance"})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="Signals"):
        kernel.run_signals(data, {"BTC": 1}, config())  # type: ignore[arg-type]
    coin = market([flat(100.0)] * 4, symbol="BTC/USD:BTC")
    cfg = config(tiers={"BTC/USD:BTC": ONE_TIER})
    with pytest.raises(ConfigError, match="inverse"):
        kernel.run_signals(coin, signals(coin, **{"BTC/USD:BTC": {}}), cfg)
    with pytest.raises(ConfigError, match="fine"):
        run(table, data, config(), engine="compiled", fine=data)


def test_compiled_engine_through_the_run_entry_point() -> None:
    data = market([flat(100.0)] * 3 + [flat(110.0)] * 3)
    table = signals(data, BTC={"enter_long": at(6, 0), "exit_long": at(6, 3)})
    result = run(table, data, config(stake_amount=100.0), engine="compiled")
    assert result.metadata["engine"] == "compiled"
    assert result.account is None
    assert result.trades.pnl.iloc[0] == pytest.approx(10.0)  # 1 contract, 100 → 110
    assert result.metrics["trades"] == 1


def test_full_result_tables_when_the_first_size_guess_is_short(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = demo_market(bars=400)
    rng = np.random.default_rng(2)
    n = len(data)
    table = signals(
        data,
        SignalRules(can_short=True, stoploss=-0.2, minimal_roi={0: 0.1}),
        BTC={name: rng.random(n) < 0.1 for name in ("enter_long", "exit_long", "enter_short")},
    )
    cfg = config(leverage=5, stake_amount=500.0)
    expected = kernel.run_signals(data, table, cfg)
    monkeypatch.setattr(kernel, "first_capacity", lambda inputs: (1, 1, 1, 1))
    again = kernel.run_signals(data, table, cfg)
    assert len(again.ledger) == len(expected.ledger) > 50
    assert again.ledger.equals(expected.ledger)
    assert again.trades.equals(expected.trades)
    assert again.orders.equals(expected.orders)
    assert again.series.equals(expected.series)  # replayed from the state log, sized again


def test_one_market_is_laid_out_as_the_engine_lays_it_out() -> None:
    # the kernel's one-market fast path against Engine's prepare(): same arrays
    demo = demo_market(bars=300)
    bare = MarketData(
        symbol=demo.symbol,
        timeframe_ms=demo.timeframe_ms,
        timestamps=demo.timestamps,
        open=demo.open,
        high=demo.high,
        low=demo.low,
        close=demo.close,
        volume=demo.volume,
    )
    for data, cfg in [
        (demo, BacktestConfig()),
        (bare, BacktestConfig()),
        (bare, BacktestConfig(funding_rate=0.0002, funding_interval_hours=4)),
        (demo, BacktestConfig(venue="hyperliquid", funding_rate=0.0001)),
    ]:
        expected = prepare(data, cfg)
        got = kernel.single_run(data, cfg)
        for name in (
            "timestamps", "open", "high", "low", "close", "volume", "mark_open", "mark_high",
            "mark_low", "mark_close", "oracle_open", "funding_rate", "funding", "active",
        ):  # fmt: skip
            np.testing.assert_array_equal(getattr(got, name), getattr(expected, name), name)
        assert got.funding_constant == expected.funding_constant
        assert (got.symbols, got.synthetic) == (expected.symbols, expected.synthetic)


@settings(deadline=None)  # the first example compiles the kernel's fsum
@given(st.lists(st.floats(-1e12, 1e12, allow_nan=False) | st.floats(-1e-9, 1e-9), max_size=9))
def test_fsum_is_math_fsum_bit_for_bit(values: list[float]) -> None:
    array = np.array(values, dtype=np.float64)
    assert kernel_core._fsum(array, len(values)) == math.fsum(values)


def test_layout_codes_name_every_ledger_kind_and_book() -> None:
    # the codes the core writes must translate back to the Account's names
    assert len(kernel.KINDS) == kernel_layout.K_LIQUIDATION_FEE + 1
    assert kernel.KINDS[kernel_layout.K_FUNDING] == "funding"
    assert kernel.book_names((BTC,))[kernel_layout.B_ISOLATED] == f"isolated:{BTC}:BOTH"
    # hedge mode: a book per leg, in the core's state rows (LONG 2j, SHORT 2j + 1)
    legs = kernel.book_names([(BTC, "LONG"), (BTC, "SHORT"), (ETH, "LONG"), (ETH, "SHORT")])
    assert legs[kernel_layout.B_ISOLATED + 1] == f"isolated:{BTC}:SHORT"
    assert legs[kernel_layout.B_ISOLATED + 2] == f"isolated:{ETH}:LONG"
    assert kernel.book_names((BTC,))[kernel_layout.B_LIQUIDATOR_VAULT] == "liquidator_vault"


def test_per_bar_stakes_beside_a_symbol_without_them() -> None:
    # flat prices of 100, leverage 2: BTC's entry stakes 100 from its own column (2
    # contracts), ETH gives none and takes the config's stake of 50 (1 contract)
    btc = market([flat(100.0)] * 4)
    eth = market([flat(100.0)] * 4, symbol=ETH)
    book = portfolio(btc, eth)
    stake = np.full(4, np.nan)
    stake[0] = 100.0
    table = signals(
        book, BTC={"enter_long": at(4, 0), "stake": stake}, ETH={"enter_long": at(4, 0)}
    )
    cfg = config(leverage=2, stake_amount=50.0, tiers={BTC: ONE_TIER, ETH: ONE_TIER})
    _, result = run_both(book, table, cfg)
    assert dict(zip(result.trades.symbol, result.trades["size"], strict=True)) == {
        BTC: 2.0,
        ETH: 1.0,
    }
    # without a per-bar column in any symbol the kernel is given one row for every bar
    unset = signals(book, BTC={"enter_long": at(4, 0)}, ETH={"enter_long": at(4, 0)})
    inputs = kernel.prepare_inputs(book, unset, cfg)
    assert inputs.signals[1].shape == inputs.signals[2].shape == (1, 2)
    assert kernel.prepare_inputs(book, table, cfg).signals[2].shape == (4, 2)


@settings(max_examples=60, deadline=None)
@given(
    flags=st.lists(st.tuples(*[st.booleans()] * 4), min_size=1, max_size=40),
    can_short=st.booleans(),
    use_exit_signal=st.booleans(),
    hedge=st.booleans(),
)
def test_signal_bits_are_the_executed_flags_and_the_roi_holds(
    flags: list[tuple[bool, bool, bool, bool]], can_short: bool, use_exit_signal: bool, hedge: bool
) -> None:
    # each bar's bits: the flags SymbolSignals.executed keeps (the rule's definition) and the
    # bar's own entry signals as the ROI holds
    names = ("enter_long", "exit_long", "enter_short", "exit_short")
    columns = {name: [bar[k] for bar in flags] for k, name in enumerate(names)}
    table = SymbolSignals.from_arrays(len(flags), **columns)
    rules = SignalRules(can_short=can_short, use_exit_signal=use_exit_signal)
    bits = np.zeros((len(flags), 2), dtype=np.uint8)
    entries = kernel._signal_bits(table, kernel._executed_bits(rules, hedge), bits, 1)
    acted = table.executed(rules, hedge=hedge)
    expected = (
        acted.enter_long * kernel_layout.SIG_ENTER_LONG
        + acted.exit_long * kernel_layout.SIG_EXIT_LONG
        + acted.enter_short * kernel_layout.SIG_ENTER_SHORT
        + acted.exit_short * kernel_layout.SIG_EXIT_SHORT
        + table.enter_long * kernel_layout.SIG_ROI_HOLD_LONG
        + table.enter_short * kernel_layout.SIG_ROI_HOLD_SHORT
    )
    assert bits[:, 1].tolist() == expected.tolist()
    assert not bits[:, 0].any()
    # the bars with an executed entry, the tables' first guess
    assert entries == int(np.count_nonzero(acted.enter_long | acted.enter_short))
