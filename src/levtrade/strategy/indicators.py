"""Technical indicators: thin, validated wrappers around TA-Lib for both strategy styles.

Each function takes numpy arrays, pandas Series or strategy :class:`~levtrade.strategy.lines.
Line` objects and returns the same kind: an array, a Series on the input's index, or a line on
the run's clock (so ``SMA(self.data.close, 20)`` in a strategy's ``__init__`` is precomputed
once and read per bar as ``sma[0]``). Bars before an indicator has enough history are NaN, as
in TA-Lib; leading NaNs in the input (a symbol listed later) are skipped.

Parameters are checked here, so a bad period raises :class:`~levtrade.errors.ConfigError`
naming the parameter and value instead of TA-Lib's ``TA_BAD_PARAM``.

Inside ``with memoized(memo):`` (a parameter sweep's workers) each indicator is computed once
per distinct input and parameters: a later call with bit-identical inputs gets a copy of the
first call's output.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import talib
from numpy.typing import NDArray

from levtrade.errors import ConfigError
from levtrade.strategy.lines import Line

FloatArray = NDArray[np.float64]
Series = FloatArray | pd.Series | Line

__all__ = [
    "ADX",
    "ATR",
    "BBANDS",
    "CCI",
    "EMA",
    "MACD",
    "MAX",
    "MIN",
    "MOM",
    "ROC",
    "RSI",
    "SMA",
    "STDDEV",
    "STOCH",
    "WMA",
    "Bands",
    "IndicatorMemo",
    "Macd",
    "Stoch",
    "crossover",
    "memoized",
]


class Bands(NamedTuple):
    upper: Any
    middle: Any
    lower: Any


class Macd(NamedTuple):
    macd: Any
    signal: Any
    hist: Any


class Stoch(NamedTuple):
    k: Any
    d: Any


def _period(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ConfigError(f"{name}: must be an integer ≥ {minimum}, got {value!r}")
    return int(value)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ConfigError(f"{name}: must be a number, got {value!r}")
    number = float(value)
    if not np.isfinite(number):
        raise ConfigError(f"{name}: must be finite, got {value!r}")
    return number


def _array(value: Any, name: str) -> FloatArray:
    if isinstance(value, Line):
        return value.array
    if isinstance(value, pd.Series):
        return np.ascontiguousarray(value.to_numpy(dtype=np.float64, na_value=np.nan))
    try:
        array = np.ascontiguousarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: expected numbers, got {type(value).__name__}") from None
    if array.ndim != 1:
        raise ConfigError(f"{name}: expected a 1-D series, got shape {array.shape}")
    return array


class IndicatorMemo:
    """Indicator outputs by function, parameters and inputs (compared bit for bit), the
    least recently used dropped beyond ``capacity``; ``computed`` and ``reused`` count the
    calls."""

    def __init__(self, capacity: int = 512) -> None:
        self.capacity = capacity
        self.computed = 0
        self.reused = 0
        self._entries: OrderedDict[tuple[Any, ...], list[tuple[list[FloatArray], Any]]] = (
            OrderedDict()
        )

    def call(
        self, func: Callable[..., Any], arrays: list[FloatArray], params: dict[str, Any]
    ) -> Any:
        key = (
            getattr(func, "__name__", repr(func)),
            tuple(sorted(params.items())),
            tuple(_fingerprint(a) for a in arrays),
        )
        bucket = self._entries.get(key)
        if bucket is not None:
            for inputs, outputs in bucket:
                if all(_identical(a, b) for a, b in zip(inputs, arrays, strict=True)):
                    self.reused += 1
                    self._entries.move_to_end(key)
                    return _copied(outputs)
        raw = func(*arrays, **params)
        self.computed += 1
        self._entries.setdefault(key, []).append(([a.copy() for a in arrays], _copied(raw)))
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)
        return raw


def _fingerprint(array: FloatArray) -> tuple[int, bytes]:
    """Length and a sample of the values: what a memo looks candidates up by."""
    step = max(1, array.shape[0] // 32)
    return array.shape[0], array[::step].tobytes()


def _identical(a: FloatArray, b: FloatArray) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a.view(np.uint64), b.view(np.uint64)))


def _copied(raw: Any) -> Any:
    if isinstance(raw, tuple):
        return tuple(np.array(out, copy=True) for out in raw)
    return np.array(raw, copy=True)


_memo: IndicatorMemo | None = None


@contextmanager
def memoized(memo: IndicatorMemo | None = None) -> Iterator[IndicatorMemo]:
    """Compute each indicator once per distinct input and parameters while inside (``memo``
    carries the outputs over from one ``with`` to the next)."""
    global _memo
    previous, _memo = _memo, memo if memo is not None else IndicatorMemo()
    try:
        yield _memo
    finally:
        _memo = previous


def _compute(
    label: str,
    func: Callable[..., Any],
    inputs: dict[str, Any],
    params: dict[str, Any],
) -> tuple[Any, ...]:
    """Run ``func`` on the inputs as arrays; give each output back as the first input's kind."""
    arrays = [_array(value, name) for name, value in inputs.items()]
    size = arrays[0].shape[0]
    for (name, _), array in zip(inputs.items(), arrays, strict=True):
        if array.shape[0] != size:
            raise ConfigError(
                f"{name}: {label} inputs must have one length, got {array.shape[0]} and {size}"
            )
    raw = _memo.call(func, arrays, params) if _memo is not None else func(*arrays, **params)
    outputs = raw if isinstance(raw, tuple) else (raw,)
    first = next(iter(inputs.values()))
    if isinstance(first, Line):
        return tuple(first.derive(out, f"{label}({first.name})") for out in outputs)
    if isinstance(first, pd.Series):
        return tuple(pd.Series(out, index=first.index, name=label) for out in outputs)
    return tuple(np.asarray(out, dtype=np.float64) for out in outputs)


def SMA(values: Series, period: int = 30) -> Any:  # noqa: N802
    """Simple moving average of the last ``period`` values."""
    p = _period(period, "period", 1)
    return _compute(f"SMA{p}", talib.SMA, {"values": values}, {"timeperiod": p})[0]


def EMA(values: Series, period: int = 30) -> Any:  # noqa: N802
    """Exponential moving average, α = 2/(period+1), seeded with the first SMA (TA-Lib)."""
    p = _period(period, "period", 2)
    return _compute(f"EMA{p}", talib.EMA, {"values": values}, {"timeperiod": p})[0]


def WMA(values: Series, period: int = 30) -> Any:  # noqa: N802
    """Linearly weighted moving average (weights 1..period, newest heaviest)."""
    p = _period(period, "period", 2)
    return _compute(f"WMA{p}", talib.WMA, {"values": values}, {"timeperiod": p})[0]


def RSI(values: Series, period: int = 14) -> Any:  # noqa: N802
    """Wilder's relative strength index."""
    p = _period(period, "period", 2)
    return _compute(f"RSI{p}", talib.RSI, {"values": values}, {"timeperiod": p})[0]


def MOM(values: Series, period: int = 10) -> Any:  # noqa: N802
    """Momentum: ``x[t] − x[t − period]``."""
    p = _period(period, "period", 1)
    return _compute(f"MOM{p}", talib.MOM, {"values": values}, {"timeperiod": p})[0]


def ROC(values: Series, period: int = 10) -> Any:  # noqa: N802
    """Rate of change in percent: ``(x[t]/x[t − period] − 1)·100``."""
    p = _period(period, "period", 1)
    return _compute(f"ROC{p}", talib.ROC, {"values": values}, {"timeperiod": p})[0]


def MAX(values: Series, period: int = 30) -> Any:  # noqa: N802
    """Highest value over the last ``period`` bars."""
    p = _period(period, "period", 2)
    return _compute(f"MAX{p}", talib.MAX, {"values": values}, {"timeperiod": p})[0]


def MIN(values: Series, period: int = 30) -> Any:  # noqa: N802
    """Lowest value over the last ``period`` bars."""
    p = _period(period, "period", 2)
    return _compute(f"MIN{p}", talib.MIN, {"values": values}, {"timeperiod": p})[0]


def STDDEV(values: Series, period: int = 5, nbdev: float = 1.0) -> Any:  # noqa: N802
    """Population standard deviation (ddof 0) of the last ``period`` values × ``nbdev``."""
    p = _period(period, "period", 2)
    params = {"timeperiod": p, "nbdev": _number(nbdev, "nbdev")}
    return _compute(f"STDDEV{p}", talib.STDDEV, {"values": values}, params)[0]


def ATR(high: Series, low: Series, close: Series, period: int = 14) -> Any:  # noqa: N802
    """Wilder's average true range."""
    p = _period(period, "period", 1)
    inputs = {"high": high, "low": low, "close": close}
    return _compute(f"ATR{p}", talib.ATR, inputs, {"timeperiod": p})[0]


def ADX(high: Series, low: Series, close: Series, period: int = 14) -> Any:  # noqa: N802
    """Wilder's average directional index."""
    p = _period(period, "period", 2)
    inputs = {"high": high, "low": low, "close": close}
    return _compute(f"ADX{p}", talib.ADX, inputs, {"timeperiod": p})[0]


def CCI(high: Series, low: Series, close: Series, period: int = 14) -> Any:  # noqa: N802
    """Commodity channel index."""
    p = _period(period, "period", 2)
    inputs = {"high": high, "low": low, "close": close}
    return _compute(f"CCI{p}", talib.CCI, inputs, {"timeperiod": p})[0]


def BBANDS(  # noqa: N802
    values: Series, period: int = 20, nbdevup: float = 2.0, nbdevdn: float = 2.0
) -> Bands:
    """Bollinger bands: SMA ± ``nbdev`` population standard deviations."""
    p = _period(period, "period", 2)
    params = {
        "timeperiod": p,
        "nbdevup": _number(nbdevup, "nbdevup"),
        "nbdevdn": _number(nbdevdn, "nbdevdn"),
        "matype": 0,
    }
    return Bands(*_compute(f"BBANDS{p}", talib.BBANDS, {"values": values}, params))


def MACD(values: Series, fast: int = 12, slow: int = 26, signal: int = 9) -> Macd:  # noqa: N802  # noqa: N802
    """MACD line (EMA fast − EMA slow), its signal EMA and the histogram."""
    f = _period(fast, "fast", 2)
    s = _period(slow, "slow", 2)
    g = _period(signal, "signal", 1)
    if f >= s:
        raise ConfigError(f"fast: must be below slow ({s}), got {f!r}")
    params = {"fastperiod": f, "slowperiod": s, "signalperiod": g}
    return Macd(*_compute("MACD", talib.MACD, {"values": values}, params))


def STOCH(  # noqa: N802
    high: Series, low: Series, close: Series, fastk: int = 5, slowk: int = 3, slowd: int = 3
) -> Stoch:
    """Slow stochastic oscillator (%K smoothed by ``slowk``, %D by ``slowd``, simple means)."""
    params = {
        "fastk_period": _period(fastk, "fastk", 1),
        "slowk_period": _period(slowk, "slowk", 1),
        "slowk_matype": 0,
        "slowd_period": _period(slowd, "slowd", 1),
        "slowd_matype": 0,
    }
    inputs = {"high": high, "low": low, "close": close}
    return Stoch(*_compute("STOCH", talib.STOCH, inputs, params))


def crossover(a: Series, b: Series | float) -> Any:
    """+1 on a bar where ``a`` crosses above ``b`` (a > b now, a ≤ b on the bar before), −1
    where it crosses below, 0 otherwise (and on bars where either is NaN)."""
    left = _array(a, "a")
    right = np.broadcast_to(
        np.float64(b) if isinstance(b, int | float) else _array(b, "b"), left.shape
    )
    out = np.zeros(left.shape[0], dtype=np.float64)
    if left.shape[0] > 1:
        now_above = left[1:] > right[1:]
        now_below = left[1:] < right[1:]
        was_above = left[:-1] > right[:-1]
        was_below = left[:-1] < right[:-1]
        out[1:][now_above & ~was_above & ~np.isnan(left[:-1] - right[:-1])] = 1.0
        out[1:][now_below & ~was_below & ~np.isnan(left[:-1] - right[:-1])] = -1.0
    if isinstance(a, Line):
        return a.derive(out, f"crossover({a.name})")
    if isinstance(a, pd.Series):
        return pd.Series(out, index=a.index, name="crossover")
    return out
