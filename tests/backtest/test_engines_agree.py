"""The compiled kernel and the event engine agree: same signals, same config → the same
equity series, trades, ledger (and orders) to 1e-9 relative.

The event engine (``engine.run_signals``) is the reference; every run here is executed by
both and compared column by column. Random signal tables (Hypothesis) on the synthetic demo
data cover every venue profile, both margin modes, one symbol and portfolios, and the signal
rules (stop-loss, trailing stop, ROI, liquidation buffer). The real-data cases live in
``test_engines_agree_real.py`` and reuse :func:`assert_engines_agree`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from levtrade.backtest import engine, kernel
from levtrade.backtest.config import BacktestConfig
from levtrade.backtest.results import BacktestResult
from levtrade.data import MarketData, Portfolio, demo_market, demo_portfolio
from levtrade.strategy.signals import SignalRules, Signals, SymbolSignals
from levtrade.venues import default_tiers

REL = 1e-9
VENUES = ("binance", "bybit", "okx", "hyperliquid", "dydx")
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

RULES = st.builds(
    SignalRules,
    can_short=st.booleans(),
    stoploss=st.one_of(st.none(), st.sampled_from([-0.9, -0.5, -0.2, -0.05])),
    trailing_stop=st.booleans(),
    trailing_stop_positive=st.one_of(st.none(), st.sampled_from([0.01, 0.05])),
    trailing_stop_positive_offset=st.sampled_from([0.0, 0.02, 0.1]),
    trailing_only_offset_is_reached=st.booleans(),
    minimal_roi=st.one_of(st.just({}), st.just({0: 0.3, 240: 0.1, 720: -1.0})),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(
    venue=st.sampled_from(VENUES),
    mode=st.sampled_from(MODES),
    book=st.booleans(),
    rules=RULES,
    seed=st.integers(0, 2**31),
    density=st.sampled_from([0.005, 0.02, 0.08]),
    leverage=st.sampled_from([1.0, 5.0, 20.0, 50.0]),
    stake=st.one_of(st.just("unlimited"), st.sampled_from([50.0, 500.0, 2_500.0])),
    slippage=st.sampled_from([0.0, 5.0]),
    buffer=st.sampled_from([0.0, 0.1]),
    max_open=st.sampled_from([None, 1, 2]),
)
def test_random_signal_tables_agree(
    venue: str,
    mode: str,
    book: bool,
    rules: SignalRules,
    seed: int,
    density: float,
    leverage: float,
    stake: float | str,
    slippage: float,
    buffer: float,
    max_open: int | None,
) -> None:
    data: MarketData | Portfolio = BOOK if book else SINGLE
    config = BacktestConfig(
        venue=venue,
        margin_mode=mode,
        leverage=leverage,
        stake_amount=stake,
        slippage_bps=slippage,
        volume_slippage_bps=slippage,
        liquidation_slippage_bps=2 * slippage,
        liquidation_buffer=buffer,
        max_open_trades=max_open,
        tiers=venue_tiers(venue, symbols_of(data)),
    )
    run_both(data, random_signals(data, seed, density, rules), config)


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("mode", MODES)
def test_leveraged_portfolio_through_the_demo_crash_agrees(venue: str, mode: str) -> None:
    # every symbol long at 25x from the first bars: the crash liquidates positions (the
    # cross pool at the adverse extremes, isolated positions on their own path)
    n = len(BOOK)
    entries = np.zeros(n, dtype=bool)
    entries[::97] = True
    table = SymbolSignals.from_arrays(n, enter_long=entries)
    signals = Signals({s: table for s in BOOK.symbols}, SignalRules())
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
