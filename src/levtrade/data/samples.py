"""The recorded market data shipped with levtrade: a week of Binance USDT-M perpetuals around
the crash of 2025-10-10 (``levtrade/data/sample/``, its README names the source). A bare
``levtrade backtest`` runs on it, so the first run shows leverage on real prices."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SAMPLE_PAIRS = ("BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT")
SAMPLE_TIMEFRAME = "5m"
SAMPLE_MARK_TEMPLATE = "{symbol}-1h-mark.parquet"
"""The sample's mark candles are hourly (Binance's mark-price klines as FreqTrade stores them)."""
SAMPLE_TIERS = "binance_leverage_tiers.json"
SAMPLE_LABEL = (
    "Binance USDT-M perpetuals, recorded: BTC, ETH, SOL 5m candles, 1h mark candles and "
    "funding, 2025-10-06 to 2025-10-12 (levtrade's bundled sample)"
)


def sample_dir() -> Path:
    """The folder of the shipped sample files."""
    return Path(str(resources.files("levtrade.data").joinpath("sample")))
