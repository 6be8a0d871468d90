"""``IStrategy``: FreqTrade's strategy interface on levtrade's signal strategy.

A FreqTrade strategy file subclasses it unchanged: its attributes (``minimal_roi``,
``stoploss``, ``trailing_*``, ``timeframe``, ``can_short``, ``startup_candle_count``,
``use_exit_signal``, ``ignore_roi_if_entry_signal``, ...), hyperopt parameters (their values
from ``buy_params``/``sell_params`` when the class declares them), ``@informative`` methods,
``informative_pairs()`` with ``self.dp``, and the v2 names ``populate_buy_trend``/
``populate_sell_trend`` with ``buy``/``sell`` columns. What runs is
:class:`~levtrade.strategy.signal_strategy.SignalStrategy`'s, so both engines execute it; the
settings levtrade cannot honour are refused there, naming them."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, NamedTuple

import numpy as np
import pandas as pd

from levtrade.data import MarketData, Portfolio
from levtrade.data.resample import resample_arrays
from levtrade.data.timeframes import format_timeframe, parse_timeframe
from levtrade.errors import ConfigError
from levtrade.freqtrade.helpers import merge_informative_pair
from levtrade.freqtrade.parameters import BaseParameter
from levtrade.model.instrument import Instrument
from levtrade.spec import BacktestConfig, RunSpec
from levtrade.strategy.signal_strategy import SignalStrategy
from levtrade.strategy.signals import Signals

__all__ = ["DataProvider", "IStrategy", "InformativeData", "informative"]

PopulateIndicators = Callable[[Any, pd.DataFrame, dict[str, Any]], pd.DataFrame]


class InformativeData(NamedTuple):
    """What one ``@informative`` declares."""

    asset: str
    timeframe: str
    fmt: str | Callable[..., str] | None
    ffill: bool


def informative(
    timeframe: str,
    asset: str = "",
    fmt: str | Callable[..., str] | None = None,
    *,
    candle_type: str | None = None,
    ffill: bool = True,
) -> Callable[[PopulateIndicators], PopulateIndicators]:
    """Mark ``populate_indicators_<tf>(self, dataframe, metadata)`` as the indicators of an
    informative frame (``timeframe``, of ``asset`` or the strategy's own pair), merged into
    the strategy's frame before ``populate_indicators`` as FreqTrade does. Columns are named
    by ``fmt`` (default ``{column}_{timeframe}``, with ``{base}_{quote}_`` in front for
    another asset)."""
    if candle_type not in (None, "", "futures"):
        raise ConfigError(
            f"informative: candle_type {candle_type!r} is not available; informative frames "
            "are the run's trade candles"
        )

    def decorator(fn: PopulateIndicators) -> PopulateIndicators:
        declared: list[InformativeData] = list(getattr(fn, "_ft_informative", []))
        declared.append(InformativeData(asset, timeframe, fmt, ffill))
        fn._ft_informative = declared  # type: ignore[attr-defined]
        return fn

    return decorator


class DataProvider:
    """``self.dp`` in a backtest: the run's candles of any of its pairs, at the run's
    timeframe or a coarser one (aggregated from the run's candles on the UTC grid, as the
    venue forms them); the pairs; their markets."""

    runmode = "backtest"

    def __init__(self, data: MarketData | Portfolio, stake_currency: str | None) -> None:
        self._data = data
        self._stake_currency = stake_currency
        self._cache: dict[tuple[str, str], pd.DataFrame] = {}

    def current_whitelist(self) -> list[str]:
        return list(self._data.symbols)

    def market(self, pair: str) -> dict[str, Any] | None:
        """The pair's market (``base``, ``quote``, ``settle``, ``symbol``), None if unknown."""
        if pair not in self._data.symbols:
            return None
        instrument = Instrument.parse(pair)
        return {
            "symbol": pair,
            "base": instrument.base,
            "quote": instrument.quote,
            "settle": instrument.settle,
        }

    def get_pair_dataframe(
        self, pair: str, timeframe: str | None = None, candle_type: str = ""
    ) -> pd.DataFrame:
        """The candles of ``pair`` (``date``, OHLCV) at ``timeframe`` (default the run's)."""
        if candle_type not in ("", "futures"):
            raise ConfigError(
                f"dp.get_pair_dataframe: candle_type {candle_type!r} is not available; the run "
                "provides its trade candles"
            )
        step = self._data.timeframe_ms
        target = step if timeframe is None else parse_timeframe(timeframe)
        key = (pair, format_timeframe(target))
        if key in self._cache:
            return self._cache[key].copy()
        if pair not in self._data.symbols:
            raise ConfigError(
                f"informative pair {pair} is not in the run's pairs "
                f"({', '.join(self._data.symbols)}); add it to the pairs"
            )
        if target < step or target % step:
            raise ConfigError(
                f"informative timeframe {format_timeframe(target)}: must be the run's "
                f"{format_timeframe(step)} or a multiple of it"
            )
        market = self._data if isinstance(self._data, MarketData) else self._data[pair]
        rows = np.isfinite(market.close)
        stamps = market.timestamps[rows]
        prices = {
            "open": market.open[rows],
            "high": market.high[rows],
            "low": market.low[rows],
            "close": market.close[rows],
        }
        volume = market.volume[rows]
        if target != step:
            stamps, prices, resampled, _ = resample_arrays(stamps, prices, volume, step, target)
            assert resampled is not None
            volume = resampled
        frame = pd.DataFrame(
            {
                "date": pd.to_datetime(stamps, unit="ms", utc=True),
                **prices,
                "volume": volume,
            }
        )
        self._cache[key] = frame
        return frame.copy()


class IStrategy(SignalStrategy):
    """FreqTrade's strategy interface (module docstring)."""

    INTERFACE_VERSION: ClassVar[int] = 3
    process_only_new_candles: ClassVar[bool] = True
    use_custom_stoploss: ClassVar[bool] = False
    disable_dataframe_checks: ClassVar[bool] = False
    order_types: ClassVar[Mapping[str, Any]] = {}
    order_time_in_force: ClassVar[Mapping[str, Any]] = {}
    plot_config: ClassVar[Mapping[str, Any]] = {}
    buy_params: ClassVar[Mapping[str, Any]] = {}
    sell_params: ClassVar[Mapping[str, Any]] = {}
    protection_params: ClassVar[Mapping[str, Any]] = {}

    _populate_methods = ("advise_indicators", "populate_entry_trend", "populate_exit_trend")
    _signals_required = False

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = dict(config or {})
        self.dp: DataProvider | None = None
        self._informative: list[tuple[InformativeData, PopulateIndicators]] = []
        for name in dir(type(self)):
            value = getattr(type(self), name, None)
            if isinstance(value, BaseParameter):
                # each instance owns its parameters: a run's values never leak into another's
                own = copy.copy(value)
                own.name = name
                loaded = self._loaded_value(own)
                if loaded is not _MISSING:
                    own.set_value(loaded)
                setattr(self, name, own)
            elif callable(value) and hasattr(value, "_ft_informative"):
                for declared in value._ft_informative:
                    self._informative.append((declared, value))

    def _loaded_value(self, parameter: BaseParameter) -> Any:
        if not parameter.load:
            return _MISSING
        spaces = {
            "buy": self.buy_params,
            "sell": self.sell_params,
            "protection": self.protection_params,
        }
        table = spaces.get(parameter.category or "", {})
        return table.get(parameter.name or "", _MISSING)

    def parameters(self) -> dict[str, BaseParameter]:
        """The strategy's hyperopt parameters by attribute name."""
        return {k: v for k, v in vars(self).items() if isinstance(v, BaseParameter)}

    def set_parameter(self, name: str, value: Any) -> bool:
        """Set hyperopt parameter ``name`` to ``value``; False when it is no parameter."""
        parameter = vars(self).get(name)
        if not isinstance(parameter, BaseParameter):
            return False
        parameter.set_value(value)
        return True

    def informative_pairs(self) -> list[tuple[str, str]]:
        """FreqTrade's hook: the (pair, timeframe) frames ``self.dp`` should hold."""
        return []

    def to_signals(
        self, data: MarketData | Portfolio, spec: RunSpec | BacktestConfig | None = None
    ) -> Signals:
        stake_currency = self.config.get("stake_currency")
        self.dp = DataProvider(data, stake_currency)
        if not self.config:
            self.config = {"stake_currency": stake_currency, "timeframe": self.timeframe}
        return super().to_signals(data, spec)

    def advise_indicators(self, dataframe: pd.DataFrame, metadata: dict[str, Any]) -> pd.DataFrame:
        """The ``@informative`` frames merged in (in declaration order), then
        ``populate_indicators``: FreqTrade's order."""
        for declared, method in self._informative:
            dataframe = self._merge_informative(dataframe, metadata, declared, method)
        return self.populate_indicators(dataframe, metadata)

    def _merge_informative(
        self,
        dataframe: pd.DataFrame,
        metadata: dict[str, Any],
        declared: InformativeData,
        method: PopulateIndicators,
    ) -> pd.DataFrame:
        assert self.dp is not None
        asset = declared.asset
        if asset:
            stake = self.config.get("stake_currency") or Instrument.parse(metadata["pair"]).quote
            asset = asset.format(stake_currency=stake, stake=stake).upper()
        else:
            asset = metadata["pair"]
        market = self.dp.market(asset)
        if market is None:
            raise ConfigError(
                f"informative: market {asset} is not in the run's pairs "
                f"({', '.join(self.dp.current_whitelist())}); add it to the pairs"
            )
        fmt = declared.fmt
        if not fmt:
            fmt = "{column}_{timeframe}"
            if declared.asset:
                fmt = "{base}_{quote}_" + fmt
        frame = self.dp.get_pair_dataframe(asset, declared.timeframe)
        frame = method(self, frame, {"pair": asset, "timeframe": declared.timeframe})
        formatter = fmt if callable(fmt) else fmt.format
        names = {
            "BASE": str(market["base"]).upper(),
            "QUOTE": str(market["quote"]).upper(),
            "base": str(market["base"]).lower(),
            "quote": str(market["quote"]).lower(),
            "asset": asset,
            "timeframe": declared.timeframe,
        }
        frame = frame.rename(columns=lambda column: formatter(column=column, **names))
        date_column = formatter(column="date", **names)
        if date_column in dataframe.columns:
            raise ConfigError(
                f"informative: duplicate column name {date_column}; column names must be unique"
            )
        timeframe = metadata.get("timeframe") or self.timeframe
        return merge_informative_pair(
            dataframe, frame, str(timeframe), declared.timeframe, ffill=declared.ffill,
            append_timeframe=False, date_column=date_column,
        )  # fmt: skip

    def populate_entry_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        """FreqTrade v2's ``populate_buy_trend`` (``buy`` → ``enter_long``) when the strategy
        has only that."""
        legacy = getattr(self, "populate_buy_trend", None)
        if legacy is None:
            raise NotImplementedError(f"{type(self).__name__} must define populate_entry_trend")
        frame: pd.DataFrame = legacy(dataframe, metadata)
        if "buy" in frame.columns and "enter_long" not in frame.columns:
            frame = frame.rename(columns={"buy": "enter_long", "buy_tag": "enter_tag"})
        return frame

    def populate_exit_trend(
        self, dataframe: pd.DataFrame, metadata: dict[str, Any]
    ) -> pd.DataFrame:
        """FreqTrade v2's ``populate_sell_trend`` (``sell`` → ``exit_long``) when the
        strategy has only that."""
        legacy = getattr(self, "populate_sell_trend", None)
        if legacy is None:
            raise NotImplementedError(f"{type(self).__name__} must define populate_exit_trend")
        frame: pd.DataFrame = legacy(dataframe, metadata)
        if "sell" in frame.columns and "exit_long" not in frame.columns:
            frame = frame.rename(columns={"sell": "exit_long"})
        return frame


class _Missing:
    pass


_MISSING = _Missing()
