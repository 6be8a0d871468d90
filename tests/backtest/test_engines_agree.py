"""The compiled kernel and the event engine agree: same signals, same config → the same
equity series, trades, ledger (and orders) to 1e-9 relative.

The event engine (``engine.run_signals``) is the reference; every run here is executed by
both and compared column by column. Random signal tables (Hypothesis) on the synthetic demo
data cover every venue profile, both margin modes, one symbol and portfolios, and the signal
rules (stop-loss, trailing stop, ROI, liquidation buffer), in one-way and (on the venues that
have it) hedge mode; small hand-made hedge scenarios pin the cases random tables hit rarely.
The real-data cases live in ``test_engines_agree_real.py`` and reuse
:func:`assert_engines_agree`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from backtest_helpers import BTC, ETH, at, config, flat, market, portfolio, signals
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from levtrade.backtest import engine, kernel
from levtrade.backtest.results import BacktestResult
from levtrade.data import MarketData, Portfolio, demo_market, demo_portfolio
from levtrade.spec.config import BacktestConfig
from levtrade.strategy.signals import SignalRules, Signals, SymbolSignals
from levtrade.venues import default_tiers

REL = 1e-9
VENUES = ("binance", "bybit", "okx", "hyperliquid", "dydx")
HEDGE_VENUES = ("binance", "bybit", "okx")
"""The venues with a hedge mode (Hyperliquid and dYdX refuse ``position_mode="hedge"``)."""
MODES = ("cross", "isolated")


def _frames_agree(event: pd.DataFrame, compiled: pd.DataFrame, name: str) -> None:
    assert list(event.columns) == list(compiled.columns), name
    assert len(event) == len(compiled), f"{name}: {len(event)} rows vs {len(compiled)}"
    for column in event.columns:
        a = event[column].to_numpy()
        b = compiled[column].to_numpy()
        if a.dtype.kind == "f" or b.dtype.kind == "f":
            a = a.astype(np.float64)
            b = b.astype(np.float64)
            scale = np.nanmax(np.abs(a), initial=1.0)
            np.testing.assert_allclose(
                b, a, rtol=REL, atol=REL * 1e-3 * scale, equal_nan=True, err_msg=f"{name}.{column}"
            )
        else:
            left = pd.Series(a, dtype=object).where(pd.notna(a), None).tolist()
            right = pd.Series(b, dtype=object).where(pd.notna(b), None).tolist()
            assert left == right, f"{name}.{column}"


def assert_engines_agree(event: BacktestResult, compiled: BacktestResult) -> None:
    """Equity series, trades, ledger and orders (but the free-text message) agree."""
    _frames_agree(event.series, compiled.series, "series")
    _frames_agree(event.trades, compiled.trades, "trades")
    _frames_agree(event.ledger, compiled.ledger, "ledger")
    _frames_agree(
        event.orders.drop(columns=["message"]), compiled.orders.drop(columns=["message"]), "orders"
    )
    assert compiled.metadata["insurance_fund"] == pytest.approx(
        event.metadata["insurance_fund"], rel=REL, abs=1e-9
    )
    # the final equity each engine records (its cross wallet after the end-of-data close) is
    # the last bar of the series it builds
    for result in (event, compiled):
        assert result.final_equity == result.series["equity"].iloc[-1]


def run_both(
    data: MarketData | Portfolio, signals: Signals, config: BacktestConfig
) -> tuple[BacktestResult, BacktestResult]:
    """Both engines on one run, checked to agree; returns (event, compiled)."""
    event = engine.run_signals(data, signals, config)
    compiled = kernel.run_signals(data, signals, config)
    assert_engines_agree(event, compiled)
    return event, compiled


def venue_tiers(venue: str, symbols: tuple[str, ...]) -> dict[str, Any]:
    """Every symbol traded on the venue's shipped BTC table (the demo symbols are USDT
    contracts; Hyperliquid and dYdX ship USDC ones)."""
    reference = "BTC/USDC:USDC" if venue in ("hyperliquid", "dydx") else "BTC/USDT:USDT"
    rows = default_tiers(venue, reference).to_rows()
    return {symbol: rows for symbol in symbols}


def symbols_of(data: MarketData | Portfolio) -> tuple[str, ...]:
    return (data.symbol,) if isinstance(data, MarketData) else data.symbols


def random_signals(
    data: MarketData | Portfolio, seed: int, density: float, rules: SignalRules
) -> Signals:
    """A random table: each flag set with probability ``density``; a third of the rows
    carry their own leverage (1..30) and stake."""
    rng = np.random.default_rng(seed)
    n = len(data)
    tables = {}
    for symbol in symbols_of(data):
        flags = {
            name: rng.random(n) < density
            for name in ("enter_long", "exit_long", "enter_short", "exit_short")
        }
        leverage = np.where(rng.random(n) < 0.3, rng.integers(1, 31, n).astype(float), np.nan)
        stake = np.where(rng.random(n) < 0.3, rng.uniform(20.0, 3_000.0, n), np.nan)
        tables[symbol] = SymbolSignals.from_arrays(n, **flags, leverage=leverage, stake=stake)
    return Signals(tables, rules)


SINGLE = demo_market("BTC/USDT:USDT", seed=3, bars=1_200)
BOOK = demo_portfolio(("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"), seed=5, bars=1_200)
"""The demo crash falls at 62 % of the bars: both sets contain it."""


def crash_longs(data: MarketData | Portfolio, rules: SignalRules) -> Signals:
    """Every symbol long from the first bar and re-entered every 97 bars: the demo crash
    liquidates what is held at high leverage."""
    entries = np.zeros(len(data), dtype=bool)
    entries[::97] = True
    table = SymbolSignals.from_arrays(len(data), enter_long=entries)
    return Signals({symbol: table for symbol in symbols_of(data)}, rules)


RULES = st.builds(
    SignalRules,
    can_short=st.booleans(),
    stoploss=st.one_of(st.none(), st.sampled_from([-0.9, -0.5, -0.2, -0.05])),
    trailing_stop=st.booleans(),
    trailing_stop_positive=st.one_of(st.none(), st.sampled_from([0.01, 0.05])),
    trailing_stop_positive_offset=st.sampled_from([0.0, 0.02, 0.1]),
    trailing_only_offset_is_reached=st.booleans(),
    minimal_roi=st.one_of(
        st.just({}), st.just({0: 0.3, 240: 0.1, 720: -1.0}), st.just({0: 0.02, 60: 0.005})
    ),
    use_exit_signal=st.booleans(),
    ignore_roi_if_entry_signal=st.booleans(),
)


RANDOM_RUN = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(MODES),
        "book": st.booleans(),
        "rules": RULES,
        "seed": st.integers(0, 2**31),
        "density": st.sampled_from([0.005, 0.02, 0.08]),
        "leverage": st.sampled_from([1.0, 5.0, 20.0, 50.0]),
        "stake": st.one_of(st.just("unlimited"), st.sampled_from([50.0, 500.0, 2_500.0])),
        "slippage": st.sampled_from([0.0, 5.0]),
        "buffer": st.sampled_from([0.0, 0.1]),
    }
)
"""A random signal run: market, rules, signal table and config fields (venue, position mode
and ``max_open_trades`` are drawn by each test)."""

RANDOM_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)


def run_random(venue: str, position_mode: str, max_open: int | None, run: dict[str, Any]) -> None:
    """Both engines on a random signal table of ``run`` (:data:`RANDOM_RUN`), compared."""
    data: MarketData | Portfolio = BOOK if run["book"] else SINGLE
    slippage = run["slippage"]
    config = BacktestConfig(
        venue=venue,
        margin_mode=run["mode"],
        position_mode=position_mode,
        leverage=run["leverage"],
        stake_amount=run["stake"],
        slippage_bps=slippage,
        volume_slippage_bps=slippage,
        liquidation_slippage_bps=2 * slippage,
        liquidation_buffer=run["buffer"],
        max_open_trades=max_open,
        tiers=venue_tiers(venue, symbols_of(data)),
    )
    table = random_signals(data, run["seed"], run["density"], run["rules"])
    run_both(data, table, config)


@RANDOM_SETTINGS
@given(
    venue=st.sampled_from(VENUES),
    max_open=st.sampled_from([None, 1, 2]),
    run=RANDOM_RUN,
)
def test_random_signal_tables_agree(venue: str, max_open: int | None, run: dict[str, Any]) -> None:
    run_random(venue, "one_way", max_open, run)


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("mode", MODES)
def test_leveraged_portfolio_through_the_demo_crash_agrees(venue: str, mode: str) -> None:
    # every symbol long at 25x from the first bars: the crash liquidates positions (the
    # cross pool at the adverse extremes, isolated positions on their own path)
    signals = crash_longs(BOOK, SignalRules())
    config = BacktestConfig(
        venue=venue,
        margin_mode=mode,
        leverage=25,
        stake_amount=1_000.0,
        tiers=venue_tiers(venue, BOOK.symbols),
    )
    event, _ = run_both(BOOK, signals, config)
    assert (event.trades.exit_reason == "liquidation").any()


def test_hyperliquid_partial_liquidations_agree() -> None:
    # 50,000 USDC at 40x: 2M notional, far above Hyperliquid's 100,000 threshold, entered
    # six bars before the demo crash. The first liquidation closes 20 % (the rest keeps its
    # margin), the next one, in the same bar and so within 30 s of it, the whole remainder.
    n = len(SINGLE)
    entries = np.zeros(n, dtype=bool)
    entries[int(n * 0.62) - 6] = True
    signals = Signals(
        {SINGLE.symbol: SymbolSignals.from_arrays(n, enter_long=entries)}, SignalRules()
    )
    config = BacktestConfig(
        venue="hyperliquid",
        margin_mode="isolated",
        wallet=1_000_000.0,
        leverage=40,
        stake_amount=50_000.0,
        tiers=venue_tiers("hyperliquid", (SINGLE.symbol,)),
    )
    event, _ = run_both(SINGLE, signals, config)
    (trade,) = event.trades.itertuples()
    assert trade.exit_reason == "liquidation"
    closes = event.ledger[
        (event.ledger.kind == "realized_pnl") & (event.ledger.time > trade.entry_time)
    ]
    assert closes.time.value_counts().max() == 2  # a partial then the rest, in one bar
    assert len(closes) == 3


def test_constant_funding_and_no_mark_data_agree() -> None:
    # a market without mark, index or funding: the trade candles stand in for the mark and
    # the configured constant rate settles every 4 hours
    plain = MarketData(
        symbol=SINGLE.symbol,
        timeframe_ms=SINGLE.timeframe_ms,
        timestamps=SINGLE.timestamps,
        open=SINGLE.open,
        high=SINGLE.high,
        low=SINGLE.low,
        close=SINGLE.close,
        volume=SINGLE.volume,
    )
    rules = SignalRules(can_short=True, stoploss=-0.3)
    config = BacktestConfig(
        leverage=10, stake_amount=1_000.0, funding_rate=0.0003, funding_interval_hours=4
    )
    _, compiled = run_both(plain, random_signals(plain, 11, 0.02, rules), config)
    assert compiled.metadata["funding_constant"] == [SINGLE.symbol]
    assert (compiled.ledger.kind == "funding").sum() > 0


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("mode", MODES)
def test_portfolio_with_late_listing_early_end_and_a_hole_agrees(venue: str, mode: str) -> None:
    # ETH trades bars 200-699 only, SOL has a 100-bar hole: orders wait for a symbol's next
    # bar, funding skips its inactive bars, and a position still open when its data ends is
    # closed at its own last close
    btc = demo_market("BTC/USDT:USDT", seed=4, bars=900)
    eth = demo_market("ETH/USDT:USDT", seed=4, bars=900).take(slice(200, 700))
    sol = demo_market("SOL/USDT:USDT", seed=4, bars=900).take(np.r_[0:300, 400:900])
    book = Portfolio.from_markets([btc, eth, sol])
    assert book.active.sum(axis=0).tolist() == [900, 500, 800]
    rules = SignalRules(can_short=True, stoploss=-0.3, minimal_roi={0: 0.2})
    config = BacktestConfig(
        venue=venue,
        margin_mode=mode,
        leverage=20,
        stake_amount="unlimited",
        tiers=venue_tiers(venue, book.symbols),
    )
    event, _ = run_both(book, random_signals(book, 1, 0.03, rules), config)
    assert set(event.trades.symbol) == set(book.symbols)


# ============================================================================================
# Hedge mode
# ============================================================================================


@RANDOM_SETTINGS
@given(
    venue=st.sampled_from(HEDGE_VENUES),
    max_open=st.sampled_from([None, 1, 3]),
    run=RANDOM_RUN,
)
def test_random_hedge_signal_tables_agree(
    venue: str, max_open: int | None, run: dict[str, Any]
) -> None:
    run_random(venue, "hedge", max_open, run)


@pytest.mark.parametrize("venue", HEDGE_VENUES)
@pytest.mark.parametrize("mode", MODES)
def test_hedged_portfolio_through_the_demo_crash_agrees(venue: str, mode: str) -> None:
    # both legs of every symbol at 25x: LONG from every 97th bar, SHORT for 40 bars from
    # every 89th (flat at the crash, so the longs are not hedged through it). The crash
    # liquidates legs (a cross pool spanning symbols at the adverse extremes, isolated legs on
    # their own paths), and funding reaches both legs
    n = len(BOOK)
    longs = np.zeros(n, dtype=bool)
    shorts = np.zeros(n, dtype=bool)
    exits = np.zeros(n, dtype=bool)
    longs[::97] = True
    shorts[::89] = True
    exits[40::89] = True
    table = SymbolSignals.from_arrays(n, enter_long=longs, enter_short=shorts, exit_short=exits)
    config = BacktestConfig(
        venue=venue,
        margin_mode=mode,
        position_mode="hedge",
        leverage=25,
        stake_amount=1_000.0,
        tiers=venue_tiers(venue, BOOK.symbols),
    )
    event, _ = run_both(BOOK, Signals({s: table for s in BOOK.symbols}, SignalRules(True)), config)
    assert set(event.trades.leg) == {"LONG", "SHORT"}
    assert (event.trades.exit_reason == "liquidation").any()
    assert set(event.trades.leg[event.trades.funding != 0]) == {"LONG", "SHORT"}


HEDGE_SCENARIOS: dict[str, tuple[list[tuple[float, float, float, float]], dict[str, Any]]] = {
    # both entries on one bar with fees and slippage; one leg exits, the other stays
    "both_entries_then_one_exit": (
        [flat(100), flat(100), (100.0, 104.0, 99.0, 103.0), flat(103), flat(101)],
        {
            "columns": {"enter_long": at(5, 0), "enter_short": at(5, 0), "exit_short": at(5, 2)},
            "cfg": {"taker_fee": 0.0005, "maker_fee": 0.0002, "slippage_bps": 5.0},
            "reasons": {"LONG": ["end_of_data"], "SHORT": ["signal"]},
        },
    ),
    # exit and re-entry of the LONG leg on one bar (bar 2); the SHORT stays open
    "exit_and_reentry_of_one_leg": (
        [flat(100), flat(100), flat(102), flat(104), flat(106)],
        {
            "columns": {
                "enter_long": at(5, 0, 2),
                "exit_long": at(5, 2),
                "enter_short": at(5, 0),
            },
            "cfg": {"taker_fee": 0.0005},
            "reasons": {"LONG": ["signal", "end_of_data"], "SHORT": ["end_of_data"]},
        },
    ),
    # stops at 98 (LONG) and 102 (SHORT), 5x, −10 %: bar 2 closes up, so its path runs
    # 100 → 97 (the LONG's stop) → 103 (the SHORT's)
    "stops_of_both_legs_in_path_order": (
        [flat(100), flat(100), (100.0, 103.0, 97.0, 101.0), flat(101)],
        {
            "columns": {"enter_long": at(4, 0), "enter_short": at(4, 0)},
            "rules": {"stoploss": -0.1},
            "cfg": {"leverage": 5, "slippage_bps": 5.0},
            "reasons": {"LONG": ["stop_loss"], "SHORT": ["stop_loss"]},
            "first": "LONG",
        },
    ),
    # trailing stops (−5 %, 1x): up to 110 moves the LONG's to 104.5 and the SHORT's stop
    # (105) fills on the way; then down through 104.5
    "trailing_stops_of_both_legs": (
        [flat(100), flat(100), (100.0, 110.0, 100.0, 108.0), (108.0, 108.0, 100.0, 101.0)],
        {
            "columns": {"enter_long": at(4, 0), "enter_short": at(4, 0)},
            "rules": {"stoploss": -0.05, "trailing_stop": True},
            "reasons": {"LONG": ["trailing_stop"], "SHORT": ["stop_loss"]},
            "first": "SHORT",
        },
    ),
    # ROI {0: 5 %, 120: 1 %} at 5x: take-profits at 101 / 99, then 100.2 / 99.8 from the
    # trade's second hour; bar 3 reaches both (down first: the SHORT's, then the LONG's)
    "roi_of_both_legs": (
        [flat(100), flat(100), flat(100), (100.0, 100.5, 99.5, 100.0), flat(100)],
        {
            "columns": {"enter_long": at(5, 0), "enter_short": at(5, 0)},
            "rules": {"minimal_roi": {0: 0.05, 120: 0.01}},
            "cfg": {"leverage": 5, "maker_fee": 0.0002},
            "reasons": {"LONG": ["roi"], "SHORT": ["roi"]},
            "first": "SHORT",
        },
    ),
    # funding from the data on both legs, of opposite signs
    "funding_from_data": (
        [flat(100), flat(100), flat(101), flat(99), flat(100)],
        {
            "columns": {"enter_long": at(5, 0), "enter_short": at(5, 0)},
            "funding": {2: 0.001, 3: -0.0005},
            "reasons": {"LONG": ["end_of_data"], "SHORT": ["end_of_data"]},
        },
    ),
    # the constant rate, every hour
    "constant_funding": (
        [flat(100), flat(100), flat(101), flat(99), flat(100)],
        {
            "columns": {"enter_long": at(5, 0), "enter_short": at(5, 1)},
            "cfg": {"funding_rate": 0.0003, "funding_interval_hours": 1},
            "reasons": {"LONG": ["end_of_data"], "SHORT": ["end_of_data"]},
        },
    ),
    # 10x legs of stake 10: the fall to 85 liquidates the LONG (isolated: alone; cross: the
    # pool's price is far, both legs survive, so only the isolated run checks the reason)
    "liquidation_of_one_isolated_leg": (
        [flat(100), flat(100), (100.0, 100.0, 85.0, 88.0), flat(88)],
        {
            "columns": {"enter_long": at(4, 0), "enter_short": at(4, 0)},
            "cfg": {"stake_amount": 10.0, "leverage": 10},
            "reasons_isolated": {"LONG": ["liquidation"], "SHORT": ["end_of_data"]},
        },
    ),
    # wallet 50: LONG 1 then SHORT 3 at 100 (10x): one cross pool, liquidated with both legs
    # at 250 / 2.016 on the way to 130 (isolated: only the SHORT, at 110 / 1.1... of its own)
    "cross_liquidation_of_both_legs": (
        [flat(100), flat(100), flat(100), (100.0, 130.0, 100.0, 128.0), flat(128)],
        {
            "columns": {
                "enter_long": at(5, 0),
                "enter_short": at(5, 1),
                "stake": [10.0, 30.0, 10.0, 10.0, 10.0],
            },
            "cfg": {"wallet": 50.0, "leverage": 10, "clearance_fee_rate": 0.001},
            "reasons_cross": {"LONG": ["liquidation"], "SHORT": ["liquidation"]},
        },
    ),
    # the buffer floor: per leg (isolated), and in cross the LONG opened on the favourable
    # side of the shared price gets none (the SHORT's floor stops it on the rise to 112)
    "buffer_floor": (
        [flat(100), flat(100), flat(100), (100.0, 112.0, 100.0, 111.0), flat(111)],
        {
            "columns": {
                "enter_short": at(5, 0),
                "enter_long": at(5, 1),
                "stake": [30.0, 10.0, 10.0, 10.0, 10.0],
            },
            "cfg": {"wallet": 50.0, "leverage": 10, "liquidation_buffer": 0.5},
            "reasons_cross": {"LONG": ["end_of_data"], "SHORT": ["liquidation"]},
        },
    ),
    # max_open_trades counts legs: the SHORT entry finds no slot
    "max_open_trades": (
        [flat(100)] * 4,
        {
            "columns": {"enter_long": at(4, 0), "enter_short": at(4, 0)},
            "cfg": {"max_open_trades": 1},
            "reasons": {"LONG": ["end_of_data"]},
        },
    ),
    # "unlimited" stakes: free slots = 2 × symbols − open legs
    "unlimited_stake": (
        [flat(100), flat(100), flat(101), flat(102)],
        {
            "columns": {"enter_long": at(4, 0), "enter_short": at(4, 0)},
            "cfg": {"stake_amount": "unlimited", "wallet": 1_000.0, "taker_fee": 0.0005},
            "reasons": {"LONG": ["end_of_data"], "SHORT": ["end_of_data"]},
        },
    ),
}


@pytest.mark.parametrize("venue", HEDGE_VENUES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(HEDGE_SCENARIOS))
def test_hedge_scenarios_agree(name: str, mode: str, venue: str) -> None:
    bars, spec = HEDGE_SCENARIOS[name]
    data = market(bars, funding=spec.get("funding"))
    rules = SignalRules(can_short=True, **spec.get("rules", {}))
    fields: dict[str, Any] = {"stake_amount": 100.0, **spec.get("cfg", {})}
    cfg = config(
        venue=venue,
        margin_mode=mode,
        position_mode="hedge",
        tiers=venue_tiers(venue, (BTC,)),
        **fields,
    )
    event, _ = run_both(data, signals(data, rules, BTC=spec["columns"]), cfg)
    # the scenario does what it is there for (exit reasons per leg, in trade order)
    reasons = spec.get("reasons") or spec.get(f"reasons_{mode}")
    if reasons is not None:
        got = {leg: list(rows.exit_reason) for leg, rows in event.trades.groupby("leg")}
        assert got == reasons
    if "first" in spec:
        assert event.trades.leg.iloc[0] == spec["first"]


@pytest.mark.parametrize("mode", MODES)
def test_hedge_liquidation_of_a_cross_pool_spanning_symbols_agrees(mode: str) -> None:
    # wallet 60: BTC LONG 1 and SHORT 3 at 100 (10x), ETH LONG 1 at 100. BTC's rise to 130
    # takes the cross pool (tested at the adverse mark extremes: BTC's net is short -> its
    # high; ETH long -> its low) under its maintenance margin: every cross leg is closed.
    # Isolated: only BTC's SHORT goes (its own price, 110 / 1.004 with margin 30).
    n = 5
    btc = market([flat(100), flat(100), flat(100), (100.0, 130.0, 100.0, 128.0), flat(128)])
    eth = market([flat(100)] * n, symbol=ETH)
    book = portfolio(btc, eth)
    stake = [10.0, 30.0, 10.0, 10.0, 10.0]
    table = signals(
        book,
        SignalRules(can_short=True),
        BTC={"enter_long": at(n, 0), "enter_short": at(n, 1), "stake": stake},
        ETH={"enter_long": at(n, 0), "stake": [10.0] * n},
    )
    cfg = config(
        margin_mode=mode,
        position_mode="hedge",
        wallet=60.0,
        leverage=10,
        tiers=venue_tiers("binance", (BTC, ETH)),
    )
    event, _ = run_both(book, table, cfg)
    liquidated = event.trades[event.trades.exit_reason == "liquidation"]
    expected = (
        [(BTC, "LONG"), (BTC, "SHORT"), (ETH, "LONG")] if mode == "cross" else [(BTC, "SHORT")]
    )
    assert sorted(zip(liquidated.symbol, liquidated.leg, strict=True)) == expected


def _spanning_buffer_run(engine_name: str, position_mode: str) -> BacktestResult:
    """Wallet 300, cross, buffer 0.5: BTC long 10 at 100 (stake 100, 10x; bar 1's open),
    ETH long 10 at 100 at bar 2's open, where BTC falls to 80 by the close."""
    n = 5
    btc = market([flat(100), flat(100), (100.0, 100.0, 80.0, 80.0), flat(80), flat(80)])
    eth = market([flat(100)] * n, symbol=ETH)
    book = portfolio(btc, eth)
    entries = {"enter_long": at(n, 0)}, {"enter_long": at(n, 1)}
    table = signals(book, SignalRules(can_short=True), BTC=entries[0], ETH=entries[1])
    cfg = config(
        position_mode=position_mode,
        wallet=300.0,
        leverage=10,
        stake_amount=100.0,
        liquidation_buffer=0.5,
        tiers=venue_tiers("binance", (BTC, ETH)),
    )
    runner = engine.run_signals if engine_name == "event" else kernel.run_signals
    return runner(book, table, cfg)


@pytest.mark.parametrize("position_mode", ["one_way", "hedge"])
@pytest.mark.parametrize("engine_name", ["event", "compiled"])
def test_buffer_floor_in_a_pool_spanning_symbols_uses_the_marks_at_the_fill(
    engine_name: str, position_mode: str
) -> None:
    # ETH's fill at bar 2's open: the pool spans BTC and ETH, so ETH's liquidation price is
    # the account's at the marks in force at the fill, the opens (BTC 100: uPnL 0, MM
    # 10 × 100 × 0.004 = 4): 300 − 4 + 10·(P − 100) = 0.04·P -> P = 704 / 9.96 = 70.682...;
    # its floor (b = 0.5) (P + 100) / 2 = 85.341... (BTC's close 80 would give
    # 300 − 200 − 3.2 + 10·(P − 100) = 0.04·P -> 903.2 / 9.96, floor 95.341...: a stop placed
    # with the close of the bar it was placed at the open of)
    result = _spanning_buffer_run(engine_name, position_mode)
    stops = result.orders[result.orders.origin == "liquidation"].set_index("symbol")
    assert stops.loc[ETH, "price"] == pytest.approx((704 / 9.96 + 100) / 2, rel=1e-12)
    # BTC's own (the pool held BTC alone): 300 + 10·(P − 100) = 0.04·P -> 700 / 9.96
    assert stops.loc[BTC, "price"] == pytest.approx((700 / 9.96 + 100) / 2, rel=1e-12)


@pytest.mark.parametrize("position_mode", ["one_way", "hedge"])
def test_buffer_floor_in_a_pool_spanning_symbols_agrees(position_mode: str) -> None:
    assert_engines_agree(
        _spanning_buffer_run("event", position_mode),
        _spanning_buffer_run("compiled", position_mode),
    )
