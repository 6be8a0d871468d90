"""The two engines on real Binance data (../shared/data), and the venue's numbers by hand.

* A slice of ``binance_um_freqtrade_maxakak1998`` BTCUSDT: 1h candles with the 8h funding
  history (no 1h mark file: the trade candles stand in for the mark), and the same slice
  resampled to 8h with the recorded 8h mark candles — every venue × margin mode, signals from
  a TA-Lib SMA cross; in hedge mode too, on the venues that have it.
* The 2025-10-10 crash from ``binance_um_freqtrade_harthor`` (1h perp, 1h mark, funding): a
  20x isolated SOL long liquidated at the liquidation price worked out here from Binance's
  bracket table, losing exactly its isolated margin; and a 10x cross portfolio of five
  symbols liquidated at the bar whose adverse mark extremes break the pool, the wallet ending
  at zero with the shortfall on the insurance fund.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import talib
from test_engines_agree import HEDGE_VENUES, MODES, VENUES, run_both, venue_tiers

from levtrade.data import MarketData, Portfolio, load_market, read_candles, read_funding
from levtrade.spec.config import BacktestConfig
from levtrade.strategy.signal_strategy import SignalStrategy
from levtrade.strategy.signals import SignalRules, Signals, SymbolSignals

HARTHOR = "binance_um_freqtrade_harthor"
MAXAKAK = "binance_um_freqtrade_maxakak1998"
TIERS_CSV = "exchange_leverage_tiers/binance_leverage_tiers_freqtrade-2026.9.csv"
CRASH_SYMBOLS = ("BTC", "ETH", "SOL", "XRP", "DOGE")


class SmaCross(SignalStrategy):
    """Long when the 24-bar SMA crosses above the 96-bar one, short on the cross below."""

    can_short = True
    stoploss = -0.25
    minimal_roi: ClassVar[dict[int | str, float]] = {"0": 0.4, "1440": 0.1}
    startup_candle_count = 96

    def populate_indicators(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        dataframe["fast"] = talib.SMA(dataframe["close"].to_numpy(), 24)
        dataframe["slow"] = talib.SMA(dataframe["close"].to_numpy(), 96)
        return dataframe

    def populate_entry_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        above = dataframe["fast"] > dataframe["slow"]
        dataframe["enter_long"] = above & ~above.shift(1, fill_value=False)
        dataframe["enter_short"] = ~above & above.shift(1, fill_value=False)
        return dataframe

    def populate_exit_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        dataframe["exit_long"] = dataframe["enter_short"]
        dataframe["exit_short"] = dataframe["enter_long"]
        return dataframe


@pytest.fixture(scope="module")
def btc_1h(shared_data: Path) -> MarketData:
    folder = shared_data / MAXAKAK
    return load_market(
        folder / "BTCUSDT-1h-perp.parquet",
        symbol="BTC/USDT:USDT",
        funding=folder / "BTCUSDT-funding_rate.parquet",
        start="2024-02-01",
        end="2024-06-01",
    )


@pytest.fixture(scope="module")
def btc_8h(shared_data: Path, btc_1h: MarketData) -> MarketData:
    folder = shared_data / MAXAKAK
    trade = btc_1h.resample("8h").candles("trade")
    assert trade is not None
    return MarketData.build(
        "BTC/USDT:USDT",
        trade,
        mark=read_candles(folder / "BTCUSDT-8h-mark.parquet", kind="mark"),
        funding=read_funding(folder / "BTCUSDT-funding_rate.parquet"),
    )


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("mode", MODES)
def test_sma_cross_on_btc_1h_agrees(btc_1h: MarketData, venue: str, mode: str) -> None:
    config = BacktestConfig(
        venue=venue,
        margin_mode=mode,
        leverage=10,
        stake_amount=2_000.0,
        slippage_bps=2,
        tiers=venue_tiers(venue, (btc_1h.symbol,)),
    )
    event, _ = run_both(btc_1h, SmaCross().to_signals(btc_1h, config), config)
    assert len(event.trades) >= 10
    assert (event.ledger.kind == "funding").sum() > 50


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize("mode", MODES)
def test_btc_8h_with_mark_candles_agrees(btc_8h: MarketData, venue: str, mode: str) -> None:
    config = BacktestConfig(
        venue=venue,
        margin_mode=mode,
        leverage=25,
        stake_amount="unlimited",
        tiers=venue_tiers(venue, (btc_8h.symbol,)),
    )
    n = len(btc_8h)
    rng = np.random.default_rng(8)
    table = SymbolSignals.from_arrays(
        n,
        enter_long=rng.random(n) < 0.08,
        exit_long=rng.random(n) < 0.05,
        enter_short=rng.random(n) < 0.08,
        exit_short=rng.random(n) < 0.05,
    )
    rules = SignalRules(can_short=True, trailing_stop=True, stoploss=-0.5)
    assert btc_8h.mark is not None
    run_both(btc_8h, Signals({btc_8h.symbol: table}, rules), config)


@pytest.mark.parametrize("venue", HEDGE_VENUES)
@pytest.mark.parametrize("mode", MODES)
def test_hedge_legs_on_btc_8h_and_1h_agree(
    btc_8h: MarketData, btc_1h: MarketData, venue: str, mode: str
) -> None:
    # 8h with mark candles: random legs with their own entries and exits, trailing stops,
    # the liquidation buffer; 1h: the SMA cross, whose exits and entries fall on one bar
    n = len(btc_8h)
    rng = np.random.default_rng(9)
    table = SymbolSignals.from_arrays(
        n, **{name: rng.random(n) < 0.08 for name in ("enter_long", "exit_long")},
        **{name: rng.random(n) < 0.08 for name in ("enter_short", "exit_short")},
    )  # fmt: skip
    rules = SignalRules(can_short=True, trailing_stop=True, stoploss=-0.5)
    config = BacktestConfig(
        venue=venue,
        margin_mode=mode,
        position_mode="hedge",
        leverage=25,
        stake_amount="unlimited",
        liquidation_buffer=0.1,
        tiers=venue_tiers(venue, (btc_8h.symbol,)),
    )
    event, _ = run_both(btc_8h, Signals({btc_8h.symbol: table}, rules), config)
    assert set(event.trades.leg) == {"LONG", "SHORT"}
    config = BacktestConfig(
        venue=venue,
        margin_mode=mode,
        position_mode="hedge",
        leverage=10,
        stake_amount=2_000.0,
        slippage_bps=2,
        tiers=venue_tiers(venue, (btc_1h.symbol,)),
    )
    event, _ = run_both(btc_1h, SmaCross().to_signals(btc_1h, config), config)
    assert set(event.trades.leg) == {"LONG", "SHORT"}


# ---------------------------------------------------------------------------------------
# The 2025-10-10 crash
# ---------------------------------------------------------------------------------------


def _crash_market(shared_data: Path, coin: str) -> MarketData:
    folder = shared_data / HARTHOR
    return load_market(
        folder / f"{coin}USDT-1h-perp.parquet",
        symbol=f"{coin}/USDT:USDT",
        mark=folder / f"{coin}USDT-1h-mark.parquet",
        funding=folder / f"{coin}USDT-funding_rate.parquet",
        start="2025-10-10",
        end="2025-10-12",
    )


def _brackets(shared_data: Path, symbol: str) -> list[dict[str, float]]:
    """Binance's USDⓈ-M brackets for ``symbol`` (floor, cap, maintMarginRatio, cum)."""
    table = pd.read_csv(shared_data / TIERS_CSV)
    rows = table[table.ccxt_symbol == symbol]
    return [
        {
            "floor": r.notional_floor,
            "cap": r.notional_cap,
            "mmr": r.maint_margin_ratio,
            "maintenance_amount": r.cum,
            "max_leverage": r.max_leverage,
        }
        for r in rows.itertuples()
    ]


def _bar(data: MarketData | Portfolio, when: str) -> int:
    stamp = int(pd.Timestamp(when, tz="UTC").value // 1_000_000)
    return int(np.searchsorted(data.timestamps, stamp))


def _maintenance(brackets: list[dict[str, float]], notional: float) -> float:
    """Binance: MM = notional × maintMarginRatio − cum of the bracket holding the notional."""
    for row in brackets:
        if row["floor"] <= notional < row["cap"]:
            return notional * row["mmr"] - row["maintenance_amount"]
    raise AssertionError(f"notional {notional} beyond the brackets")


def test_sol_20x_isolated_long_is_liquidated_at_binance_price(shared_data: Path) -> None:
    sol = _crash_market(shared_data, "SOL")
    brackets = _brackets(shared_data, sol.symbol)
    decide = _bar(sol, "2025-10-10 18:00")
    entries = np.zeros(len(sol), dtype=bool)
    entries[decide] = True
    config = BacktestConfig(
        venue="binance",
        margin_mode="isolated",
        leverage=20,
        stake_amount=1_000.0,
        tiers={sol.symbol: brackets},
    )
    signals = Signals({sol.symbol: SymbolSignals.from_arrays(len(sol), enter_long=entries)})
    _, result = run_both(sol, signals, config)

    # by hand: the entry fills at the 19:00 open, 207.36; size = 1,000 × 20 / 207.36;
    # isolated margin = notional / 20 = 1,000 (the stake); fee 0.05 % of 20,000 = 10
    entry = sol.open[decide + 1]
    assert entry == 207.36
    size = 1_000.0 * 20 / entry
    margin = size * entry / 20
    # liquidation: margin + size·(P − entry) = size·P·mmr − cum, in the bracket that holds
    # the notional at P; 20,000 of notional sits in bracket 1 (0–50,000: 0.5 %, cum 0)
    first = brackets[0]
    assert (first["floor"], first["cap"], first["mmr"], first["maintenance_amount"]) == (
        0.0,
        50_000.0,
        0.005,
        0.0,
    )
    liquidation = (size * entry - margin - first["maintenance_amount"]) / (
        size * (1 - first["mmr"])
    )
    assert size * liquidation < first["cap"]
    assert liquidation == pytest.approx(207.36 * 0.95 / 0.995, rel=1e-12)  # 197.98191

    (trade,) = result.trades.itertuples()
    assert trade.size == pytest.approx(size, rel=1e-12)
    assert trade.entry_price == entry
    assert result.series[f"liq:{sol.symbol}"].iloc[decide + 1] == pytest.approx(
        liquidation, rel=1e-12
    )
    # 20:00: the mark opens at 205.19 above it and falls to 193.54 through it
    crash = decide + 2
    assert sol.mark is not None
    assert sol.mark.open[crash] > liquidation > sol.mark.low[crash]
    assert trade.exit_reason == "liquidation"
    assert trade.exit_time == sol.timestamps[crash]
    assert trade.exit_price == pytest.approx(liquidation, rel=1e-12)
    # bankruptcy close: the trader loses the isolated margin (plus the opening fee), the
    # clearance fee (0.5 % of the notional at the liquidation price) takes the equity left,
    # capped at it: here the equity left is the MM, 0.5 % of the same notional
    assert trade.pnl == pytest.approx(-(margin + 10.0), rel=1e-12)
    assert result.series.wallet.iloc[-1] == pytest.approx(10_000.0 - margin - 10.0, rel=1e-12)
    ledger = result.ledger[result.ledger.time == sol.timestamps[crash]]
    assert list(ledger.kind) == ["realized_pnl", "liquidation_fee"]
    left = margin + size * (liquidation - entry)
    assert ledger.amount.iloc[1] == pytest.approx(min(0.005 * size * liquidation, left), rel=1e-9)


def test_ten_x_cross_portfolio_loses_what_the_venue_rules_say(shared_data: Path) -> None:
    markets = [_crash_market(shared_data, coin) for coin in CRASH_SYMBOLS]
    book = Portfolio.from_markets(markets)
    brackets = {m.symbol: _brackets(shared_data, m.symbol) for m in markets}
    decide = _bar(book, "2025-10-10 18:00")
    n = len(book)
    entries = np.zeros(n, dtype=bool)
    entries[decide] = True
    table = SymbolSignals.from_arrays(n, enter_long=entries)
    config = BacktestConfig(
        venue="binance",
        margin_mode="cross",
        leverage=10,
        stake_amount=1_900.0,
        tiers=brackets,
    )
    signals = Signals({s: table for s in book.symbols})
    _, result = run_both(book, signals, config)

    # by hand: five longs of 19,000 notional at the 19:00 opens, 9.50 fee each
    entry = book.open[decide + 1]
    sizes = 19_000.0 / entry
    wallet = 10_000.0 - 5 * 0.0005 * 19_000.0
    assert book.mark is not None

    def pool_at_adverse_extremes(i: int) -> tuple[float, float]:
        """(equity, maintenance margin) with every long at its mark low of bar i."""
        low = book.mark.low[i]
        equity = wallet + float(np.sum(sizes * (low - entry)))
        mm = sum(_maintenance(brackets[s], sizes[k] * low[k]) for k, s in enumerate(book.symbols))
        return equity, mm

    # 19:00 and 20:00 hold (the opens never break it either); 21:00's wicks break the pool
    for i in (decide + 1, decide + 2):
        equity, mm = pool_at_adverse_extremes(i)
        assert equity > mm
    crash = decide + 3
    equity, mm = pool_at_adverse_extremes(crash)
    assert equity <= mm
    assert book.timestamps[crash] == int(pd.Timestamp("2025-10-10 21:00", tz="UTC").value // 10**6)

    trades = result.trades
    assert list(trades.exit_reason) == ["liquidation"] * 5
    assert (trades.exit_time == book.timestamps[crash]).all()
    np.testing.assert_allclose(trades.exit_price, book.mark.low[crash], rtol=1e-12)
    np.testing.assert_allclose(trades["size"], sizes, rtol=1e-12)
    # bankruptcy close: the trader's pool ends at exactly zero; the equity at the adverse
    # extremes is negative (the wicks went past bankruptcy), so no clearance fee can be
    # charged and the insurance fund covers the shortfall
    assert equity < 0
    ledger = result.ledger[result.ledger.time == book.timestamps[crash]]
    assert list(ledger.kind) == ["realized_pnl"] * 5 + ["insurance_fund"]
    np.testing.assert_allclose(
        ledger.amount.iloc[:5].to_numpy(),
        np.abs(sizes * (book.mark.low[crash] - entry)),
        rtol=1e-12,
    )
    assert ledger.amount.iloc[5] == pytest.approx(-equity, rel=1e-9)
    assert result.metadata["insurance_fund"] == pytest.approx(equity, rel=1e-9)
    assert result.series.wallet.iloc[crash:].eq(0.0).all()
    assert result.series.equity.iloc[-1] == 0.0
    assert trades.pnl.sum() == pytest.approx(-10_000.0, rel=1e-12)
