"""A hand-made two-pair market and a one-entry strategy for the report tests.

BTC/USDT:USDT: 100 flat for bars 0-3, bar 4 falls to a low of 85 and closes at 88, then 88
flat. ETH/USDT:USDT: 2,000 flat. Ten 1h bars from 2025-01-01 00:00 UTC, one funding event of
0.01 % at 02:00 for both. ``EnterFirst`` goes long on both at bar 0's close (fills at bar 1's
open). With 10x and a stake of 1,000 each (Binance: taker fee 0.05 %, BTC and ETH tier 1 MMR
0.4 %):

* BTC: 100 contracts, ETH: 5 contracts, 10,000 notional each, fee 5 each;
* funding at 02:00 costs each long 10,000 × 0.0001 = 1.0;
* isolated: BTC is liquidated on bar 4 at (10,000 − 999) / (100 × 0.996) = 90.3714859...
  (PnL −1,005: its 1,000 margin and the fee); ETH is closed at the end at 2,000
  (PnL −5 − 5 − 1 = −11);
* cross: the pool (wallet 9,990 after fees, 9,988 after funding) survives BTC's low of 85.
"""

from __future__ import annotations

import numpy as np

from levtrade.backtest import BacktestConfig, BacktestResult, run
from levtrade.data import MarketData, Portfolio, make_candles, make_funding
from levtrade.risk import margin_analyzers
from levtrade.strategy import SignalStrategy

T0_MS = 1_735_689_600_000
HOUR_MS = 3_600_000
BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def _market(symbol: str, closes: list[float], lows: list[float]) -> MarketData:
    n = len(closes)
    times = T0_MS + HOUR_MS * np.arange(n, dtype=np.int64)
    opens = [closes[0], *closes[:-1]]
    highs = [max(o, c) for o, c in zip(opens, closes, strict=True)]
    candles = make_candles(times, opens, highs, lows, closes, np.full(n, 1_000.0), timeframe="1h")
    funding = make_funding([T0_MS + 2 * HOUR_MS], [0.0001])
    return MarketData.build(symbol, candles, funding=funding)


def hand_portfolio() -> Portfolio:
    btc_close = [100.0] * 4 + [88.0] * 6
    btc_low = [100.0] * 4 + [85.0] + [88.0] * 5
    eth = [2_000.0] * 10
    return Portfolio.from_markets([_market(BTC, btc_close, btc_low), _market(ETH, eth, eth)])


class EnterFirst(SignalStrategy):
    """Long on every pair at the first bar's close."""

    def populate_entry_trend(self, dataframe, metadata):  # type: ignore[no-untyped-def]
        dataframe["enter_long"] = dataframe.index == 0
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):  # type: ignore[no-untyped-def]
        dataframe["exit_long"] = False
        return dataframe


def hand_run(margin_mode: str) -> tuple[BacktestResult, Portfolio]:
    data = hand_portfolio()
    config = BacktestConfig(leverage=10, stake_amount=1_000, margin_mode=margin_mode)
    return run(EnterFirst(), data, config), data


INFO = {
    "strategy": "EnterFirst",
    "strategy_style": "signal",
    "strategy_source": "report_helpers.py",
    "data_source": "hand-made",
    "stake_currency": "USDT",
    "notes": ["a note"],
}


# The margin-call run: the market and run of tests/cli/cli_helpers.py (MARGIN_CLOSES, where
# its margin levels are tabulated), built here in memory with the margin analyzers attached.
MARGIN_CLOSES = (100.0, 100.0, 95.0, 92.0, 91.5, 91.2, 91.0, 92.0, 91.25, 93.0)
"""Cross, wallet 1,000, no fees, MMR 1 %: long 100 BTC at 100 from bar 1; margin level
100 − 9,000 / close: below 1.5 on bars 5, 6 (minimum 1.0989) and 8; funding 0.01 % at 09:00."""
RISK = {"margin_call_level": 1.5, "thresholds": [2.0, 1.5, 1.2], "atr_period": 3}


def margin_call_run() -> tuple[BacktestResult, MarketData]:
    n = len(MARGIN_CLOSES)
    times = T0_MS + HOUR_MS * np.arange(n, dtype=np.int64)
    opens = [MARGIN_CLOSES[0], *MARGIN_CLOSES[:-1]]
    highs = [max(o, c) for o, c in zip(opens, MARGIN_CLOSES, strict=True)]
    lows = [min(o, c) for o, c in zip(opens, MARGIN_CLOSES, strict=True)]
    candles = make_candles(
        times, opens, highs, lows, list(MARGIN_CLOSES), np.full(n, 1_000.0), timeframe="1h"
    )
    funding = make_funding([T0_MS + 9 * HOUR_MS], [0.0001])
    data = MarketData.build(BTC, candles, funding=funding)
    config = BacktestConfig(
        wallet=1_000,
        leverage=10,
        stake_amount=1_000,
        tradable_balance_ratio=1.0,
        maker_fee=0.0,
        taker_fee=0.0,
        tiers={BTC: [{"floor": 0, "mmr": 0.01, "max_leverage": 50}]},
    )
    analyzers = margin_analyzers(
        margin_call_level=1.5, thresholds=(2.0, 1.5, 1.2), data=data, atr_period=3
    )
    return run(EnterFirst(), data, config, analyzers=analyzers), data


MARGIN_INFO = {**INFO, "risk": RISK}
