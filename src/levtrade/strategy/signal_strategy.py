"""FreqTrade-style vectorised strategies: indicators and signals on a DataFrame per symbol.

Subclass :class:`SignalStrategy`, declare FreqTrade's attributes (``stoploss``,
``minimal_roi``, ``trailing_stop``, ...) and fill ``enter_long``/``exit_long`` (and
``enter_short``/``exit_short`` with ``can_short``) in ``populate_entry_trend`` /
``populate_exit_trend``. :meth:`SignalStrategy.to_signals` runs the methods on every symbol of
the market data and returns the :class:`~levtrade.strategy.signals.Signals` table that both
backtest engines execute (docs/backtest.md, "Signal strategies"; docs/strategies.md)::

    class SmaCross(SignalStrategy):
        stoploss = -0.10
        minimal_roi = {"0": 0.05}

        def populate_indicators(self, dataframe, metadata):
            dataframe["fast"] = talib.SMA(dataframe["close"], 10)
            dataframe["slow"] = talib.SMA(dataframe["close"], 30)
            return dataframe

        def populate_entry_trend(self, dataframe, metadata):
            dataframe["enter_long"] = dataframe["fast"] > dataframe["slow"]
            return dataframe

        def populate_exit_trend(self, dataframe, metadata):
            dataframe["exit_long"] = dataframe["fast"] < dataframe["slow"]
            return dataframe
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from levtrade.data import MarketData, Portfolio
from levtrade.data._types import BoolArray, FloatArray
from levtrade.data.timeframes import format_timeframe, parse_timeframe
from levtrade.errors import ConfigError, StrategyError
from levtrade.margin.tiers import TierTable
from levtrade.spec import BacktestConfig, RunSpec, resolve
from levtrade.strategy.signals import SignalRules, Signals, SymbolSignals

__all__ = ["REFUSED_CALLBACKS", "SignalStrategy", "StrategyError", "max_leverage_for_stake"]

REFUSED_CALLBACKS = (
    "custom_stoploss",
    "custom_exit",
    "custom_entry_price",
    "custom_exit_price",
    "confirm_trade_entry",
    "confirm_trade_exit",
    "adjust_trade_position",
    "custom_roi",
)
"""FreqTrade callbacks that change a backtest's trades and that levtrade does not call: a
strategy defining one is refused by name (``custom_stoploss`` only with
``use_custom_stoploss``)."""


def max_leverage_for_stake(tiers: TierTable, stake: float) -> float:
    """Largest leverage ``L`` whose notional ``stake·L`` the tier table allows (FreqTrade's
    ``get_max_leverage``): max over tiers of ``min(max_leverage, cap/stake)`` for the tiers
    that notional can reach."""
    if not (math.isfinite(stake) and stake > 0.0):
        raise ConfigError(f"stake: must be > 0, got {stake!r}")
    best = 0.0
    for tier in tiers.tiers:
        leverage = min(tier.max_leverage, tier.cap / stake)
        if stake * leverage >= tier.floor:
            best = max(best, leverage)
    return best


class SignalStrategy:
    """Base class of FreqTrade-style strategies (see the module docstring).

    Attributes follow FreqTrade: ``stoploss`` is a negative ratio of the stake,
    ``minimal_roi`` maps minutes since entry (int or str keys) to a profit ratio of the stake,
    ``startup_candle_count`` bars at the start of each symbol carry no signal (indicators warm
    up), ``timeframe`` (optional) must match the data's.
    """

    timeframe: ClassVar[str | None] = None
    can_short: ClassVar[bool] = False
    stoploss: ClassVar[float | None] = None
    minimal_roi: ClassVar[Mapping[int | str, float]] = {}
    trailing_stop: ClassVar[bool] = False
    trailing_stop_positive: ClassVar[float | None] = None
    trailing_stop_positive_offset: ClassVar[float] = 0.0
    trailing_only_offset_is_reached: ClassVar[bool] = False
    startup_candle_count: ClassVar[int] = 0
    plot_config: ClassVar[Mapping[str, Any]] = {}
    """FreqTrade's ``plot_config``: ``main_plot`` (indicators over the price) and
    ``subplots`` (one chart each), ``{column: {"color": ...}}`` per indicator; the HTML report
    draws them."""
    analyzed: dict[str, pd.DataFrame]
    """Each pair's populated DataFrame of the last :meth:`to_signals` (FreqTrade's analyzed
    dataframe): the report draws its indicator columns."""
    use_exit_signal: ClassVar[bool] = True
    ignore_roi_if_entry_signal: ClassVar[bool] = False
    exit_profit_only: ClassVar[bool] = False
    exit_profit_offset: ClassVar[float] = 0.0
    position_adjustment_enable: ClassVar[bool] = False
    max_entry_position_adjustment: ClassVar[int] = -1
    use_custom_stoploss: ClassVar[bool] = False
    protections: ClassVar[Any] = ()

    _populate_methods: ClassVar[tuple[str, str, str]] = (
        "populate_indicators",
        "populate_entry_trend",
        "populate_exit_trend",
    )
    """The methods that fill the frame, in order."""
    _signals_required: ClassVar[bool] = True
    """Whether a signal column the populate methods did not set is an error (else all 0)."""

    # -- the strategy's methods (FreqTrade names and signatures) ------------------------------

    def populate_indicators(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        """Add indicator columns; the default adds none."""
        return dataframe

    def populate_entry_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        """Set ``enter_long`` (and ``enter_short``; optionally ``enter_tag``)."""
        raise NotImplementedError(f"{type(self).__name__} must define populate_entry_trend")

    def populate_exit_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        """Set ``exit_long`` (and ``exit_short``)."""
        raise NotImplementedError(f"{type(self).__name__} must define populate_exit_trend")

    def leverage(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        proposed_leverage: float,
        max_leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> float:
        """Leverage of an entry (called only when overridden; else the run's default).

        FreqTrade's signature; every argument is passed by keyword. ``entry_tag`` is the
        ``enter_tag`` column at the entry bar (None without the column or a tag there). A
        method written without ``entry_tag`` and without ``**kwargs`` (levtrade's earlier
        signature) is called without it."""
        return proposed_leverage

    def custom_stake_amount(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        proposed_stake: float,
        min_stake: float | None,
        max_stake: float,
        leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs: Any,
    ) -> float:
        """Margin of an entry (called only when overridden; else the run's stake)."""
        return proposed_stake

    # -- running it -------------------------------------------------------------------------

    def rules(self) -> SignalRules:
        """The exits the attributes declare, as :class:`SignalRules`."""
        roi: dict[int, float] = {}
        for key, ratio in dict(self.minimal_roi).items():
            try:
                minutes = int(key)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"minimal_roi: keys are minutes since entry, got {key!r}"
                ) from None
            roi[minutes] = float(ratio)
        self.check_supported()
        return SignalRules(
            use_exit_signal=bool(self.use_exit_signal),
            ignore_roi_if_entry_signal=bool(self.ignore_roi_if_entry_signal),
            can_short=bool(self.can_short),
            stoploss=None if self.stoploss is None else float(self.stoploss),
            trailing_stop=bool(self.trailing_stop),
            trailing_stop_positive=(
                None if self.trailing_stop_positive is None else float(self.trailing_stop_positive)
            ),
            trailing_stop_positive_offset=float(self.trailing_stop_positive_offset),
            trailing_only_offset_is_reached=bool(self.trailing_only_offset_is_reached),
            minimal_roi=roi,
        )

    def check_supported(self) -> None:
        """Refuse, naming it, each FreqTrade setting or callback that would change the trades
        and that the engines do not run (:data:`REFUSED_CALLBACKS`; ``exit_profit_only``,
        ``position_adjustment_enable``, ``protections``)."""
        name = type(self).__name__
        if self.exit_profit_only:
            raise ConfigError(
                f"exit_profit_only: {name} sets it; levtrade does not hold exit signals until "
                "a profit (set exit_profit_only = False)"
            )
        if self.position_adjustment_enable:
            raise ConfigError(
                f"position_adjustment_enable: {name} sets it; levtrade does not run "
                "adjust_trade_position (DCA): one entry per trade"
            )
        if self.protections:
            raise ConfigError(
                f"protections: {name} declares {len(list(self.protections))}; levtrade does not "
                "run protections (pair locks); remove them to backtest"
            )
        for method in REFUSED_CALLBACKS:
            if method == "custom_stoploss" and not self.use_custom_stoploss:
                continue
            if callable(getattr(type(self), method, None)):
                raise ConfigError(
                    f"{method}: {name} defines it; levtrade does not call it, and without it "
                    "the trades would differ from the strategy's"
                )

    def to_signals(
        self, data: MarketData | Portfolio, spec: RunSpec | BacktestConfig | None = None
    ) -> Signals:
        """Run the strategy on every symbol of ``data`` and return its signal table.

        ``spec`` is the run the callbacks are asked about (a resolved :class:`RunSpec`, or
        settings resolved here; default ``BacktestConfig()``): its tier tables give
        ``max_leverage`` at the proposed stake's notional, its ``stake_amount`` is the proposed
        stake (``"unlimited"``: wallet × tradable_balance_ratio / max_open_trades) and its
        ``leverage`` the proposed leverage.
        """
        spec = resolve(BacktestConfig() if spec is None else spec, data.symbols)
        if self.timeframe is not None and parse_timeframe(self.timeframe) != data.timeframe_ms:
            raise ConfigError(
                f"timeframe: {type(self).__name__} is written for {self.timeframe}, the data is "
                f"{format_timeframe(data.timeframe_ms)}"
            )
        if not (isinstance(self.startup_candle_count, int) and self.startup_candle_count >= 0):
            raise ConfigError(
                f"startup_candle_count: must be a whole number ≥ 0, got "
                f"{self.startup_candle_count!r}"
            )
        rules = self.rules()
        self._clamps: dict[str, tuple[int, float, float]] = {}
        bars = len(data)
        by_symbol: dict[str, SymbolSignals] = {}
        self.analyzed = {}
        if isinstance(data, MarketData):
            frame = _frame(data.timestamps, data.open, data.high, data.low, data.close, data.volume)
            rows = np.arange(bars)
            by_symbol[data.symbol] = self._symbol(data.symbol, frame, rows, bars, data, spec)
        else:
            for j, symbol in enumerate(data.symbols):
                rows = np.flatnonzero(data.active[:, j])
                frame = _frame(
                    data.timestamps[rows],
                    data.open[rows, j],
                    data.high[rows, j],
                    data.low[rows, j],
                    data.close[rows, j],
                    data.volume[rows, j],
                )
                by_symbol[symbol] = self._symbol(symbol, frame, rows, bars, data, spec)
        return Signals(by_symbol, rules)

    def _symbol(
        self,
        symbol: str,
        frame: pd.DataFrame,
        rows: np.ndarray[Any, np.dtype[np.intp]],
        bars: int,
        data: MarketData | Portfolio,
        spec: RunSpec,
    ) -> SymbolSignals:
        metadata = {"pair": symbol, "timeframe": format_timeframe(data.timeframe_ms)}
        dates = frame["date"].copy()
        for method in self._populate_methods:
            frame = self._call_populate(method, frame, metadata, dates)
        self.analyzed[symbol] = frame
        names = ["enter_long", "exit_long"]
        if self.can_short:
            names += ["enter_short", "exit_short"]
        flags = {
            name: self._flags(frame, name, symbol, required=self._signals_required)
            for name in names
        }
        for name in ("enter_short", "exit_short"):
            flags.setdefault(name, self._flags(frame, name, symbol, required=False))
        lev = self._numbers(frame, "leverage", symbol)
        stake = self._numbers(frame, "stake", symbol)
        warmup = min(self.startup_candle_count, len(frame))
        for values in flags.values():
            values[:warmup] = False
        self._callbacks(symbol, frame, flags, lev, stake, data, spec)
        arrays: dict[str, BoolArray | FloatArray] = {}
        for name, flag in flags.items():
            arrays[name] = np.zeros(bars, np.bool_)
            arrays[name][rows] = flag
        for name, number in (("leverage", lev), ("stake", stake)):
            arrays[name] = np.full(bars, np.nan)
            arrays[name][rows] = number
        return SymbolSignals.from_arrays(bars, **arrays)

    def _call_populate(
        self, method: str, frame: pd.DataFrame, metadata: dict[str, Any], dates: pd.Series
    ) -> pd.DataFrame:
        name = f"{type(self).__name__}.{method}"
        try:
            out = getattr(self, method)(frame, metadata)
        except Exception as exc:
            raise StrategyError(f"{name} raised on {metadata['pair']}: {exc!r}") from exc
        if not isinstance(out, pd.DataFrame):
            raise StrategyError(
                f"{name} must return the DataFrame, got {type(out).__name__} ({metadata['pair']})"
            )
        if len(out) != len(dates) or "date" not in out.columns:
            raise StrategyError(
                f"{name} must return the DataFrame with its {len(dates)} rows and 'date' column "
                f"({metadata['pair']}: got {len(out)} rows)"
            )
        if not out["date"].reset_index(drop=True).equals(dates):
            raise StrategyError(
                f"{name} changed the 'date' column or the row order ({metadata['pair']})"
            )
        return out

    def _flags(self, frame: pd.DataFrame, name: str, symbol: str, *, required: bool) -> BoolArray:
        if name not in frame.columns:
            if required:
                method = (
                    "populate_entry_trend" if name.startswith("enter") else ("populate_exit_trend")
                )
                raise StrategyError(
                    f"{type(self).__name__}.{method} did not set column {name!r} for {symbol} "
                    "(set it to 0 where there is no signal)"
                )
            return np.zeros(len(frame), dtype=np.bool_)
        try:
            values = pd.to_numeric(frame[name], errors="raise").to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise StrategyError(
                f"column {name!r} of {type(self).__name__} must hold 0/1 or booleans for "
                f"{symbol}: {exc}"
            ) from exc
        return np.asarray(values == 1.0, dtype=np.bool_)

    def _numbers(self, frame: pd.DataFrame, name: str, symbol: str) -> FloatArray:
        if name not in frame.columns:
            return np.full(len(frame), np.nan)
        try:
            return pd.to_numeric(frame[name], errors="raise").to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise StrategyError(
                f"column {name!r} of {type(self).__name__} must be numeric for {symbol}: {exc}"
            ) from exc

    def _overrides(self, method: str) -> bool:
        return getattr(type(self), method) is not getattr(SignalStrategy, method)

    def _callbacks(
        self,
        symbol: str,
        frame: pd.DataFrame,
        flags: dict[str, BoolArray],
        lev: FloatArray,
        stake: FloatArray,
        data: MarketData | Portfolio,
        spec: RunSpec,
    ) -> None:
        """Fill ``leverage``/``stake`` on entry bars from the callbacks a strategy overrides.

        One-way: a bar with both entries enters nothing, so only single entries are asked.
        Hedge: each entry is asked with its side; both entries of a bar share the bar's
        ``leverage``/``stake``, so their answers must agree; a stake refused for one side
        drops only that side's entry."""
        with_leverage = self._overrides("leverage")
        with_stake = self._overrides("custom_stake_amount")
        if not (with_leverage or with_stake):
            return
        can_short = bool(self.can_short)
        config = spec.config
        if config.position_mode == "hedge":
            long = flags["enter_long"].copy()
            short = flags["enter_short"] & can_short
        else:
            long = flags["enter_long"] & ~flags["enter_short"]
            short = flags["enter_short"] & ~flags["enter_long"] & can_short
        instrument = spec.instrument(symbol)
        table = spec.tier_table(instrument) if with_leverage else None
        wallet = config.wallet
        if isinstance(config.stake_amount, str):
            slots = config.max_open_trades or 1
            default_stake = wallet * config.tradable_balance_ratio / slots
        else:
            default_stake = config.stake_amount
        step = pd.Timedelta(milliseconds=data.timeframe_ms)
        tags = frame["enter_tag"] if "enter_tag" in frame.columns else None
        # FreqTrade asks at the entry: the entry candle's open time and open price
        opens = frame["open"].to_numpy(dtype=np.float64)
        tag_kwarg = with_leverage and _accepts(self.leverage, "entry_tag")
        for i in np.flatnonzero(long | short):
            when = (frame["date"].iloc[i] + step).to_pydatetime()
            if i + 1 >= len(opens):
                continue  # the last candle's entry never fills
            rate = float(opens[i + 1])
            tag = _tag(tags, int(i))
            proposed_stake = default_stake if math.isnan(stake[i]) else float(stake[i])
            answers: dict[str, tuple[float, float]] = {}
            for side, entering in (("long", long), ("short", short)):
                if not entering[i]:
                    continue
                proposed_lev = config.leverage if math.isnan(lev[i]) else float(lev[i])
                if table is not None:
                    ceiling = max_leverage_for_stake(table, proposed_stake)
                    extra = {"entry_tag": tag} if tag_kwarg else {}
                    chosen = self._callback(
                        "leverage",
                        symbol,
                        pair=symbol,
                        current_time=when,
                        current_rate=rate,
                        proposed_leverage=proposed_lev,
                        max_leverage=ceiling,
                        side=side,
                        **extra,
                    )
                    if chosen is None or not (chosen > 0.0 and math.isfinite(chosen)):
                        raise StrategyError(
                            f"{type(self).__name__}.leverage must return a leverage > 0 (FreqTrade "
                            f"raises one below 1 to 1), got {chosen!r} for {symbol} at {when}"
                        )
                    if chosen > ceiling:
                        self._clamped(symbol, chosen, ceiling)
                    proposed_lev = min(max(chosen, 1.0), ceiling)
                chosen_stake = proposed_stake
                if with_stake:
                    min_stake = (
                        instrument.min_notional / proposed_lev if instrument.min_notional else None
                    )
                    chosen = self._callback(
                        "custom_stake_amount",
                        symbol,
                        pair=symbol,
                        current_time=when,
                        current_rate=rate,
                        proposed_stake=proposed_stake,
                        min_stake=min_stake,
                        max_stake=wallet,
                        leverage=proposed_lev,
                        entry_tag=tag,
                        side=side,
                    )
                    if chosen is not None and not (chosen >= 0.0 and math.isfinite(chosen)):
                        raise StrategyError(
                            f"{type(self).__name__}.custom_stake_amount must return a stake ≥ 0 "
                            f"(0 or None: no entry), got {chosen!r} for {symbol} at {when}"
                        )
                    if not chosen or (min_stake and chosen < min_stake):
                        flags["enter_long" if side == "long" else "enter_short"][i] = False
                        continue
                    chosen_stake = min(chosen, wallet)
                answers[side] = (proposed_lev, chosen_stake)
            if not answers:
                continue
            if len(set(answers.values())) > 1:
                raise StrategyError(
                    f"{type(self).__name__}: the long and short entries of {symbol} at "
                    f"{frame['date'].iloc[i]} got (leverage, stake) {answers['long']} and "
                    f"{answers['short']}; in hedge mode both entries of a bar share its "
                    "leverage and stake"
                )
            ((chosen_lev, chosen_stake),) = set(answers.values())
            if table is not None:
                lev[i] = chosen_lev
            if with_stake:
                stake[i] = chosen_stake

    def _clamped(self, symbol: str, asked: float, ceiling: float) -> None:
        """Record a leverage() answer above the tier maximum, lowered to it as FreqTrade does."""
        count, highest, lowest = self._clamps.get(symbol, (0, asked, ceiling))
        self._clamps[symbol] = (count + 1, max(highest, asked), min(lowest, ceiling))

    @property
    def callback_notes(self) -> list[str]:
        """What the last :meth:`to_signals` changed of the callbacks' answers, for the run's
        summary: leverage above the tier maximum, lowered to it (FreqTrade's clamp)."""
        return [
            f"{type(self).__name__}.leverage asked up to {highest:g}x for {symbol}, above the "
            f"tier maximum; {count} entr{'y' if count == 1 else 'ies'} clamped to it (down to "
            f"{lowest:g}x), as FreqTrade does"
            for symbol, (count, highest, lowest) in getattr(self, "_clamps", {}).items()
        ]

    def _callback(self, method: str, symbol: str, **kwargs: Any) -> float | None:
        name = f"{type(self).__name__}.{method}"
        try:
            value = getattr(self, method)(**kwargs)
        except Exception as exc:
            raise StrategyError(f"{name} raised on {symbol}: {exc!r}") from exc
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise StrategyError(f"{name} must return a number, got {value!r} ({symbol})")
        return float(value)


def _tag(tags: pd.Series | None, i: int) -> str | None:
    """The ``enter_tag`` at row ``i`` as text (None without the column, or where it is
    missing: None/NaN)."""
    if tags is None:
        return None
    value = tags.iloc[i]
    try:
        missing = bool(pd.isna(value))
    except (TypeError, ValueError):  # not a scalar
        missing = False
    return None if missing else str(value)


def _accepts(method: Any, name: str) -> bool:
    """Whether ``method`` takes keyword ``name`` (by name, or through ``**kwargs``)."""
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD
        or (p.name == name and p.kind is not inspect.Parameter.POSITIONAL_ONLY)
        for p in parameters
    )


def _frame(
    stamps: np.ndarray[Any, np.dtype[np.int64]],
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    volume: FloatArray,
) -> pd.DataFrame:
    """FreqTrade's candle DataFrame: ``date`` (UTC), open, high, low, close, volume."""
    return pd.DataFrame(
        {
            "date": pd.to_datetime(stamps, unit="ms", utc=True),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
        }
    )
