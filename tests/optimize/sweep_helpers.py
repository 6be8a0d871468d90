"""A small sweep the tests share: the starter strategy (SMA cross, long and short) on the
seeded demo data (BTC/USDT:USDT, 1h, with its mark candles and funding), a timerange of about
three months with the strategy's startup candles before it, a stake of 1,000 (the notional
stays in the first tiers up to 75x), and a 200-variant grid over the averages, leverage,
margin mode and stop-loss, so that some variants are liquidated and some entries rejected.
"""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent
from typing import Any

GRID = (
    "fast=8,12,16,24,32",
    "slow=48,96",
    "leverage=1,5,20,40,75",
    "margin_mode=isolated,cross",
    "stoploss=-0.5,-0.95",
)
"""5 × 2 × 5 × 2 × 2 = 200 variants."""
GRID_SIZE = 200


def write_config(folder: Path) -> Path:
    """The run configuration of the shared sweep."""
    path = folder / "config.toml"
    path.write_text(
        dedent(
            """\
            data_format = "demo"
            pairs = ["BTC/USDT:USDT"]
            timeframe = "1h"
            timerange = "20240110-20240410"
            strategy = "levtrade.templates.strategy:SmaCross"
            stake_amount = 1000
            dry_run_wallet = 10000
            stake_currency = "USDT"
            """
        ),
        "utf-8",
    )
    return path


def param_flags(params: tuple[str, ...] = GRID) -> list[str]:
    return [flag for spec in params for flag in ("--param", spec)]


def flag_value(value: Any) -> str:
    """A table value as ``--param name=VALUE`` writes it (text as is, numbers as JSON)."""
    if isinstance(value, str):
        return value
    return json.dumps(value.item() if hasattr(value, "item") else value)


FILE_STRATEGY = dedent(
    """\
    from levtrade.strategy import SignalStrategy
    from levtrade.strategy import indicators as ind


    class FileCross(SignalStrategy):
        can_short = True
        fast = 12
        slow = 48

        def populate_indicators(self, dataframe, metadata):
            dataframe["f"] = ind.SMA(dataframe["close"], self.fast)
            dataframe["s"] = ind.SMA(dataframe["close"], self.slow)
            return dataframe

        def populate_entry_trend(self, dataframe, metadata):
            above = dataframe["f"] > dataframe["s"]
            dataframe["enter_long"] = above & ~above.shift(1, fill_value=False)
            dataframe["enter_short"] = ~above & above.shift(1, fill_value=False)
            return dataframe

        def populate_exit_trend(self, dataframe, metadata):
            above = dataframe["f"] > dataframe["s"]
            dataframe["exit_long"] = ~above
            dataframe["exit_short"] = above
            return dataframe
    """
)
"""A strategy for a file of its own (``--strategy path.py:FileCross``)."""
