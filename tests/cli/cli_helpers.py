"""Hand-made market data and strategies for the ``levtrade backtest`` tests.

The market (``write_freqtrade_dir``) is one pair, BTC/USDT:USDT, ten 1h bars from 2025-01-01
00:00 UTC, written as FreqTrade writes it (``futures/BTC_USDT_USDT-1h-futures.feather`` and a
``-1h-funding_rate.feather`` with the rate in ``open``), no mark candles (the trade candles
stand in for the mark):

====  =====  =====  =====  =====
bar    open   high    low  close
====  =====  =====  =====  =====
0-3     100    100    100    100
4       100    100     85     88
5-9      88     88     88     88
====  =====  =====  =====  =====

One funding event, 0.01 % at 02:00. ``ENTER_FIRST_BAR`` goes long at bar 0's close, so the
entry fills at bar 1's open, 100. With the run's 10x, isolated margin and a stake of 1,000
(Binance defaults: taker fee 0.05 %, BTC tier 1 MMR 0.4 % with no deduction — docs/venues.md,
"Built-in defaults"; clearance fee 0.3 % for BTCUSDT — docs/venues.md, venue table):

* size q = 1,000 × 10 / 100 = 100 BTC, notional 10,000, isolated margin 1,000, fee 5;
* funding at 02:00 (mark open 100): the long pays 100 × 100 × 0.0001 = 1.0 from its margin,
  which becomes 999;
* liquidation price: 999 + q(P − 100) = 0.004 q P → P = (10,000 − 999) / (100 × 0.996)
  = 90.371485943775...; bar 4's low of 85 reaches it, so the position is liquidated on bar 4
  (04:00) at that price;
* there the margin left is 999 − 100 × (100 − P) = 36.1485943775... (= 0.4 % of the notional
  9,037.1485943775...), the clearance fee takes 0.003 × 9,037.1485943775 = 27.1114457831...
  and the insurance fund the rest, 9.0371485943...;
* the trader loses the 1,000 put up as margin (the 1.0 of funding came out of it) and the
  5 fee: the trade's PnL is −1,005 and the final equity 8,995.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent
from typing import Any

import pandas as pd

BTC = "BTC/USDT:USDT"
T0 = pd.Timestamp("2025-01-01 00:00", tz="UTC")
T0_MS = 1_735_689_600_000
"""2025-01-01 00:00 UTC in ms."""
HOUR_MS = 3_600_000
BARS = 10
ENTRY_PRICE = 100.0
SIZE = 100.0
MMR = 0.004
TAKER = 0.0005
CLEARANCE = 0.003
FUNDING_RATE = 0.0001
FUNDING_PAID = SIZE * ENTRY_PRICE * FUNDING_RATE  # 1.0
MARGIN = 1_000.0 - FUNDING_PAID  # 999 after funding
LIQ_PRICE = (SIZE * ENTRY_PRICE - MARGIN) / (SIZE * (1.0 - MMR))
LIQ_NOTIONAL = SIZE * LIQ_PRICE
LIQ_FEE = CLEARANCE * LIQ_NOTIONAL
LEFT_AT_LIQUIDATION = MARGIN - SIZE * (ENTRY_PRICE - LIQ_PRICE)
INSURANCE = LEFT_AT_LIQUIDATION - LIQ_FEE
ENTRY_FEE = TAKER * SIZE * ENTRY_PRICE  # 5.0
TRADE_PNL = -(1_000.0 + ENTRY_FEE)  # -1005: the funding came out of the margin


def candles() -> pd.DataFrame:
    """The ten bars of the table above, FreqTrade's columns."""
    rows = []
    for i in range(BARS):
        if i < 4:
            o = h = lo = c = 100.0
        elif i == 4:
            o, h, lo, c = 100.0, 100.0, 85.0, 88.0
        else:
            o = h = lo = c = 88.0
        rows.append((T0 + pd.Timedelta(hours=i), o, h, lo, c, 1_000.0))
    frame = pd.DataFrame(rows, columns=["date", "open", "high", "low", "close", "volume"])
    frame["date"] = frame["date"].astype("datetime64[ns, UTC]")
    return frame


def write_freqtrade_dir(root: Path, *, funding: bool = True) -> Path:
    """A FreqTrade data directory holding the market above; returns ``root``."""
    futures = root / "futures"
    futures.mkdir(parents=True, exist_ok=True)
    candles().to_feather(futures / "BTC_USDT_USDT-1h-futures.feather")
    if funding:
        rate = pd.DataFrame(
            {
                "date": pd.to_datetime([T0 + pd.Timedelta(hours=2)]).astype("datetime64[ns, UTC]"),
                "open": [FUNDING_RATE],
                "high": [0.0],
                "low": [0.0],
                "close": [0.0],
                "volume": [0.0],
            }
        )
        rate.to_feather(futures / "BTC_USDT_USDT-1h-funding_rate.feather")
    return root


ENTER_FIRST_BAR = dedent(
    '''
    """Goes long once, at the first bar's close (FreqTrade style)."""
    from levtrade.strategy import SignalStrategy


    class EnterFirstBar(SignalStrategy):
        def populate_entry_trend(self, dataframe, metadata):
            dataframe["enter_long"] = dataframe.index == 0
            return dataframe

        def populate_exit_trend(self, dataframe, metadata):
            dataframe["exit_long"] = False
            return dataframe
    '''
)

RAISES_IN_POPULATE = dedent(
    """
    from levtrade.strategy import SignalStrategy


    def spread(frame):
        return frame["no_such_column"] - frame["close"]


    class Broken(SignalStrategy):
        def populate_indicators(self, dataframe, metadata):
            dataframe["spread"] = spread(dataframe)
            return dataframe

        def populate_entry_trend(self, dataframe, metadata):
            dataframe["enter_long"] = False
            return dataframe

        def populate_exit_trend(self, dataframe, metadata):
            dataframe["exit_long"] = False
            return dataframe
    """
)

RAISES_IN_NEXT = dedent(
    """
    from levtrade.strategy import Strategy


    class BrokenNext(Strategy):
        def next(self):
            if len(self) == 3:
                ratio = self.data.close[0] / (self.data.close[0] - self.data.close[0])
                self.buy(size=ratio)
    """
)

SYNTAX_ERROR = (
    "from levtrade.strategy import SignalStrategy\n\nclass Oops(SignalStrategy)\n    pass\n"
)


def write_config(path: Path, values: dict[str, Any]) -> Path:
    """A TOML file with the given top-level keys (strings, numbers, booleans, lists of
    strings)."""

    def literal(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(value, list | tuple):
            return "[" + ", ".join(literal(v) for v in value) + "]"
        return repr(value)

    lines = [f"{key} = {literal(value)}" for key, value in values.items() if value is not None]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def liquidation_config(tmp: Path, **extra: Any) -> Path:
    """Data dir + strategy + config for the hand-computed liquidation; returns the config."""
    write_freqtrade_dir(tmp / "data")
    (tmp / "enter_first.py").write_text(ENTER_FIRST_BAR, encoding="utf-8")
    values: dict[str, Any] = {
        "strategy": "enter_first.py:EnterFirstBar",
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "stake_currency": "USDT",
        "stake_amount": 1000,
        "dry_run_wallet": 10000,
        "leverage": 10,
        "timeframe": "1h",
        "pairs": [BTC],
        "datadir": "data",
    }
    values.update(extra)
    return write_config(tmp / "config.toml", values)


def files_in(folder: Path) -> set[str]:
    """Every file and directory under ``folder`` (relative paths, hidden ones included)."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


# ============================================================================================
# A run that takes margin calls (the Margin section of the summary)
# ============================================================================================

MARGIN_CLOSES = (100.0, 100.0, 95.0, 92.0, 91.5, 91.2, 91.0, 92.0, 91.25, 93.0)
"""Closes of BTC/USDT:USDT on ten 1h bars from 2025-01-01 00:00 UTC; each bar opens at the
previous close and has no wicks (high/low = max/min of open and close).

Cross margin, wallet 1,000, no fees, a one-tier table with MMR 1 % (``[tiers]``). The strategy
goes long at bar 0's close: 100 BTC at bar 1's open 100 with the stake 1,000 at 10x. At a close
P the cross equity is 1,000 + 100·(P − 100) = 100·P − 9,000 and the maintenance margin
0.01 × 100·P = P, so the margin level is 100 − 9,000 / P and the liquidation price
9,000 / 99 = 90.9090... (never reached: the lowest low is 91):

====  =====  ==============================  ===================
bar   close  margin level                     effective leverage
====  =====  ==============================  ===================
0     100    ∞ (flat)                         0
1     100    100 − 90 = 10                    10,000 / 1,000 = 10
2      95    100 − 94.7368 = 5.2632           9,500 / 500 = 19
3      92    100 − 97.8261 = 2.1739           9,200 / 200 = 46
4      91.5  100 − 98.3607 = 1.6393           9,150 / 150 = 61
5      91.2  100 − 98.6842 = 1.3158           9,120 / 120 = 76
6      91    100 − 98.9011 = 1.0989           9,100 / 100 = 91
7      92    2.1739                           46
8      91.25 100 − 98.6301 = 1.3699           9,125 / 125 = 73
9      93    ∞ (closed at the end of data)    0
====  =====  ==============================  ===================

The bars have no wicks (open = the previous close; low and high the lesser and greater of open
and close), so the engine's trigger test, every long at its bar's mark low, sees the level at
the low: bar 7 opens at 91 (1.0989) and bar 9, which the long enters at the previous close,
opens at 91.25 (1.3699); on the other bars the low is the close. The analyzers' level per bar,
the lowest inside it, is therefore 10, 5.2632, 2.1739, 1.6393, 1.3158, 1.0989, 1.0989, 1.3699,
1.3699 on bars 1-9.

One funding event, 0.01 % at 09:00 on the mark open 91.25: the long pays 100 × 91.25 × 0.0001
= 0.9125.
"""
MARGIN_WALLET = 1_000.0
MARGIN_MMR = 0.01
MARGIN_FUNDING_RATE = 0.0001
MARGIN_LIQ_PRICE = 9_000.0 / 99.0


def margin_candles() -> pd.DataFrame:
    """The bars of ``MARGIN_CLOSES``, FreqTrade's columns."""
    opens = (MARGIN_CLOSES[0], *MARGIN_CLOSES[:-1])
    rows = [
        (T0 + pd.Timedelta(hours=i), o, max(o, c), min(o, c), c, 1_000.0)
        for i, (o, c) in enumerate(zip(opens, MARGIN_CLOSES, strict=True))
    ]
    frame = pd.DataFrame(rows, columns=["date", "open", "high", "low", "close", "volume"])
    frame["date"] = frame["date"].astype("datetime64[ns, UTC]")
    return frame


def margin_call_config(tmp: Path, risk: str = "atr_period = 3\n") -> Path:
    """Data dir + strategy + config of the margin-call run; ``risk`` is the ``[risk]`` table's
    body. Returns the config."""
    futures = tmp / "data" / "futures"
    futures.mkdir(parents=True, exist_ok=True)
    margin_candles().to_feather(futures / "BTC_USDT_USDT-1h-futures.feather")
    rate = pd.DataFrame(
        {
            "date": pd.to_datetime([T0 + pd.Timedelta(hours=9)]).astype("datetime64[ns, UTC]"),
            "open": [MARGIN_FUNDING_RATE],
            "high": [0.0],
            "low": [0.0],
            "close": [0.0],
            "volume": [0.0],
        }
    )
    rate.to_feather(futures / "BTC_USDT_USDT-1h-funding_rate.feather")
    (tmp / "enter_first.py").write_text(ENTER_FIRST_BAR, encoding="utf-8")
    path = write_config(
        tmp / "config.toml",
        {
            "strategy": "enter_first.py:EnterFirstBar",
            "margin_mode": "cross",
            "stake_currency": "USDT",
            "stake_amount": 1000,
            "tradable_balance_ratio": 1.0,
            "dry_run_wallet": MARGIN_WALLET,
            "leverage": 10,
            "fee": 0.0,
            "timeframe": "1h",
            "pairs": [BTC],
            "datadir": "data",
        },
    )
    tiers = f'\n[[tiers."{BTC}"]]\nfloor = 0\nmmr = {MARGIN_MMR}\nmax_leverage = 50\n'
    path.write_text(path.read_text("utf-8") + tiers + "\n[risk]\n" + risk, encoding="utf-8")
    return path
