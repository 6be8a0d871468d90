"""The indicators FreqTrade strategies import as ``freqtrade.vendor.qtpylib.indicators``, with
qtpylib's definitions: crossings, Bollinger and Keltner bands, typical and mid price, true
range and ATR, rolling statistics (sample standard deviation), exponentially weighted and Hull
averages, rolling VWAP, returns, rate of change, z-score, Heikin-Ashi candles, the awesome
oscillator. Inputs are pandas Series/DataFrames with ``open``/``high``/``low``/``close``/
``volume`` columns; outputs are on the input's index."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "atr",
    "awesome_oscillator",
    "bollinger_bands",
    "crossed",
    "crossed_above",
    "crossed_below",
    "heikinashi",
    "hma",
    "hull_moving_average",
    "ibs",
    "keltner_channel",
    "log_returns",
    "mid_price",
    "returns",
    "roc",
    "rolling_max",
    "rolling_mean",
    "rolling_min",
    "rolling_std",
    "rolling_vwap",
    "rolling_weighted_mean",
    "sma",
    "true_range",
    "typical_price",
    "vwap",
    "weighted_bollinger_bands",
    "wma",
    "zscore",
]


def _series(values: Any) -> pd.Series:
    return values if isinstance(values, pd.Series) else pd.Series(values)


def crossed(series1: Any, series2: Any, direction: str | None = None) -> pd.Series:
    """True where ``series1`` crosses ``series2``: above (now >, before ≤), below (now <,
    before ≥), or either when ``direction`` is None. ``series2`` may be a number."""
    first = _series(series1)
    if isinstance(series2, int | float | np.integer | np.floating):
        second = pd.Series(float(series2), index=first.index)
    elif isinstance(series2, np.ndarray):
        second = pd.Series(series2, index=first.index)
    else:
        second = series2
    above = (first > second) & (first.shift(1) <= second.shift(1))
    below = (first < second) & (first.shift(1) >= second.shift(1))
    if direction is None:
        return pd.Series(above | below)
    return pd.Series(above if direction == "above" else below)


def crossed_above(series1: Any, series2: Any) -> pd.Series:
    return crossed(series1, series2, "above")


def crossed_below(series1: Any, series2: Any) -> pd.Series:
    return crossed(series1, series2, "below")


def rolling_mean(series: Any, window: int = 200, min_periods: int | None = None) -> pd.Series:
    periods = window if min_periods is None else min_periods
    return _series(series).rolling(window=window, min_periods=periods).mean()


def rolling_std(series: Any, window: int = 200, min_periods: int | None = None) -> pd.Series:
    """Sample standard deviation (ddof 1) over ``window`` rows."""
    periods = window if min_periods is None else min_periods
    return _series(series).rolling(window=window, min_periods=periods).std()


def rolling_min(series: Any, window: int = 14, min_periods: int | None = None) -> pd.Series:
    periods = window if min_periods is None else min_periods
    return _series(series).rolling(window=window, min_periods=periods).min()


def rolling_max(series: Any, window: int = 14, min_periods: int | None = None) -> pd.Series:
    periods = window if min_periods is None else min_periods
    return _series(series).rolling(window=window, min_periods=periods).max()


def rolling_weighted_mean(
    series: Any, window: float = 200, min_periods: float | None = None
) -> pd.Series:
    """Exponentially weighted mean of span ``window``."""
    periods = window if min_periods is None else min_periods
    return _series(series).ewm(span=window, min_periods=int(periods)).mean()


def hull_moving_average(
    series: Any, window: int = 200, min_periods: int | None = None
) -> pd.Series:
    periods = window if min_periods is None else min_periods
    fast = rolling_weighted_mean(series, window / 2, periods)
    slow = rolling_weighted_mean(series, window, periods)
    return rolling_weighted_mean(2 * fast - slow, float(np.sqrt(window)), periods)


def sma(series: Any, window: int = 200, min_periods: int | None = None) -> pd.Series:
    return rolling_mean(series, window=window, min_periods=min_periods)


def wma(series: Any, window: int = 200, min_periods: int | None = None) -> pd.Series:
    return rolling_weighted_mean(series, window=window, min_periods=min_periods)


def hma(series: Any, window: int = 200, min_periods: int | None = None) -> pd.Series:
    return hull_moving_average(series, window=window, min_periods=min_periods)


def typical_price(bars: pd.DataFrame) -> pd.Series:
    return pd.Series((bars["high"] + bars["low"] + bars["close"]) / 3.0, index=bars.index)


def mid_price(bars: pd.DataFrame) -> pd.Series:
    return pd.Series((bars["high"] + bars["low"]) / 2.0, index=bars.index)


def ibs(bars: pd.DataFrame) -> pd.Series:
    """Internal bar strength, (close − low) / (high − low), to 2 decimals."""
    value = (bars["close"] - bars["low"]) / (bars["high"] - bars["low"])
    return pd.Series(np.round(value, 2), index=bars.index)


def true_range(bars: pd.DataFrame) -> pd.Series:
    previous = bars["close"].shift(1)
    return pd.DataFrame(
        {
            "hl": bars["high"] - bars["low"],
            "hc": (bars["high"] - previous).abs(),
            "lc": (bars["low"] - previous).abs(),
        }
    ).max(axis=1)


def atr(bars: pd.DataFrame, window: int = 14, exp: bool = False) -> pd.Series:
    """Average true range: a rolling mean (``exp``: an exponentially weighted mean)."""
    ranges = true_range(bars)
    if exp:
        return pd.Series(rolling_weighted_mean(ranges, window))
    return pd.Series(rolling_mean(ranges, window))


def bollinger_bands(series: Any, window: int = 20, stds: float = 2) -> pd.DataFrame:
    """``upper``/``mid``/``lower``: the rolling mean ± ``stds`` sample standard deviations,
    from the first row on (min_periods 1)."""
    values = _series(series)
    mid = rolling_mean(values, window=window, min_periods=1)
    std = rolling_std(values, window=window, min_periods=1)
    return pd.DataFrame(
        {"upper": mid + std * stds, "mid": mid, "lower": mid - std * stds}, index=values.index
    )


def weighted_bollinger_bands(series: Any, window: int = 20, stds: float = 2) -> pd.DataFrame:
    values = _series(series)
    mid = rolling_weighted_mean(values, window=window)
    std = rolling_std(values, window=window)
    return pd.DataFrame(
        {
            "upper": (mid + std * stds).to_numpy(),
            "mid": mid.to_numpy(),
            "lower": (mid - std * stds).to_numpy(),
        },
        index=values.index,
    )


def keltner_channel(bars: pd.DataFrame, window: int = 14, atrs: float = 2) -> pd.DataFrame:
    mid = rolling_mean(typical_price(bars), window)
    band = atr(bars, window) * atrs
    return pd.DataFrame(
        {
            "upper": (mid + band).to_numpy(),
            "mid": mid.to_numpy(),
            "lower": (mid - band).to_numpy(),
        },
        index=bars.index,
    )


def vwap(bars: pd.DataFrame) -> pd.Series:
    """Refused as in FreqTrade: a VWAP of the whole series looks ahead."""
    raise ValueError(
        "using `qtpylib.vwap` facilitates lookahead bias. Please use `qtpylib.rolling_vwap` "
        "instead, which calculates vwap in a rolling manner."
    )


def rolling_vwap(
    bars: pd.DataFrame, window: int = 200, min_periods: int | None = None
) -> pd.Series:
    """VWAP of the typical price over ``window`` rows (infinite values carried forward)."""
    periods = window if min_periods is None else min_periods
    typical = (bars["high"] + bars["low"] + bars["close"]) / 3
    volume = bars["volume"]
    left = (volume * typical).rolling(window=window, min_periods=periods).sum()
    right = volume.rolling(window=window, min_periods=periods).sum()
    return pd.Series(left / right, index=bars.index).replace([np.inf, -np.inf], np.nan).ffill()


def returns(series: pd.Series) -> pd.Series:
    return pd.Series(
        (series / series.shift(1) - 1).replace([np.inf, -np.inf], np.nan), index=series.index
    )


def log_returns(series: pd.Series) -> pd.Series:
    ratio = (series / series.shift(1)).replace([np.inf, -np.inf], np.nan)
    return pd.Series(np.log(ratio), index=series.index)


def roc(series: pd.Series, window: int = 14) -> pd.Series:
    """Rate of change over ``window`` rows."""
    before = series.shift(window)
    return pd.Series((series - before) / before, index=series.index)


def zscore(bars: pd.DataFrame, window: int = 20, stds: float = 1, col: str = "close") -> pd.Series:
    values = bars[col]
    mean = rolling_mean(values, window)
    std = rolling_std(values, window)
    return pd.Series((values - mean) / (std * stds), index=bars.index)


def heikinashi(bars: pd.DataFrame) -> pd.DataFrame:
    """Heikin-Ashi candles: close the OHLC mean, open the mean of the previous HA open and
    close (the first: of the first open and close), high/low the extremes with them."""
    close = ((bars["open"] + bars["high"] + bars["low"] + bars["close"]) / 4).to_numpy()
    opens = np.empty(len(bars))
    if len(bars):
        opens[0] = (bars["open"].iloc[0] + bars["close"].iloc[0]) / 2
        for i in range(1, len(bars)):
            opens[i] = (opens[i - 1] + close[i - 1]) / 2
    high = np.maximum.reduce([bars["high"].to_numpy(), opens, close])
    low = np.minimum.reduce([bars["low"].to_numpy(), opens, close])
    return pd.DataFrame({"open": opens, "high": high, "low": low, "close": close}, index=bars.index)


def awesome_oscillator(
    df: pd.DataFrame, weighted: bool = False, fast: int = 5, slow: int = 34
) -> pd.Series:
    mid = (df["high"] + df["low"]) / 2
    if weighted:
        value = mid.ewm(fast).mean() - mid.ewm(slow).mean()
    else:
        value = rolling_mean(mid, fast) - rolling_mean(mid, slow)
    return pd.Series(value.to_numpy(), index=df.index)
