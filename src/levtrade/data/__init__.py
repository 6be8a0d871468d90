"""Market data: validated candles, mark and index prices and funding on one time axis.

Time is int64 milliseconds UTC and a candle's timestamp is its open time. The main types:

* :class:`MarketData` - one symbol: trade OHLCV, optional mark/index OHLC, funding events and
  their per-bar view, as numpy arrays on one axis;
* :class:`Portfolio` - several symbols on the union (or common) axis with an ``active`` mask;
* :class:`Store` - levtrade's Parquet store; :func:`load_freqtrade` - FreqTrade data dirs;
* :class:`Downloader` - CCXT download with pagination, retries and resume;
* :func:`demo_market` / :func:`demo_portfolio` - deterministic synthetic perpetuals.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from levtrade.data.demo import DEMO_SYMBOLS, demo_market, demo_portfolio
    from levtrade.data.download import Downloader, DownloadResult, ProgressUpdate, make_exchange
    from levtrade.data.errors import (
        CoverageError,
        DataValidationError,
        DownloadError,
        GapError,
        MissingColumnError,
        TimeframeError,
    )
    from levtrade.data.freqtrade import (
        FreqtradeFile,
        describe_freqtrade_file,
        freqtrade_path,
        list_freqtrade,
        load_freqtrade,
        load_freqtrade_portfolio,
        pair_to_filename,
        save_freqtrade,
    )
    from levtrade.data.io import (
        atomic_write,
        convert_file,
        detect_format,
        guess_kind,
        load_market,
        read_candles,
        read_funding,
        write_candles,
        write_funding,
    )
    from levtrade.data.market import (
        COARSE_MARK_POLICIES,
        OHLC,
        CoarseMarkPolicy,
        MarketData,
        align_funding,
        basis_mark,
    )
    from levtrade.data.portfolio import Portfolio
    from levtrade.data.resample import resample_arrays
    from levtrade.data.series import Candles, FundingEvents, make_candles, make_funding
    from levtrade.data.store import DatasetInfo, Store, symbol_to_dirname
    from levtrade.data.ticks import Ticks, read_ticks, ticks_to_candles
    from levtrade.data.timeframes import format_timeframe, format_ts, parse_time, parse_timeframe
    from levtrade.data.validate import GapReport, find_gaps

_ORIGINS = {
    "demo": "DEMO_SYMBOLS demo_market demo_portfolio",
    "download": "Downloader DownloadResult ProgressUpdate make_exchange",
    "errors": "CoverageError DataValidationError DownloadError "
    "GapError MissingColumnError TimeframeError",
    "freqtrade": "FreqtradeFile describe_freqtrade_file freqtrade_path list_freqtrade "
    "load_freqtrade load_freqtrade_portfolio pair_to_filename save_freqtrade",
    "io": "atomic_write convert_file detect_format guess_kind "
    "load_market read_candles read_funding write_candles write_funding",
    "market": "COARSE_MARK_POLICIES OHLC CoarseMarkPolicy MarketData align_funding basis_mark",
    "portfolio": "Portfolio",
    "resample": "resample_arrays",
    "series": "Candles FundingEvents make_candles make_funding",
    "store": "DatasetInfo Store symbol_to_dirname",
    "ticks": "Ticks read_ticks ticks_to_candles",
    "timeframes": "format_timeframe format_ts parse_time parse_timeframe",
    "validate": "GapReport find_gaps",
}
"""The names each submodule defines (space-separated), loaded on first use (:func:`__getattr__`)."""
_MODULE_OF = {name: module for module, names in _ORIGINS.items() for name in names.split()}

__all__ = [
    "COARSE_MARK_POLICIES",
    "DEMO_SYMBOLS",
    "OHLC",
    "Candles",
    "CoarseMarkPolicy",
    "CoverageError",
    "DataValidationError",
    "DatasetInfo",
    "DownloadError",
    "DownloadResult",
    "Downloader",
    "FreqtradeFile",
    "FundingEvents",
    "GapError",
    "GapReport",
    "MarketData",
    "MissingColumnError",
    "Portfolio",
    "ProgressUpdate",
    "Store",
    "Ticks",
    "TimeframeError",
    "align_funding",
    "atomic_write",
    "basis_mark",
    "convert_file",
    "demo_market",
    "demo_portfolio",
    "describe_freqtrade_file",
    "detect_format",
    "find_gaps",
    "format_timeframe",
    "format_ts",
    "freqtrade_path",
    "guess_kind",
    "list_freqtrade",
    "load_freqtrade",
    "load_freqtrade_portfolio",
    "load_market",
    "make_candles",
    "make_exchange",
    "make_funding",
    "pair_to_filename",
    "parse_time",
    "parse_timeframe",
    "read_candles",
    "read_funding",
    "read_ticks",
    "resample_arrays",
    "save_freqtrade",
    "symbol_to_dirname",
    "ticks_to_candles",
    "write_candles",
    "write_funding",
]


def __getattr__(name: str) -> Any:
    """Load a name's submodule on first use: importing one submodule (the timeframes, the
    file commits) does not import pandas, PyArrow and the downloader with all the others."""
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
