"""Signals: the table a signal strategy produces and both engines execute.

A signal table holds, per symbol and bar of the market data's axis, the FreqTrade-style columns
``enter_long``, ``exit_long``, ``enter_short``, ``exit_short`` and optional per-entry
``leverage`` and ``stake`` (NaN = the run's default). ``SignalRules`` carries the exits a
FreqTrade strategy declares as attributes. Semantics: docs/backtest.md, "Signal strategies".
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from levtrade.errors import ConfigError

BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]

SIGNAL_COLUMNS = ("enter_long", "exit_long", "enter_short", "exit_short")


def _lowest_set(values: FloatArray) -> float:
    """The lowest value that is not NaN (NaN if there is none), by one reduction without a
    mask. A column of one value repeated (a zero stride) is read once."""
    if values.ndim == 1 and values.strides == (0,):
        values = values[:1]
    return float(np.fmin.reduce(values)) if values.size else math.nan


def _frozen(array: np.ndarray[Any, Any]) -> bool:
    """Whether nothing can write ``array``'s values: it is read-only, and so is each array it
    is a view of, down to the one owning the memory (memory held by another kind of object,
    a buffer that may be writable, does not count). Such flags can be shared, not copied."""
    while not array.flags.writeable:
        base = array.base
        if base is None:
            return True
        if not isinstance(base, np.ndarray):
            return False
        array = base
    return False


def unset_column(bars: int) -> FloatArray:
    """``bars`` NaN values (no per-bar leverage or stake) held in no per-bar memory: one
    value seen through a zero stride, read-only."""
    return np.broadcast_to(np.float64(math.nan), (bars,))


def _unless(
    flags: BoolArray,
    first: BoolArray | None = None,
    second: BoolArray | None = None,
    *,
    keep: bool = True,
) -> BoolArray:
    """A new array: ``flags`` where neither blocker is set (``flags & ~first & ~second``;
    ``None`` blocks nothing), all False without ``keep``. For booleans ``a & ~b`` is
    ``a > b``, so this takes one array and no inverted temporaries."""
    if not keep:
        return np.zeros(flags.shape, dtype=np.bool_)
    if first is None:
        return flags.copy()
    if second is None:
        return np.greater(flags, first)
    blocked = np.logical_or(first, second)
    return np.greater(flags, blocked, out=blocked)


@dataclass(frozen=True)
class SymbolSignals:
    """One symbol's signals, aligned to the market data's bars."""

    enter_long: BoolArray
    exit_long: BoolArray
    enter_short: BoolArray
    exit_short: BoolArray
    leverage: FloatArray
    stake: FloatArray

    def __post_init__(self) -> None:
        n = self.enter_long.shape[0]
        for name in (*SIGNAL_COLUMNS, "leverage", "stake"):
            array = getattr(self, name)
            if array.ndim != 1 or array.shape[0] != n:
                raise ConfigError(
                    f"signals.{name}: expected {n} bars like enter_long, got shape {array.shape}"
                )
        lowest = _lowest_set(self.leverage)
        if lowest < 1.0:
            raise ConfigError(f"signals.leverage: must be ≥ 1, got {lowest!r}")
        lowest = _lowest_set(self.stake)
        if lowest <= 0.0:
            raise ConfigError(f"signals.stake: must be > 0, got {lowest!r}")

    @property
    def bars(self) -> int:
        return int(self.enter_long.shape[0])

    def executed(self, rules: SignalRules, *, hedge: bool = False) -> SymbolSignals:
        """The signals as both engines act on them. One-way mode follows FreqTrade's rules
        for a candle with several signals: an entry with its side's exit, or with the other
        side's entry (shorts counting only with ``can_short``), enters nothing; an exit with
        its side's entry exits nothing (the strategy holds). Hedge mode keeps its own rule
        (an exit and an entry of a leg on one candle reopen it, docs/backtest.md). Without
        ``use_exit_signal`` no exit signal counts."""
        keep_exits = rules.use_exit_signal
        if hedge:
            return replace(
                self,
                exit_long=_unless(self.exit_long, keep=keep_exits),
                exit_short=_unless(self.exit_short, keep=keep_exits),
            )
        shorts = rules.can_short
        return replace(
            self,
            enter_long=_unless(
                self.enter_long, self.exit_long, self.enter_short if shorts else None
            ),
            exit_long=_unless(self.exit_long, self.enter_long, keep=keep_exits),
            enter_short=_unless(self.enter_short, self.exit_short, self.enter_long, keep=shorts),
            exit_short=_unless(self.exit_short, self.enter_short, keep=keep_exits),
        )

    @classmethod
    def from_arrays(
        cls,
        bars: int,
        *,
        enter_long: object = None,
        exit_long: object = None,
        enter_short: object = None,
        exit_short: object = None,
        leverage: object = None,
        stake: object = None,
    ) -> SymbolSignals:
        """Build from array-likes; a missing signal column is all False, a missing
        ``leverage``/``stake`` all NaN. The table keeps what it was given: flags are copied,
        except a boolean array nothing can write (read-only, and so is every array it is a
        view of), which is shared as it is (:func:`_frozen`)."""

        def flags(value: object, name: str) -> BoolArray:
            if value is None:
                return np.zeros(bars, dtype=np.bool_)
            array = np.asarray(value)
            if array.dtype == np.bool_ and _frozen(array):
                return array
            if array.dtype.kind == "f" and np.isnan(array).any():
                array = np.nan_to_num(array, nan=0.0)
            if array.dtype.kind not in "biuf":
                raise ConfigError(f"signals.{name}: expected booleans, got dtype {array.dtype}")
            return array.astype(np.bool_)

        def numbers(value: object) -> FloatArray:
            if value is None:
                return unset_column(bars)
            return np.asarray(value, dtype=np.float64)

        return cls(
            enter_long=flags(enter_long, "enter_long"),
            exit_long=flags(exit_long, "exit_long"),
            enter_short=flags(enter_short, "enter_short"),
            exit_short=flags(exit_short, "exit_short"),
            leverage=numbers(leverage),
            stake=numbers(stake),
        )


@dataclass(frozen=True)
class SignalRules:
    """Exits declared with the signals (FreqTrade's strategy attributes)."""

    can_short: bool = False
    stoploss: float | None = None
    """Negative ratio of the stake, e.g. -0.10: the stop sits |stoploss|/leverage from entry."""
    trailing_stop: bool = False
    trailing_stop_positive: float | None = None
    trailing_stop_positive_offset: float = 0.0
    trailing_only_offset_is_reached: bool = False
    minimal_roi: Mapping[int, float] = field(default_factory=dict)
    """Minutes since entry → profit ratio of the stake, net of both fees and the funding
    booked so far, that exits the trade (FreqTrade's ``minimal_roi``)."""
    use_exit_signal: bool = True
    """False: the exit columns are not acted on (exits by stop, ROI, liquidation only)."""
    ignore_roi_if_entry_signal: bool = False
    """True: no ROI exit on a bar whose previous candle set the trade side's entry signal."""

    def __post_init__(self) -> None:
        if self.stoploss is not None and not (-1.0 <= self.stoploss < 0.0):
            raise ConfigError(f"stoploss: must be in [-1, 0), got {self.stoploss!r}")
        if self.trailing_stop_positive is not None and not self.trailing_stop_positive > 0:
            raise ConfigError(
                f"trailing_stop_positive: must be > 0, got {self.trailing_stop_positive!r}"
            )
        for minutes, ratio in self.minimal_roi.items():
            if minutes < 0:
                raise ConfigError(f"minimal_roi: minutes must be ≥ 0, got {minutes!r}")
            if not math.isfinite(ratio):
                raise ConfigError(f"minimal_roi[{minutes}]: must be finite, got {ratio!r}")


@dataclass(frozen=True)
class Signals:
    """Signals for every symbol of a run, plus the exit rules."""

    by_symbol: Mapping[str, SymbolSignals]
    rules: SignalRules = SignalRules()
