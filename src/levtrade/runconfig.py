"""The run configuration of ``levtrade backtest``: one TOML or JSON file, FreqTrade's keys included.

:class:`RunConfig` reads the file (``load_run_config``), :func:`prepare_run` resolves it into a
:class:`RunPlan` (the strategy loaded, the market data read and cut to the timerange, the
:class:`~levtrade.backtest.BacktestConfig` built) and :func:`execute` runs the plan. Every
problem a user can make — a typo in a key, a missing data file, a timerange without data, a pair
without funding data, a strategy that raises — is a :class:`~levtrade.errors.LevtradeError`
whose message is one line naming the key or file and the value; a strategy's own exception
becomes a :class:`StrategyFailure` carrying the strategy's part of the traceback.

Keys (docs/quickstart.md has the full list, docs/from-freqtrade.md the FreqTrade mapping):
FreqTrade's ``trading_mode``, ``margin_mode``, ``liquidation_buffer``, ``futures_funding_rate``,
``stake_amount``, ``stake_currency``, ``dry_run_wallet``, ``tradable_balance_ratio``,
``max_open_trades``, ``stoploss``, ``minimal_roi``, ``trailing_*``, ``timeframe``,
``timeframe_detail``, ``timerange``, ``pairs``/``pair_whitelist``, ``exchange``, ``fee``,
``datadir``, ``strategy``/``strategy_path``; levtrade's ``venue``, ``position_mode``,
``leverage``, ``engine``, ``data_format``, ``candles``/``mark``/``index``/``funding`` file
templates, ``coarse_mark`` (``"basis"`` accepts mark candles coarser than the trade candles,
docs/data.md), ``tiers_file``, ``tiers``, ``instruments``, ``outcome``, ``risk``, ``params``,
``report``, ``results_dir``.

Every run attaches the standard margin analyzers of :mod:`levtrade.risk`
(:func:`~levtrade.risk.margin_analyzers`, set by the ``[risk]`` table: ``margin_call_level``,
``thresholds``, ``atr_period``); their output lands in ``result.analyzers`` and from there in
the summary, the report and the exports (docs/risk.md).
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import hashlib
import importlib.util
import json
import math
import re
import string
import sys
import sysconfig
import tomllib
import traceback
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any, Literal, Protocol

import numpy as np
import pandas as pd
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

import levtrade
from levtrade.backtest.config import BacktestConfig, InstrumentOverrides, describe_error
from levtrade.backtest.engine import Engine
from levtrade.backtest.results import Analyzer, BacktestResult, run_analyzers
from levtrade.backtest.signal_exec import SignalDriver
from levtrade.data import (
    DEMO_SYMBOLS,
    MarketData,
    Portfolio,
    Store,
    demo_portfolio,
    format_ts,
    load_freqtrade,
    load_market,
    pair_to_filename,
    parse_timeframe,
)
from levtrade.data.errors import DataValidationError
from levtrade.errors import ConfigError, DataError, LevtradeError
from levtrade.model.instrument import Instrument
from levtrade.risk import margin_analyzers
from levtrade.strategy.base import EventDriver, Strategy
from levtrade.strategy.signal_io import read_signals
from levtrade.strategy.signal_strategy import SignalStrategy
from levtrade.strategy.signals import SignalRules, Signals, SymbolSignals
from levtrade.venues import load_tier_file, venue_name

__all__ = [
    "DEFAULT_REPORT",
    "DEFAULT_RESULTS",
    "DataFormat",
    "LoadedStrategy",
    "ProgressSink",
    "RiskSettings",
    "RunConfig",
    "RunOutcome",
    "RunPlan",
    "StrategyFailure",
    "Timerange",
    "execute",
    "load_run_config",
    "load_strategy",
    "parse_timerange",
    "prepare_run",
]

DEFAULT_REPORT = "levtrade-report.html"
"""Where ``levtrade backtest`` writes the HTML report unless told otherwise (current dir)."""
DEFAULT_RESULTS = "levtrade-results"
"""Where it writes the exported tables (current dir)."""
DEMO_PAIRS = ("BTC/USDT:USDT", "ETH/USDT:USDT")
DEMO_STRATEGY = "levtrade.templates.strategy:SmaCross"
"""The starter strategy (``levtrade init`` writes the same file) that the demo runs."""

DataFormat = Literal["freqtrade", "store", "files", "demo"]
FILE_TEMPLATES = {
    "candles": "{symbol}-{timeframe}-perp.parquet",
    "mark": "{symbol}-{timeframe}-mark.parquet",
    "index": None,
    "funding": "{symbol}-funding_rate.parquet",
}
"""Default file names of ``data_format = "files"``: the layout of Binance perpetuals exported
per symbol (``BTCUSDT-1h-perp.parquet``, ``BTCUSDT-1h-mark.parquet``,
``BTCUSDT-funding_rate.parquet``)."""
PLACEHOLDERS = ("pair", "symbol", "base", "quote", "settle", "timeframe")

FREQTRADE_IGNORED = frozenset(
    {
        "$schema",
        "add_config_files",
        "amend_last_stake_amount",
        "amount_reserve_percent",
        "api_server",
        "available_capital",
        "backtest_cache",
        "bot_name",
        "cancel_open_orders_on_exit",
        "dataformat_ohlcv",
        "dataformat_trades",
        "db_url",
        "discord",
        "dry_run",
        "edge",
        "entry_pricing",
        "exit_pricing",
        "exit_profit_offset",
        "exit_profit_only",
        "export",
        "exportfilename",
        "fiat_display_currency",
        "force_entry_enable",
        "freqai",
        "ignore_buying_expired_candle_after",
        "ignore_roi_if_entry_signal",
        "initial_state",
        "internals",
        "last_stake_amount_min_ratio",
        "max_entry_position_adjustment",
        "order_time_in_force",
        "order_types",
        "pairlists",
        "position_adjustment_enable",
        "process_only_new_candles",
        "protections",
        "recursive_strategy_search",
        "reduce_df_footprint",
        "telegram",
        "unfilledtimeout",
        "use_exit_signal",
        "user_data_dir",
        "webhook",
    }
)
"""FreqTrade settings that mean nothing to a levtrade backtest (bot, UI, live-order and
pairlist settings): accepted so a FreqTrade config loads, and listed as ignored."""
EXCHANGE_IGNORED = frozenset(
    {
        "ccxt_async_config",
        "ccxt_config",
        "ccxt_sync_config",
        "enable_ws",
        "key",
        "log_responses",
        "markets_refresh_interval",
        "only_from_ccxt",
        "outdated_offset",
        "password",
        "sandbox",
        "secret",
        "skip_open_order_update",
        "skip_pair_validation",
        "uid",
        "unknown_fee_rate",
        "walletAddress",
        "privateKey",
    }
)

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


# ============================================================================================
# The configuration model
# ============================================================================================


class OutcomeSettings(BaseModel):
    """Parameters of the venue's liquidation outcome model (``[outcome]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clearance_fee_rate: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] | None = None
    """Liquidation clearance fee as a fraction of the liquidated notional (venue's default)."""
    liquidation_slippage_bps: NonNegative = 0.0
    """Slippage of a market-close liquidation (Hyperliquid), in basis points."""


class RiskSettings(BaseModel):
    """The margin analyzers every run attaches (``[risk]``; docs/risk.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    margin_call_level: float = 1.5
    """A margin call is a bar whose margin level (equity ÷ maintenance margin) is below it."""
    thresholds: tuple[float, ...] = (2.0, 1.5, 1.2)
    """The margin levels the time below is measured for (shown highest first)."""
    atr_period: int = 14
    """Bars of the ATR that measures the distance to liquidation in ATR multiples."""

    @field_validator("margin_call_level", mode="before")
    @classmethod
    def _call_level(cls, value: Any) -> float:
        return _margin_level(value, "risk.margin_call_level")

    @field_validator("thresholds", mode="before")
    @classmethod
    def _thresholds(cls, value: Any) -> tuple[float, ...]:
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise ValueError(
                f"risk.thresholds: a list of margin levels such as [2, 1.5], got {value!r}"
            )
        levels = {_margin_level(v, "risk.thresholds") for v in value}
        return tuple(sorted(levels, reverse=True))

    @field_validator("atr_period", mode="before")
    @classmethod
    def _atr_period(cls, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"risk.atr_period: must be a whole number ≥ 1, got {value!r}")
        return value

    def analyzers(self, data: Portfolio) -> tuple[Analyzer, ...]:
        """The standard margin analyzers (:func:`levtrade.risk.margin_analyzers`) on ``data``."""
        return margin_analyzers(
            margin_call_level=self.margin_call_level,
            thresholds=self.thresholds,
            data=data,
            atr_period=self.atr_period,
        )

    def info(self) -> dict[str, Any]:
        """The settings as the summary states them."""
        return {
            "margin_call_level": self.margin_call_level,
            "thresholds": list(self.thresholds),
            "atr_period": self.atr_period,
        }


def _margin_level(value: Any, name: str) -> float:
    """A margin level: a finite number above 1 (liquidation is at 1)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}: a margin level such as 1.5, got {value!r}")
    level = float(value)
    if not (math.isfinite(level) and level > 1.0):
        raise ValueError(f"{name}: a margin level above 1 (liquidation is at 1), got {value!r}")
    return level


class ExchangeSettings(BaseModel):
    """FreqTrade's ``exchange`` block: its ``name`` and pair lists are read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    pair_whitelist: list[str] = Field(default_factory=list)
    pair_blacklist: list[str] = Field(default_factory=list)


class RunConfig(BaseModel):
    """Everything ``levtrade backtest`` needs; see the module docstring for the keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # -- FreqTrade's keys, with their meaning ---------------------------------------------------
    trading_mode: str = "futures"
    margin_mode: Literal["cross", "isolated"] = "cross"
    liquidation_buffer: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.0
    futures_funding_rate: Annotated[float, Field(allow_inf_nan=False)] | None = None
    """Constant funding rate per interval for pairs without funding data (None: such a pair
    is an error)."""
    stake_amount: Positive | Literal["unlimited"] = "unlimited"
    stake_currency: str | None = None
    dry_run_wallet: Positive | dict[str, Positive] = Field(
        default=10_000.0, validation_alias=AliasChoices("dry_run_wallet", "wallet")
    )
    tradable_balance_ratio: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.99
    max_open_trades: int | None = None
    stoploss: float | None = None
    minimal_roi: dict[str, float] | None = None
    trailing_stop: bool | None = None
    trailing_stop_positive: float | None = None
    trailing_stop_positive_offset: float | None = None
    trailing_only_offset_is_reached: bool | None = None
    timeframe: str | None = None
    timeframe_detail: str | None = None
    timerange: str | None = None
    pairs: list[str] | None = Field(
        default=None, validation_alias=AliasChoices("pairs", "pair_whitelist")
    )
    exchange: ExchangeSettings | None = None
    fee: Annotated[float, Field(gt=-0.01, lt=0.1, allow_inf_nan=False)] | None = None
    datadir: str | None = None
    strategy: str | None = None
    strategy_path: str | None = None

    # -- levtrade's keys --------------------------------------------------------------------------
    venue: str | None = None
    position_mode: Literal["one_way", "hedge"] = "one_way"
    leverage: Annotated[float, Field(ge=1, allow_inf_nan=False)] = 1.0
    slippage_bps: NonNegative = 0.0
    volume_slippage_bps: NonNegative = 0.0
    maker_fee: Annotated[float, Field(gt=-0.01, lt=0.1, allow_inf_nan=False)] | None = None
    taker_fee: Annotated[float, Field(gt=-0.01, lt=0.1, allow_inf_nan=False)] | None = None
    funding_interval_hours: Positive = 8.0
    engine: Literal["event", "compiled", "auto"] = "event"
    data_format: DataFormat | None = None
    candles: str | None = None
    mark: str | None = None
    index: str | None = None
    funding: str | None = None
    store_exchange: str | None = None
    gaps: Literal["error", "fill", "keep"] = "error"
    coverage: Literal["error", "trim"] = "error"
    coarse_mark: Literal["error", "basis"] = "error"
    tiers_file: str | None = None
    tiers: dict[str, list[dict[str, float]]] = Field(default_factory=dict)
    instruments: dict[str, InstrumentOverrides] = Field(default_factory=dict)
    outcome: OutcomeSettings = Field(default_factory=OutcomeSettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    params: dict[str, Any] = Field(default_factory=dict)
    can_short: bool | None = None
    signals: str | None = None
    report: str | None = None
    results_dir: str | None = None

    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _source: str = PrivateAttr(default="<defaults>")
    _ignored: tuple[str, ...] = PrivateAttr(default=())

    # -- validators ---------------------------------------------------------------------------
    @field_validator("trading_mode")
    @classmethod
    def _futures_only(cls, value: str) -> str:
        if value == "futures":
            return value
        if value in ("spot", "margin"):
            raise ValueError(
                f"trading_mode: {value!r} is not supported yet; levtrade backtests perpetual "
                'futures (trading_mode = "futures")'
            )
        raise ValueError(f'trading_mode: must be "futures", got {value!r}')

    @field_validator("max_open_trades")
    @classmethod
    def _open_trades(cls, value: int | None) -> int | None:
        if value is None or value == -1:
            return None
        if value < 1:
            raise ValueError(f"max_open_trades: must be ≥ 1 or -1 (no limit), got {value!r}")
        return value

    @field_validator("stoploss")
    @classmethod
    def _stoploss(cls, value: float | None) -> float | None:
        if value is not None and not (-1.0 <= value < 0.0):
            raise ValueError(
                f"stoploss: a negative ratio of the stake in [-1, 0) such as -0.10, got {value!r}"
            )
        return value

    @field_validator("timeframe", "timeframe_detail")
    @classmethod
    def _timeframe(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_timeframe(value)
            except LevtradeError as exc:
                raise ValueError(f"{value!r}: {exc}") from None
        return value

    @field_validator("timerange")
    @classmethod
    def _timerange(cls, value: str | None) -> str | None:
        if value is not None:
            parse_timerange(value)
        return value

    @field_validator("venue")
    @classmethod
    def _venue(cls, value: str | None) -> str | None:
        return None if value is None else venue_name(value)

    @field_validator("candles", "mark", "index", "funding")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        if value is not None:
            for _, name, _, _ in string.Formatter().parse(value):
                if name is not None and name not in PLACEHOLDERS:
                    raise ValueError(
                        f"unknown placeholder {{{name}}} in {value!r}; use "
                        + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
                    )
        return value

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], *, source: str = "<config>", base_dir: Path | None = None
    ) -> RunConfig:
        """Validate a parsed document; unknown keys are errors with the closest known key."""
        if not isinstance(values, Mapping):
            raise ConfigError(f"{source}: expected a table of settings, got {values!r}")
        document = dict(values)
        ignored = _check_keys(document, source)
        try:
            config = cls.model_validate(document)
        except ValidationError as exc:
            raise ConfigError(f"{source}: {describe_error(exc)}") from None
        except LevtradeError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        config._base_dir = (base_dir or Path.cwd()).resolve()
        config._source = source
        config._ignored = ignored
        return config

    @classmethod
    def demo(cls) -> RunConfig:
        """The run of a bare ``levtrade backtest``: the synthetic demo data and the starter
        strategy at 5x, cross margin."""
        return cls.from_mapping(
            {
                "data_format": "demo",
                "pairs": list(DEMO_PAIRS),
                "timeframe": "1h",
                "strategy": DEMO_STRATEGY,
                "leverage": 5,
                "stake_amount": "unlimited",
                "max_open_trades": 2,
                "dry_run_wallet": 10_000,
                "stake_currency": "USDT",
            },
            source="<demo>",
        )

    def with_overrides(self, **values: Any) -> RunConfig:
        """A copy with some keys replaced (command-line options); None values are skipped."""
        given = {k: v for k, v in values.items() if v is not None}
        if not given:
            return self
        document = self.model_dump(exclude_unset=True, by_alias=False)
        document.update(given)
        try:
            config = type(self).model_validate(document)
        except ValidationError as exc:
            raise ConfigError(describe_error(exc)) from None
        except LevtradeError as exc:
            raise ConfigError(str(exc)) from None
        config._base_dir = self._base_dir
        config._source = self._source
        config._ignored = self._ignored
        return config

    # -- derived --------------------------------------------------------------------------------
    @property
    def base_dir(self) -> Path:
        """Relative paths in the file are relative to this (the config file's directory)."""
        return self._base_dir

    @property
    def source(self) -> str:
        return self._source

    @property
    def ignored_keys(self) -> tuple[str, ...]:
        """FreqTrade settings that were read and have no meaning for a backtest."""
        return self._ignored

    def path(self, value: str) -> Path:
        """``value`` (``~`` expanded) relative to :attr:`base_dir`."""
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path

    def resolved_venue(self) -> str:
        if self.venue is not None:
            return self.venue
        if self.exchange is not None and self.exchange.name:
            try:
                return venue_name(self.exchange.name)
            except LevtradeError as exc:
                raise ConfigError(f"exchange.name: {exc}") from None
        return "binance"

    def resolved_format(self) -> DataFormat:
        if self.data_format is not None:
            return self.data_format
        if any(v is not None for v in (self.candles, self.mark, self.index, self.funding)):
            return "files"
        if self.datadir is not None:
            return "freqtrade"
        return "demo"

    def resolved_pairs(self) -> tuple[str, ...]:
        """``pairs`` (or ``pair_whitelist``, or ``exchange.pair_whitelist``) minus the
        blacklist; the demo's pairs for demo data."""
        pairs = list(self.pairs or [])
        if not pairs and self.exchange is not None:
            pairs = list(self.exchange.pair_whitelist)
        if not pairs and self.resolved_format() == "demo":
            pairs = list(DEMO_PAIRS)
        blacklist = set(self.exchange.pair_blacklist) if self.exchange is not None else set()
        unique = list(dict.fromkeys(p for p in pairs if p not in blacklist))
        for pair in unique:
            _check_pair(pair, self.stake_currency)
        return tuple(unique)

    def wallet(self) -> float:
        """``dry_run_wallet`` (a number, or FreqTrade's ``{currency: amount}``)."""
        if isinstance(self.dry_run_wallet, dict):
            currency = self.stake_currency
            if currency is None or currency not in self.dry_run_wallet:
                have = ", ".join(self.dry_run_wallet) or "none"
                raise ConfigError(
                    f"dry_run_wallet: needs an amount in the stake currency {currency!r} "
                    f"(has {have})"
                )
            return float(self.dry_run_wallet[currency])
        return float(self.dry_run_wallet)

    def signal_rule_overrides(self) -> dict[str, Any]:
        """The FreqTrade exit settings given in the config (they override the strategy's)."""
        values: dict[str, Any] = {}
        for name in (
            "stoploss",
            "trailing_stop",
            "trailing_stop_positive",
            "trailing_stop_positive_offset",
            "trailing_only_offset_is_reached",
            "minimal_roi",
        ):
            value = getattr(self, name)
            if value is not None:
                values[name] = value
        return values


def _known_keys(model: type[BaseModel]) -> set[str]:
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        keys.add(name)
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            keys.update(str(choice) for choice in alias.choices)
    return keys


def _suggest(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_keys(document: dict[str, Any], source: str) -> tuple[str, ...]:
    """Drop FreqTrade's ignored keys (returned); an unknown key is an error naming the closest
    known key."""
    known = _known_keys(RunConfig)
    ignored: list[str] = []
    for key in list(document):
        if key in known:
            continue
        if key in FREQTRADE_IGNORED:
            ignored.append(key)
            del document[key]
            continue
        raise ConfigError(
            f"{source}: unknown key {key!r}{_suggest(key, sorted(known | FREQTRADE_IGNORED))}"
        )
    sections: dict[str, tuple[type[BaseModel], frozenset[str]]] = {
        "exchange": (ExchangeSettings, EXCHANGE_IGNORED),
        "outcome": (OutcomeSettings, frozenset()),
        "risk": (RiskSettings, frozenset()),
    }
    for section, (model, skip) in sections.items():
        block = document.get(section)
        if not isinstance(block, dict):
            continue
        block = dict(block)
        section_known = _known_keys(model)
        for key in list(block):
            if key in section_known:
                continue
            if key in skip:
                ignored.append(f"{section}.{key}")
                del block[key]
                continue
            raise ConfigError(
                f"{source}: unknown key {section}.{key}"
                f"{_suggest(key, sorted(section_known | skip))}"
            )
        document[section] = block
    instruments = document.get("instruments")
    if isinstance(instruments, dict):
        spec_known = _known_keys(InstrumentOverrides)
        for symbol, spec in instruments.items():
            if isinstance(spec, dict):
                for key in spec:
                    if key not in spec_known:
                        raise ConfigError(
                            f"{source}: unknown key instruments.{symbol!r}.{key}"
                            f"{_suggest(key, sorted(spec_known))}"
                        )
    return tuple(ignored)


def _check_pair(pair: str, stake_currency: str | None) -> None:
    try:
        instrument = Instrument.parse(pair)
    except LevtradeError as exc:
        raise ConfigError(f"pairs: {exc}") from None
    if instrument.settle is None:
        raise ConfigError(
            f"pairs: {pair!r} is a spot pair; perpetual futures are written "
            f"'{pair}:{instrument.quote}'"
        )
    if stake_currency is not None and instrument.settle != stake_currency:
        raise ConfigError(
            f"pairs: {pair} settles in {instrument.settle}, but stake_currency is "
            f"{stake_currency!r}"
        )


def load_run_config(path: str | Path) -> RunConfig:
    """Read a ``.toml`` or ``.json`` run configuration."""
    file = Path(path).expanduser()
    name = str(path)
    if not file.is_file():
        raise ConfigError(f"config: file not found: {name}")
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config: cannot read {name}: {exc}") from None
    suffix = file.suffix.lower()
    try:
        if suffix == ".toml":
            document: Any = tomllib.loads(text)
        elif suffix == ".json":
            document = json.loads(text)
        else:
            raise ConfigError(f"config: {name} must end in .toml or .json")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: not valid TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{name}: not valid JSON: {exc}") from None
    return RunConfig.from_mapping(document, source=name, base_dir=file.parent)


# ============================================================================================
# Timerange (FreqTrade's --timerange)
# ============================================================================================


@dataclass(frozen=True)
class Timerange:
    """Bars with ``start <= open time <= stop`` (ms UTC; None = unbounded), as FreqTrade
    trims: a date is 00:00 UTC of that day and the candle opening at ``stop`` is included."""

    text: str
    start: int | None
    stop: int | None

    @property
    def end_exclusive(self) -> int | None:
        return None if self.stop is None else self.stop + 1


_TIMERANGE = re.compile(r"^(\d{8}|\d{10}|\d{13})?-(\d{8}|\d{10}|\d{13})?$")


def _timerange_bound(token: str, text: str) -> int:
    if len(token) == 8:
        try:
            day = datetime.strptime(token, "%Y%m%d").replace(tzinfo=UTC)
        except ValueError:
            raise ConfigError(
                f"timerange: {token!r} in {text!r} is not a date (YYYYMMDD)"
            ) from None
        return int(day.timestamp() * 1000)
    if len(token) == 10:
        return int(token) * 1000
    return int(token)


def parse_timerange(text: str) -> Timerange:
    """FreqTrade's timerange: ``20250101-20251231``, ``20250101-``, ``-20251231``; a bound may
    also be epoch seconds (10 digits) or milliseconds (13 digits)."""
    value = text.strip()
    match = _TIMERANGE.match(value)
    if match is None or value == "-":
        raise ConfigError(
            f"timerange: expected START-STOP such as 20250101-20251231 (either side may be "
            f"empty), got {text!r}"
        )
    start = None if match.group(1) is None else _timerange_bound(match.group(1), text)
    stop = None if match.group(2) is None else _timerange_bound(match.group(2), text)
    if start is not None and stop is not None and stop < start:
        raise ConfigError(f"timerange: the stop is before the start in {text!r}")
    return Timerange(value, start, stop)


# ============================================================================================
# Strategies
# ============================================================================================


class StrategyFailure(LevtradeError):
    """The user's strategy raised: ``message`` is one line, ``details`` the strategy's part of
    the traceback (empty when none of it is the strategy's code)."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details


@dataclass(frozen=True)
class LoadedStrategy:
    """A strategy class from a file or module; ``style`` is ``signal`` or ``event``."""

    cls: type[Any]
    name: str
    source: str
    files: tuple[str, ...]
    """Files whose frames belong to the strategy in a traceback."""

    @property
    def style(self) -> Literal["signal", "event"]:
        return "event" if issubclass(self.cls, Strategy) else "signal"


def _library_dirs() -> tuple[str, ...]:
    dirs = {str(Path(levtrade.__file__).resolve().parent)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        value = sysconfig.get_paths().get(key)
        if value:
            dirs.add(str(Path(value).resolve()))
    return tuple(sorted(dirs))


def _is_user_frame(filename: str, files: Sequence[str]) -> bool:
    if filename in files:
        return True
    if filename.startswith("<"):
        return False
    resolved = str(Path(filename).resolve())
    if resolved in files:
        return True
    return not any(resolved.startswith(d + "/") or resolved == d for d in _library_dirs())


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def strategy_failure(exc: BaseException, strategy: LoadedStrategy) -> StrategyFailure | None:
    """A :class:`StrategyFailure` when any frame of ``exc`` (or its causes) is the strategy's
    code, else None (the error is levtrade's or the data's)."""
    for link in _chain(exc):
        frames = [
            f
            for f in traceback.extract_tb(link.__traceback__)
            if _is_user_frame(f.filename, strategy.files)
        ]
        if not frames:
            continue
        summary = traceback.StackSummary.from_list(frames)
        details = "Traceback (strategy code only):\n" + "".join(summary.format())
        details += "".join(traceback.format_exception_only(type(link), link))
        what = _one_line(f"{type(link).__name__}: {link}")
        return StrategyFailure(f"strategy {strategy.name} raised {what}", details.rstrip())
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _strategy_classes(module: ModuleType) -> list[type[Any]]:
    found = []
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and value.__module__ == module.__name__
            and issubclass(value, Strategy | SignalStrategy)
            and value not in (Strategy, SignalStrategy)
        ):
            found.append(value)
    return found


def _defines_class(path: Path, name: str) -> bool:
    try:
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return False
    return any(isinstance(node, ast.ClassDef) and node.name == name for node in tree.body)


@contextmanager
def _on_sys_path(folder: Path) -> Iterator[None]:
    entry = str(folder)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def _import_file(path: Path, display: str) -> ModuleType:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    name = f"levtrade_user_{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"strategy: cannot import {display}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    probe = LoadedStrategy(object, path.name, display, (str(path),))
    try:
        with _on_sys_path(path.parent):
            spec.loader.exec_module(module)
    except SyntaxError as exc:
        del sys.modules[name]
        where = f"{exc.filename}, line {exc.lineno}"
        raise StrategyFailure(
            f"strategy file {display} does not compile: {exc.msg} ({where})",
            "".join(traceback.format_exception_only(type(exc), exc)).rstrip(),
        ) from None
    except Exception as exc:
        del sys.modules[name]
        failure = strategy_failure(exc, probe)
        if failure is not None:
            raise StrategyFailure(
                f"strategy file {display} raised on import: "
                + _one_line(f"{type(exc).__name__}: {exc}"),
                failure.details,
            ) from None
        raise
    return module


def load_strategy(
    spec: str, *, base_dir: Path | None = None, search: Path | None = None
) -> LoadedStrategy:
    """The strategy named by ``spec``: ``path.py:ClassName``, ``path.py`` (its one strategy
    class), ``package.module:ClassName``, or a bare ``ClassName`` looked up in the ``.py``
    files of ``search`` (FreqTrade's ``strategy_path``)."""
    base = base_dir or Path.cwd()
    text = spec.strip()
    if not text:
        raise ConfigError("strategy: empty name")
    file_part, _, class_name = text.rpartition(":") if ":" in text else (text, "", "")
    if file_part and not file_part.endswith(".py") and "/" not in file_part and class_name:
        # a module path (package.module:Class)
        try:
            module = importlib.import_module(file_part)
        except ImportError as exc:
            raise ConfigError(f"strategy: cannot import module {file_part!r}: {exc}") from None
        path = Path(module.__file__ or file_part)
        return _pick_class(module, class_name, text, (str(path.resolve()),))
    if not file_part.endswith(".py"):
        if search is None:
            raise ConfigError(
                f"strategy: expected path.py:ClassName (or set strategy_path to look for class "
                f"{text!r}), got {text!r}"
            )
        folder = search if search.is_absolute() else base / search
        if not folder.is_dir():
            raise ConfigError(f"strategy_path: directory not found: {folder}")
        candidates = [p for p in sorted(folder.glob("*.py")) if _defines_class(p, text)]
        if not candidates:
            raise ConfigError(f"strategy: no class {text!r} in the .py files of {folder}")
        path, class_name = candidates[0], text
    else:
        path = Path(file_part).expanduser()
        if not path.is_absolute():
            path = base / path
    if not path.is_file():
        raise ConfigError(f"strategy: file not found: {path}")
    resolved = path.resolve()
    module = _import_file(resolved, file_part or str(path))
    return _pick_class(module, class_name or None, text, (str(resolved),))


def _pick_class(
    module: ModuleType, class_name: str | None, spec: str, files: tuple[str, ...]
) -> LoadedStrategy:
    classes = _strategy_classes(module)
    where = module.__file__ or spec
    if class_name is None:
        if len(classes) != 1:
            names = ", ".join(c.__name__ for c in classes) or "none"
            raise ConfigError(
                f"strategy: {where} defines {len(classes)} strategy classes ({names}); "
                f"name one as path.py:ClassName"
            )
        cls = classes[0]
    else:
        value = getattr(module, class_name, None)
        if value is None:
            found = [c.__name__ for c in classes]
            raise ConfigError(
                f"strategy: no class {class_name!r} in {where}"
                f"{_suggest(class_name, found)}"
                + (f"; strategies there: {', '.join(found)}" if found else "")
            )
        if not (isinstance(value, type) and issubclass(value, Strategy | SignalStrategy)):
            raise ConfigError(
                f"strategy: {class_name} in {where} is not a levtrade Strategy or "
                "SignalStrategy subclass"
            )
        cls = value
    return LoadedStrategy(cls, cls.__name__, spec, files)


# ============================================================================================
# Market data
# ============================================================================================


@dataclass
class LoadedData:
    """The run's market data plus what the report says about where it came from."""

    data: Portfolio
    source: str
    synthetic: bool
    mark: dict[str, bool]
    funding: dict[str, str]
    """Per pair: ``"data"`` or ``"constant"``."""
    notes: list[str] = field(default_factory=list)
    fine: dict[str, MarketData] | None = None
    warmup_bars: int = 0


def _fields(pair: str, timeframe: str) -> dict[str, str]:
    instrument = Instrument.parse(pair)
    return {
        "pair": pair_to_filename(pair),
        "symbol": f"{instrument.base}{instrument.quote}",
        "base": instrument.base,
        "quote": instrument.quote,
        "settle": instrument.settle or instrument.quote,
        "timeframe": timeframe,
    }


def _data_dir(config: RunConfig, required: bool) -> Path | None:
    if config.datadir is None:
        if required:
            raise ConfigError(
                f"datadir: not set; data_format {config.resolved_format()!r} reads from a directory"
            )
        return None
    folder = config.path(config.datadir)
    if not folder.is_dir():
        raise DataError(f"datadir: directory not found: {folder}")
    return folder


class _Loader:
    """Reads one pair at one timeframe in the configured layout."""

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.format = config.resolved_format()
        self.folder = _data_dir(config, self.format in ("freqtrade", "store"))

    def describe(self) -> str:
        if self.format == "demo":
            return "levtrade.data.demo (synthetic)"
        return f"{self.format}: {self.folder if self.folder is not None else self.config.base_dir}"

    def funding_hint(self, pair: str, timeframe: str) -> str:
        """Where the pair's funding data was looked for."""
        if self.format == "freqtrade":
            assert self.folder is not None
            name = pair_to_filename(pair)
            return f"no {self.folder / 'futures'}/{name}-<timeframe>-funding_rate.* file"
        if self.format == "store":
            return "no funding.parquet in the store"
        path, _ = self._file("funding", pair, timeframe)
        return "no funding template set" if path is None else f"no file {path}"

    def load(self, pair: str, timeframe: str) -> tuple[MarketData, bool]:
        """The pair's market data and whether its funding file was found."""
        if self.format == "freqtrade":
            return self._freqtrade(pair, timeframe)
        if self.format == "store":
            return self._store(pair, timeframe)
        if self.format == "files":
            return self._files(pair, timeframe)
        raise ConfigError("data_format: demo data is generated, not loaded")

    def _freqtrade(self, pair: str, timeframe: str) -> tuple[MarketData, bool]:
        assert self.folder is not None
        try:
            market = load_freqtrade(
                self.folder,
                pair,
                timeframe,
                gaps=self.config.gaps,
                coverage=self.config.coverage,
                coarse_mark=self.config.coarse_mark,
            )
        except DataValidationError as exc:
            if exc.reason.startswith("no FreqTrade"):
                raise DataError(
                    f"data: missing data file {exc.file} (candles of {pair}; .feather, "
                    ".parquet, .json or .json.gz)"
                ) from None
            raise
        return market, len(market.funding) > 0

    def _store(self, pair: str, timeframe: str) -> tuple[MarketData, bool]:
        assert self.folder is not None
        exchange = self.config.store_exchange
        if exchange is None:
            found = sorted(p.name for p in self.folder.iterdir() if p.is_dir())
            if len(found) != 1:
                raise ConfigError(
                    f"store_exchange: the store {self.folder} holds "
                    f"{', '.join(found) or 'no exchanges'}; name one with store_exchange"
                )
            exchange = found[0]
        market = Store(self.folder).load(
            exchange, pair, timeframe, gaps=self.config.gaps, coverage=self.config.coverage
        )
        return market, len(market.funding) > 0

    def _template(self, key: str) -> tuple[str | None, bool]:
        value = getattr(self.config, key)
        if value is not None:
            return value, True
        return FILE_TEMPLATES[key], False

    def _file(self, key: str, pair: str, timeframe: str) -> tuple[Path | None, bool]:
        template, explicit = self._template(key)
        if template is None:
            return None, False
        name = template.format(**_fields(pair, timeframe))
        path = Path(name).expanduser()
        if not path.is_absolute():
            path = (self.folder or self.config.base_dir) / path
        return path, explicit

    def _files(self, pair: str, timeframe: str) -> tuple[MarketData, bool]:
        candles, _ = self._file("candles", pair, timeframe)
        assert candles is not None
        if not candles.is_file():
            raise DataError(f"data: missing data file {candles} (candles of {pair})")
        paths: dict[str, Path | None] = {}
        for key in ("mark", "index"):
            path, explicit = self._file(key, pair, timeframe)
            if path is not None and not path.is_file():
                if explicit:
                    raise DataError(f"data: missing data file {path} ({key} of {pair})")
                path = None
            paths[key] = path
        funding, _ = self._file("funding", pair, timeframe)
        if funding is not None and not funding.is_file():
            funding = None
        market = load_market(
            candles,
            symbol=pair,
            mark=paths["mark"],
            index=paths["index"],
            funding=funding,
            timeframe=timeframe,
            gaps=self.config.gaps,
            coverage=self.config.coverage,
            coarse_mark=self.config.coarse_mark,
            metadata={"source": str(candles)},
        )
        return market, funding is not None and len(market.funding) > 0


def _span(market: MarketData) -> str:
    return f"{format_ts(market.timestamps[0])} to {format_ts(market.timestamps[-1])}"


def load_run_data(
    config: RunConfig,
    pairs: Sequence[str],
    timeframe: str,
    timerange: Timerange | None,
    *,
    warmup_bars: int = 0,
) -> LoadedData:
    """Every pair at ``timeframe``, cut to the timerange (plus ``warmup_bars`` before it), on
    one axis; with ``timeframe_detail`` also the finer candles for the intrabar path."""
    if not pairs:
        raise ConfigError('pairs: no pairs to backtest; set pairs = ["BTC/USDT:USDT", ...]')
    tf_ms = parse_timeframe(timeframe)
    start = end = None
    if timerange is not None:
        start = None if timerange.start is None else timerange.start - warmup_bars * tf_ms
        end = timerange.end_exclusive
    fmt = config.resolved_format()
    notes: list[str] = []
    funding_source: dict[str, str] = {}
    loader: _Loader | None = None
    markets: list[MarketData] = []
    if fmt == "demo":
        unknown = [p for p in pairs if p not in DEMO_SYMBOLS]
        if unknown:
            raise ConfigError(
                f"pairs: {', '.join(unknown)} not in the demo data (it has "
                f"{', '.join(DEMO_SYMBOLS)})"
            )
        if tf_ms % 3_600_000 or (8 * 3_600_000) % tf_ms:
            raise ConfigError(
                f"timeframe: the demo data comes in 1h, 2h, 4h or 8h bars, got {timeframe!r}"
            )
        bars = 8784 * 3_600_000 // tf_ms
        full = demo_portfolio(tuple(pairs), timeframe=timeframe, bars=bars)
        found = {p: True for p in pairs}
        source = "levtrade.data.demo (synthetic)"
        markets = list(full.markets)
    else:
        loader = _Loader(config)
        source = loader.describe()
        found = {}
        for pair in pairs:
            market, has_funding = loader.load(pair, timeframe)
            markets.append(market)
            found[pair] = has_funding
    cut: list[MarketData] = []
    for market in markets:
        pair = market.symbol
        window = market.between(start, end) if (start is not None or end is not None) else market
        traded = window if timerange is None else window.between(timerange.start, end)
        if len(traded) == 0:
            assert timerange is not None
            raise DataError(
                f"timerange: {timerange.text} has no {timeframe} data for {pair} (its data runs "
                f"{_span(market)})"
            )
        has_funding = found[pair] and len(window.funding) > 0
        if not has_funding:
            if config.futures_funding_rate is None:
                if not found[pair]:
                    hint = "none found" if loader is None else loader.funding_hint(pair, timeframe)
                    why = f"no funding data ({hint})"
                else:
                    events = market.funding.timestamps
                    why = (
                        f"no funding event between {_span(window)} (its funding data runs "
                        f"{format_ts(events[0])} to {format_ts(events[-1])})"
                    )
                raise DataError(
                    f"funding: {pair} has {why}; add its funding data, or set "
                    "futures_funding_rate to settle a constant rate"
                )
            funding_source[pair] = "constant"
        else:
            funding_source[pair] = "data"
        cut.append(window)
    for pair, kind in funding_source.items():
        if kind == "constant":
            notes.append(
                f"{pair}: no funding data; the constant futures_funding_rate "
                f"{config.futures_funding_rate:g} settles every "
                f"{config.funding_interval_hours:g} h"
            )
    marks = {m.symbol: m.mark is not None for m in cut}
    for market in cut:
        if market.mark is None:
            notes.append(
                f"{market.symbol}: no mark-price candles; the trade candles stand in for the mark"
            )
        elif market.metadata.get("mark_rule") == "basis":
            notes.append(
                f"{market.symbol}: {market.metadata['mark_timeframe']} mark candles, "
                f'basis-adjusted to {market.timeframe} (coarse_mark = "basis")'
            )
    portfolio = Portfolio.from_markets(cut)
    synthetic = bool(portfolio.synthetic)
    fine: dict[str, MarketData] | None = None
    if config.timeframe_detail is not None:
        fine = _detail(config, loader, pairs, timeframe, start, end)
        notes.append(f"intrabar path from {config.timeframe_detail} candles (timeframe_detail)")
    return LoadedData(
        data=portfolio,
        source=source,
        synthetic=synthetic,
        mark=marks,
        funding=funding_source,
        notes=notes,
        fine=fine,
    )


def _detail(
    config: RunConfig,
    loader: _Loader | None,
    pairs: Sequence[str],
    timeframe: str,
    start: int | None,
    end: int | None,
) -> dict[str, MarketData]:
    detail = config.timeframe_detail
    assert detail is not None
    fine_ms, tf_ms = parse_timeframe(detail), parse_timeframe(timeframe)
    if fine_ms >= tf_ms or tf_ms % fine_ms:
        raise ConfigError(
            f"timeframe_detail: {detail!r} must be finer than timeframe {timeframe!r} and divide it"
        )
    if config.engine == "compiled":
        raise ConfigError("timeframe_detail: only the event engine walks finer candles")
    fine: dict[str, MarketData] = {}
    for pair in pairs:
        if loader is None:
            market = demo_portfolio((pair,), timeframe=detail, bars=8784 * 3_600_000 // fine_ms)
            data = market.markets[0]
        else:
            data, _ = loader.load(pair, detail)
        fine[pair] = data.between(start, end) if (start is not None or end is not None) else data
    return fine


# ============================================================================================
# The plan and its execution
# ============================================================================================


class ProgressSink(Protocol):
    """Receives progress: a phase starts (with a total of steps, or None), steps are done."""

    def phase(self, name: str, total: int | None = None) -> None: ...

    def advance(self, done: int) -> None: ...


class _NoProgress:
    def phase(self, name: str, total: int | None = None) -> None:
        return None

    def advance(self, done: int) -> None:
        return None


@dataclass
class RunPlan:
    """A run resolved from its configuration and ready to execute."""

    config: RunConfig
    backtest: BacktestConfig
    pairs: tuple[str, ...]
    timeframe: str
    timerange: Timerange | None
    strategy: LoadedStrategy | None
    signals_file: Path | None
    engine: Literal["event", "compiled"]
    loaded: LoadedData
    notes: list[str] = field(default_factory=list)

    @property
    def strategy_name(self) -> str:
        if self.strategy is not None:
            return self.strategy.name
        assert self.signals_file is not None
        return f"signals {self.signals_file.name}"

    @property
    def style(self) -> str:
        return self.strategy.style if self.strategy is not None else "signals-file"


@dataclass
class RunOutcome:
    """A finished run: the result, the data it ran on, and the facts the report states."""

    plan: RunPlan
    result: BacktestResult
    data: Portfolio

    def info(self) -> dict[str, Any]:
        """Run facts for the summary (JSON-friendly)."""
        plan = self.plan
        config = plan.config
        return {
            "strategy": plan.strategy_name,
            "strategy_style": plan.style,
            "strategy_source": (
                plan.strategy.source if plan.strategy is not None else str(plan.signals_file)
            ),
            "config": config.source,
            "engine": plan.engine,
            "trading_mode": config.trading_mode,
            "margin_mode": config.margin_mode,
            "position_mode": config.position_mode,
            "timeframe": plan.timeframe,
            "timerange": None if plan.timerange is None else plan.timerange.text,
            "pairs": list(plan.pairs),
            "stake_currency": config.stake_currency or _settle(plan.pairs),
            "stake_amount": config.stake_amount,
            "leverage": config.leverage,
            "max_open_trades": config.max_open_trades,
            "liquidation_buffer": config.liquidation_buffer,
            "data_source": plan.loaded.source,
            "synthetic": plan.loaded.synthetic,
            "mark_candles": dict(plan.loaded.mark),
            "funding_source": dict(plan.loaded.funding),
            "futures_funding_rate": config.futures_funding_rate,
            "funding_interval_hours": config.funding_interval_hours,
            "notes": [*plan.loaded.notes, *plan.notes],
            "ignored_keys": list(config.ignored_keys),
            "risk": config.risk.info(),
        }


def _settle(pairs: Sequence[str]) -> str | None:
    settles = {Instrument.parse(p).settle for p in pairs}
    return settles.pop() if len(settles) == 1 else None


def _tier_rows(config: RunConfig, pairs: Sequence[str], venue: str) -> dict[str, Any]:
    rows: dict[str, list[dict[str, float]]] = {}
    if config.tiers_file is not None:
        path = config.path(config.tiers_file)
        if not path.is_file():
            raise ConfigError(f"tiers_file: file not found: {path}")
        try:
            tables = load_tier_file(path, venue=venue)
        except LevtradeError as exc:
            raise ConfigError(f"tiers_file: {exc}") from None
        by_symbol = {t.symbol: t for t in tables}
        for pair in pairs:
            table = by_symbol.get(pair)
            if table is not None:
                rows[pair] = table.to_rows()
    rows.update(config.tiers)
    return rows


def build_backtest_config(config: RunConfig, pairs: Sequence[str]) -> BacktestConfig:
    """The engine's :class:`BacktestConfig` from the run configuration; checks that every
    pair has a tier table."""
    venue = config.resolved_venue()
    maker, taker = config.maker_fee, config.taker_fee
    if config.fee is not None:
        if maker is not None or taker is not None:
            raise ConfigError("fee: set either fee (both sides) or maker_fee/taker_fee, not both")
        maker = taker = config.fee
    values: dict[str, Any] = {
        "venue": venue,
        "wallet": config.wallet(),
        "margin_mode": config.margin_mode,
        "position_mode": config.position_mode,
        "leverage": config.leverage,
        "liquidation_buffer": config.liquidation_buffer,
        "slippage_bps": config.slippage_bps,
        "volume_slippage_bps": config.volume_slippage_bps,
        "maker_fee": maker,
        "taker_fee": taker,
        "funding_rate": config.futures_funding_rate,
        "funding_interval_hours": config.funding_interval_hours,
        "clearance_fee_rate": config.outcome.clearance_fee_rate,
        "liquidation_slippage_bps": config.outcome.liquidation_slippage_bps,
        "stake_amount": config.stake_amount,
        "tradable_balance_ratio": config.tradable_balance_ratio,
        "max_open_trades": config.max_open_trades,
        "instruments": config.instruments,
        "tiers": _tier_rows(config, pairs, venue),
    }
    backtest = BacktestConfig(**values)
    for pair in pairs:
        try:
            backtest.tier_table(backtest.instrument(pair))
        except LevtradeError:
            raise ConfigError(
                f"tiers: no {venue} tier table for {pair}; set tiers_file to a tier file "
                "(FreqTrade's binance_leverage_tiers.json or a ccxt fetch_leverage_tiers dump) "
                f'or add [tiers."{pair}"] rows'
            ) from None
    return backtest


def _choose_engine(config: RunConfig, style: str) -> Literal["event", "compiled"]:
    if config.engine == "event":
        return "event"
    if config.engine == "compiled":
        if style == "event":
            raise ConfigError(
                "engine: event-driven strategies run on the 'event' engine, got 'compiled'"
            )
        return "compiled"
    return "event" if style == "event" or config.timeframe_detail is not None else "compiled"


def prepare_run(
    config: RunConfig,
    *,
    strategy: str | None = None,
    signals: str | Path | None = None,
    progress: ProgressSink | None = None,
) -> RunPlan:
    """Resolve a configuration (plus the command line's strategy/signals) into a plan: the
    strategy loaded, the data read and cut, the engine's configuration built."""
    sink = progress or _NoProgress()
    if strategy is not None and signals is not None:
        raise ConfigError("strategy: give --strategy or --signals, not both")
    loaded_strategy: LoadedStrategy | None = None
    signals_file: Path | None = None
    search = None if config.strategy_path is None else config.path(config.strategy_path)
    if strategy is not None:
        loaded_strategy = load_strategy(strategy, base_dir=Path.cwd(), search=search)
    elif signals is not None:
        signals_file = Path(signals).expanduser()
    elif config.strategy is not None:
        loaded_strategy = load_strategy(config.strategy, base_dir=config.base_dir, search=search)
    elif config.signals is not None:
        signals_file = config.path(config.signals)
    else:
        raise ConfigError(
            'strategy: no strategy; set strategy = "path.py:ClassName" in the config, or pass '
            "--strategy or --signals"
        )
    if signals_file is not None and not signals_file.is_file():
        raise DataError(f"signals: file not found: {signals_file}")
    style = loaded_strategy.style if loaded_strategy is not None else "signals-file"
    overrides = config.signal_rule_overrides()
    if loaded_strategy is not None and style == "event":
        extra = sorted([*overrides, *(["can_short"] if config.can_short is not None else [])])
        if extra:
            raise ConfigError(
                f"{extra[0]}: applies to signal strategies (FreqTrade style); "
                f"{loaded_strategy.name} is event-driven and places its own stops and exits"
            )
    timeframe = config.timeframe
    if timeframe is None and loaded_strategy is not None and loaded_strategy.style == "signal":
        timeframe = getattr(loaded_strategy.cls, "timeframe", None)
    if timeframe is None:
        if config.resolved_format() != "demo":
            raise ConfigError('timeframe: not set; add timeframe = "1h" (the candle timeframe)')
        timeframe = "1h"
    engine = _choose_engine(config, style)
    pairs = config.resolved_pairs()
    if not pairs and signals_file is not None:
        pairs = _signal_pairs(signals_file, config.stake_currency)
    backtest = build_backtest_config(config, pairs)
    timerange = None if config.timerange is None else parse_timerange(config.timerange)
    warmup = 0
    if loaded_strategy is not None and loaded_strategy.style == "signal" and timerange is not None:
        declared = getattr(loaded_strategy.cls, "startup_candle_count", 0)
        warmup = int(config.params.get("startup_candle_count", declared) or 0)
    sink.phase("loading data")
    loaded = load_run_data(config, pairs, timeframe, timerange, warmup_bars=warmup)
    notes: list[str] = []
    if warmup and timerange is not None and timerange.start is not None:
        first = loaded.data.timestamps[0]
        before = int(np.count_nonzero(loaded.data.timestamps < timerange.start))
        loaded.warmup_bars = before
        if before:
            notes.append(
                f"{before} startup candles before the timerange (from {format_ts(first)}) warm "
                "up the indicators and are not traded"
            )
    if config.ignored_keys:
        notes.append("ignored FreqTrade settings: " + ", ".join(config.ignored_keys))
    return RunPlan(
        config=config,
        backtest=backtest,
        pairs=pairs,
        timeframe=timeframe,
        timerange=timerange,
        strategy=loaded_strategy,
        signals_file=signals_file,
        engine=engine,
        loaded=loaded,
        notes=notes,
    )


def _signal_pairs(path: Path, stake_currency: str | None) -> tuple[str, ...]:
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else None
        if frame is None and path.suffix == ".feather":
            frame = pd.read_feather(path)
        if frame is None:
            frame = pd.read_csv(path)
    except Exception as exc:
        raise DataError(f"signals: cannot read {path}: {exc}") from None
    if "symbol" not in frame.columns:
        raise ConfigError(
            f"pairs: not set and {path} has no symbol column; set pairs in the config or --pairs"
        )
    pairs = tuple(dict.fromkeys(str(s) for s in frame["symbol"].dropna()))
    for pair in pairs:
        _check_pair(pair, stake_currency)
    return pairs


class _ProgressDriver:
    """Wraps the engine's driver to report bars done (the engine calls ``on_close`` once per
    bar)."""

    def __init__(self, inner: Any, bars: int, sink: ProgressSink) -> None:
        self.inner = inner
        self.sink = sink
        self.every = max(1, bars // 200)

    def start(self, engine: Engine) -> None:
        self.inner.start(engine)

    def before_path(self, i: int) -> None:
        self.inner.before_path(i)

    def on_order(self, order: Any) -> None:
        self.inner.on_order(order)

    def on_trade(self, trade: Any) -> None:
        self.inner.on_trade(trade)

    def trail(self, order: Any, price: float) -> None:
        self.inner.trail(order, price)

    def on_close(self, i: int) -> None:
        self.inner.on_close(i)
        if (i + 1) % self.every == 0:
            self.sink.advance(i + 1)

    def finish(self) -> None:
        self.inner.finish()


def _signal_instance(plan: RunPlan) -> SignalStrategy:
    assert plan.strategy is not None
    instance: SignalStrategy = plan.strategy.cls()
    config = plan.config
    for name, value in config.params.items():
        if name.startswith("_") or not hasattr(instance, name) or callable(getattr(instance, name)):
            raise ConfigError(
                f"params: {plan.strategy.name} has no attribute {name!r} (value {value!r})"
            )
        setattr(instance, name, value)
    for name, value in config.signal_rule_overrides().items():
        setattr(instance, name, value)
    if config.can_short is not None:
        setattr(instance, "can_short", config.can_short)  # noqa: B010
    declared = getattr(instance, "timeframe", None)
    if declared is not None and declared != plan.timeframe:
        setattr(instance, "timeframe", plan.timeframe)  # noqa: B010
    return instance


def _file_rules(config: RunConfig) -> SignalRules:
    overrides = config.signal_rule_overrides()
    roi = {int(k): float(v) for k, v in (overrides.pop("minimal_roi", None) or {}).items()}
    can_short = True if config.can_short is None else config.can_short
    return SignalRules(can_short=can_short, minimal_roi=roi, **overrides)


def _trim_signals(signals: Signals, keep: slice) -> Signals:
    by_symbol = {
        s: SymbolSignals(**{f.name: getattr(v, f.name)[keep] for f in dataclasses.fields(v)})
        for s, v in signals.by_symbol.items()
    }
    return Signals(by_symbol, signals.rules)


def execute(plan: RunPlan, *, progress: ProgressSink | None = None) -> RunOutcome:
    """Run the plan. A strategy's own exception becomes a :class:`StrategyFailure`."""
    sink = progress or _NoProgress()
    data = plan.loaded.data
    config = plan.backtest
    strategy = plan.strategy
    try:
        if strategy is not None and strategy.style == "event":
            params = dict(plan.config.params) or None
            driver: Any = EventDriver(strategy.cls, params)
        else:
            sink.phase("computing signals")
            if strategy is not None:
                signals = _signal_instance(plan).to_signals(data, config)
            else:
                assert plan.signals_file is not None
                signals = read_signals(plan.signals_file, data, rules=_file_rules(plan.config))
            if plan.loaded.warmup_bars:
                keep = slice(plan.loaded.warmup_bars, None)
                signals = _trim_signals(signals, keep)
                data = _trim_portfolio(data, plan.loaded.warmup_bars)
            driver = SignalDriver(signals)
        if plan.engine == "compiled":
            sink.phase("simulating (compiled kernel)")
            kernel = importlib.import_module("levtrade.backtest.kernel")
            result: BacktestResult = kernel.run_signals(data, driver.signals, config)
        else:
            sink.phase("simulating", total=len(data))
            engine = Engine(
                data, config, _ProgressDriver(driver, len(data), sink), fine=plan.loaded.fine
            )
            engine.run()
            sink.advance(len(data))
            result = engine.result(engine="event")
    except StrategyFailure:
        raise
    except Exception as exc:
        failure = None if strategy is None else strategy_failure(exc, strategy)
        if failure is not None:
            raise failure from None
        raise
    sink.phase("analyzing margin")
    # the untrimmed data: bars are matched on time, and the startup candles warm the ATR up
    run_analyzers(result, plan.config.risk.analyzers(plan.loaded.data))
    return RunOutcome(plan=plan, result=result, data=data)


def _trim_portfolio(data: Portfolio, bars: int) -> Portfolio:
    start = int(data.timestamps[bars])
    kept = [m.between(start, None) for m in data.markets]
    return Portfolio.from_markets([m for m in kept if len(m)], axis=data.axis)
