"""The run configuration: one TOML or JSON file, FreqTrade's keys included.

:class:`RunConfig` reads the file (:func:`load_run_config`); unknown keys are errors naming the
closest known key, FreqTrade's keys without meaning for a run are accepted and listed
(:mod:`levtrade.configuration.freqtrade`). The account and execution settings are
:class:`~levtrade.spec.config.BacktestConfig`'s own fields, declared once; ``RunConfig`` adds
what a run is made from (strategy, data, timerange, outputs) and builds the engine's settings
(:meth:`RunConfig.backtest_config`).

Keys (docs/quickstart.md has the full list, docs/from-freqtrade.md the FreqTrade mapping):
FreqTrade's ``trading_mode``, ``margin_mode``, ``liquidation_buffer``, ``futures_funding_rate``,
``stake_amount``, ``stake_currency``, ``dry_run_wallet``, ``tradable_balance_ratio``,
``max_open_trades``, ``stoploss``, ``minimal_roi``, ``trailing_*``, ``timeframe``,
``timeframe_detail``, ``timerange``, ``pairs``/``pair_whitelist``, ``exchange``, ``fee``,
``datadir``, ``strategy``/``strategy_path``; levtrade's ``venue``, ``position_mode``,
``leverage``, ``engine``, ``data_format``, ``candles``/``mark``/``index``/``funding`` file
templates, ``coarse_mark``, ``tiers_file``, ``tiers``, ``instruments``, ``outcome``, ``risk``,
``params``, ``report``, ``results_dir``."""

from __future__ import annotations

import math
import string
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import rapidjson
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
)

from levtrade._validation import describe_validation_error, file_problem
from levtrade.backtest.results import Analyzer
from levtrade.configuration.freqtrade import (
    EXCHANGE_IGNORED,
    FREQTRADE_IGNORED,
    known_keys,
    suggest,
)
from levtrade.configuration.timerange import parse_timerange
from levtrade.data import (
    Portfolio,
    parse_timeframe,
)
from levtrade.data.samples import (
    SAMPLE_MARK_TEMPLATE,
    SAMPLE_PAIRS,
    SAMPLE_TIERS,
    SAMPLE_TIMEFRAME,
    sample_dir,
)
from levtrade.errors import ConfigError, LevtradeError
from levtrade.model.instrument import Instrument
from levtrade.risk import margin_analyzers
from levtrade.spec.config import (
    AccountSettings,
    BacktestConfig,
    InstrumentOverrides,
)
from levtrade.venues import load_tier_file, venue_name

DEFAULT_REPORT = "levtrade-report.html"
"""Where ``levtrade backtest`` writes the HTML report unless told otherwise (current dir)."""

DEFAULT_RESULTS = "levtrade-results"
"""Where it writes the exported tables (current dir)."""

DEMO_PAIRS = ("BTC/USDT:USDT", "ETH/USDT:USDT")
"""The pairs of the synthetic demo data."""

DEMO_STRATEGY = "levtrade.templates.strategy:SmaCross"
"""The starter strategy (``levtrade init`` writes the same file) that the demo runs."""

DEMO_LEVERAGES = (3.0, 10.0, 25.0)
"""The leverages a bare ``levtrade backtest`` compares on the recorded sample."""

TRADING_KEYS = frozenset(
    {
        "venue_url",
        "startup_candle_count",
        "poll_interval",
        "reconcile_interval",
        "risk_rules",
        "emergency",
    }
)
"""``levtrade trade``'s own keys (levtrade.configuration.trade): a backtest ignores them."""

DataFormat = Literal["freqtrade", "store", "files", "demo"]

PLACEHOLDERS = ("pair", "symbol", "base", "quote", "settle", "timeframe")

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]

Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


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


class RunConfig(AccountSettings):
    """Everything ``levtrade backtest`` needs; see the module docstring for the keys. The
    account and execution settings are :class:`~levtrade.spec.config.AccountSettings`'."""

    # -- FreqTrade's keys, with their meaning ---------------------------------------------------
    stake_currency: str | None = None
    wallet: Positive | dict[str, Positive] = Field(
        default=10_000.0, validation_alias=AliasChoices("dry_run_wallet", "wallet")
    )
    """FreqTrade's ``dry_run_wallet``: an amount, or ``{currency: amount}``."""
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
    available_capital: Positive | None = None
    """FreqTrade's starting capital for the bot: replaces ``dry_run_wallet``."""
    use_exit_signal: bool | None = None
    ignore_roi_if_entry_signal: bool | None = None
    exit_profit_only: bool | None = None
    exit_profit_offset: float | None = None
    position_adjustment_enable: bool | None = None
    max_entry_position_adjustment: int | None = None
    protections: list[Any] | None = None
    user_data_dir: str | None = None
    recursive_strategy_search: bool | None = None

    # -- levtrade's keys --------------------------------------------------------------------------
    venue: str | None = None
    engine: Literal["auto", "event", "compiled"] = "auto"
    data_format: DataFormat | None = None
    candles: str | None = None
    mark: str | None = None
    index: str | None = None
    funding: str | None = None
    store_exchange: str | None = None
    gaps: Literal["error", "fill", "keep"] = "error"
    coverage: Literal["error", "trim"] = "error"
    coarse_mark: Literal["error", "basis"] = "basis"
    """A mark coarser than the trade candles (FreqTrade downloads 1h marks): ``basis`` (the
    default) scales the trade candles by the basis at each mark candle's open, with a note;
    ``error`` skips it and the trade candles stand in for the mark."""
    tiers_file: str | None = None
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
    def freqtrade_ignored(cls) -> frozenset[str]:
        """The keys this configuration accepts and ignores (listed as such): FreqTrade's bot
        settings, and ``levtrade trade``'s own (one file serves both commands)."""
        return FREQTRADE_IGNORED | TRADING_KEYS

    @classmethod
    def key_sections(cls) -> dict[str, tuple[type[BaseModel], frozenset[str]]]:
        """Tables checked key by key: their model and the FreqTrade keys they ignore."""
        return {
            "exchange": (ExchangeSettings, EXCHANGE_IGNORED),
            "outcome": (OutcomeSettings, frozenset()),
            "risk": (RiskSettings, frozenset()),
        }

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], *, source: str = "<config>", base_dir: Path | None = None
    ) -> RunConfig:
        """Validate a parsed document; unknown keys are errors with the closest known key."""
        if not isinstance(values, Mapping):
            raise ConfigError(f"{source}: expected a table of settings, got {values!r}")
        document = dict(values)
        ignored = _check_keys(document, source, cls)
        try:
            config = cls.model_validate(document)
        except ValidationError as exc:
            raise ConfigError(f"{source}: {describe_validation_error(exc)}") from None
        except LevtradeError as exc:
            raise ConfigError(f"{source}: {exc}") from None
        config._base_dir = (base_dir or Path.cwd()).resolve()
        config._source = source
        config._ignored = ignored
        return config

    @classmethod
    def demo(cls, *, starter: bool = True) -> RunConfig:
        """The run of a bare ``levtrade backtest``: the starter strategy on the recorded sample
        (:mod:`levtrade.data.samples`), 5m candles with the hourly mark candles
        basis-adjusted, isolated margin, and no stop-loss before the liquidation price
        (``stoploss = -1``: the whole stake), so leverage shows what it does. ``starter=False``:
        the sample's data and account without the starter strategy and its stop (for a
        strategy given on the command line)."""
        folder = sample_dir()
        strategy = {"strategy": DEMO_STRATEGY, "stoploss": -1.0} if starter else {}
        return cls.from_mapping(
            {
                **strategy,
                "data_format": "files",
                "datadir": str(folder),
                "mark": SAMPLE_MARK_TEMPLATE,
                "coarse_mark": "basis",
                "tiers_file": str(folder / SAMPLE_TIERS),
                "pairs": list(SAMPLE_PAIRS),
                "timeframe": SAMPLE_TIMEFRAME,
                "leverage": DEMO_LEVERAGES[-1],
                "margin_mode": "isolated",
                "stake_amount": "unlimited",
                "max_open_trades": len(SAMPLE_PAIRS),
                "dry_run_wallet": 10_000,
                "stake_currency": "USDT",
            },
            source="<demo>",
        )

    @classmethod
    def synthetic_demo(cls) -> RunConfig:
        """``levtrade backtest --demo synthetic``: the seeded synthetic demo data and the
        starter strategy at 5x, cross margin."""
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
            source="<synthetic demo>",
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
            raise ConfigError(describe_validation_error(exc)) from None
        except LevtradeError as exc:
            raise ConfigError(str(exc)) from None
        config._base_dir = self._base_dir
        config._source = self._source
        config._ignored = self._ignored
        return config

    # -- derived --------------------------------------------------------------------------------
    @property
    def base_dir(self) -> Path:
        """Relative paths in the file are relative to this: the working directory for a
        JSON (FreqTrade) configuration, as FreqTrade resolves them; the file's directory for
        a TOML one."""
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
        """``data_format``, else ``files`` with file templates, else FreqTrade's data
        directory (a configuration never falls back to the demo data)."""
        if self.data_format is not None:
            return self.data_format
        if any(v is not None for v in (self.candles, self.mark, self.index, self.funding)):
            return "files"
        return "freqtrade"

    def resolved_datadir(self) -> str | None:
        """``datadir``, else FreqTrade's default ``<user_data_dir>/data/<exchange>`` for its
        data format (``user_data/data/binance``)."""
        if self.datadir is not None or self.resolved_format() != "freqtrade":
            return self.datadir
        exchange = self.exchange.name if self.exchange and self.exchange.name else None
        user_data = self.user_data_dir or "user_data"
        return str(Path(user_data) / "data" / (exchange or self.resolved_venue()))

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
            check_pair(pair, self.stake_currency, self.trading_mode)
        return tuple(unique)

    def wallet_amount(self) -> float:
        """``available_capital`` if set, else ``dry_run_wallet`` (a number, or FreqTrade's
        ``{currency: amount}``)."""
        if self.available_capital is not None:
            return float(self.available_capital)
        if isinstance(self.wallet, dict):
            currency = self.stake_currency
            if currency is None or currency not in self.wallet:
                have = ", ".join(self.wallet) or "none"
                raise ConfigError(
                    f"dry_run_wallet: needs an amount in the stake currency {currency!r} "
                    f"(has {have})"
                )
            return float(self.wallet[currency])
        return float(self.wallet)

    def backtest_config(self, pairs: Sequence[str]) -> BacktestConfig:
        """The engine's settings for ``pairs``: the shared account settings as given, FreqTrade's
        ``fee`` on both sides, the wallet in the stake currency, the tier rows of
        ``tiers_file`` and ``tiers``; every pair must have a tier table."""
        venue = self.resolved_venue()
        maker, taker = self.maker_fee, self.taker_fee
        if self.fee is not None:
            if maker is not None or taker is not None:
                raise ConfigError(
                    "fee: set either fee (both sides) or maker_fee/taker_fee, not both"
                )
            maker = taker = self.fee
        shared = AccountSettings.model_fields
        values: dict[str, Any] = {name: getattr(self, name) for name in shared}
        values.update(
            venue=venue,
            wallet=self.wallet_amount(),
            maker_fee=maker,
            taker_fee=taker,
            clearance_fee_rate=self.outcome.clearance_fee_rate,
            liquidation_slippage_bps=self.outcome.liquidation_slippage_bps,
            tiers=self._tier_rows(pairs, venue),
        )
        backtest = BacktestConfig(**values)
        balance = backtest.wallet * backtest.tradable_balance_ratio
        if not isinstance(backtest.stake_amount, str) and backtest.stake_amount > balance:
            # FreqTrade refuses it too: "Starting balance ... is smaller than stake_amount"
            raise ConfigError(
                f"stake_amount: {backtest.stake_amount:g} is above the starting balance "
                f"{balance:g} (dry_run_wallet × tradable_balance_ratio); every entry would be "
                "refused"
            )
        for pair in pairs:
            try:
                table = backtest.tier_table(backtest.instrument(pair))
            except LevtradeError:
                raise ConfigError(
                    f"tiers: no {venue} tier table for {pair}; set tiers_file to a tier file "
                    "(FreqTrade's binance_leverage_tiers.json or a ccxt fetch_leverage_tiers "
                    f'dump) or add [tiers."{pair}"] rows'
                ) from None
            highest = max(t.max_leverage for t in table.tiers)
            if backtest.leverage > highest:
                raise ConfigError(
                    f"leverage: {backtest.leverage:g} is above the maximum leverage of every "
                    f"tier of {pair} on {venue} ({highest:g}x); the venue would refuse every "
                    "entry"
                )
        return backtest

    def _tier_rows(self, pairs: Sequence[str], venue: str) -> dict[str, Any]:
        rows: dict[str, list[dict[str, float]]] = {}
        if self.tiers_file is not None:
            path = self.path(self.tiers_file)
            problem = file_problem(path)
            if problem is not None:
                raise ConfigError(f"tiers_file: {problem}")
            try:
                tables = load_tier_file(path, venue=venue)
            except LevtradeError as exc:
                raise ConfigError(f"tiers_file: {exc}") from None
            by_symbol = {t.symbol: t for t in tables}
            for pair in pairs:
                table = by_symbol.get(pair)
                if table is not None:
                    rows[pair] = table.to_rows()
        rows.update(self.tiers)
        return rows

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
            "use_exit_signal",
            "ignore_roi_if_entry_signal",
            "exit_profit_only",
            "exit_profit_offset",
            "position_adjustment_enable",
            "max_entry_position_adjustment",
            "protections",
        ):
            value = getattr(self, name)
            if value is not None:
                values[name] = value
        return values


def _check_keys(document: dict[str, Any], source: str, model: type[RunConfig]) -> tuple[str, ...]:
    """Drop FreqTrade's keys ``model`` ignores (returned); an unknown key is an error naming
    the closest known key."""
    known = known_keys(model)
    skipped = model.freqtrade_ignored()
    ignored: list[str] = []
    for key in list(document):
        if key in known:
            continue
        if key in skipped:
            ignored.append(key)
            del document[key]
            continue
        raise ConfigError(f"{source}: unknown key {key!r}{suggest(key, sorted(known | skipped))}")
    for section, (section_model, skip) in model.key_sections().items():
        block = document.get(section)
        if not isinstance(block, dict):
            continue
        block = dict(block)
        section_known = known_keys(section_model)
        for key in list(block):
            if key in section_known:
                continue
            if key in skip:
                ignored.append(f"{section}.{key}")
                del block[key]
                continue
            raise ConfigError(
                f"{source}: unknown key {section}.{key}{suggest(key, sorted(section_known | skip))}"
            )
        document[section] = block
    instruments = document.get("instruments")
    if isinstance(instruments, dict):
        spec_known = known_keys(InstrumentOverrides)
        for symbol, spec in instruments.items():
            if isinstance(spec, dict):
                for key in spec:
                    if key not in spec_known:
                        raise ConfigError(
                            f"{source}: unknown key instruments.{symbol!r}.{key}"
                            f"{suggest(key, sorted(spec_known))}"
                        )
    return tuple(ignored)


def check_pair(pair: str, stake_currency: str | None, trading_mode: str = "futures") -> None:
    """A pair the trading mode trades (perpetuals for futures, spot pairs for spot and margin),
    in the stake currency when one is set."""
    try:
        instrument = Instrument.parse(pair)
    except LevtradeError as exc:
        raise ConfigError(f"pairs: {exc}") from None
    if trading_mode == "futures" and instrument.settle is None:
        raise ConfigError(
            f"pairs: {pair!r} is a spot pair; perpetual futures are written "
            f"'{pair}:{instrument.quote}'"
        )
    if trading_mode != "futures" and instrument.settle is not None:
        raise ConfigError(
            f"pairs: {pair!r} is a perpetual; trading_mode {trading_mode!r} trades spot pairs, "
            f"written '{instrument.base}/{instrument.quote}'"
        )
    currency = instrument.margin_currency
    if stake_currency is not None and currency != stake_currency:
        raise ConfigError(
            f"pairs: {pair} settles in {currency}, but stake_currency is {stake_currency!r}"
        )


CONFIG_PARSE_MODE = rapidjson.PM_COMMENTS | rapidjson.PM_TRAILING_COMMAS
"""FreqTrade's JSON: ``//`` and ``/* */`` comments and trailing commas are allowed."""


def _read_document(file: Path, name: str) -> dict[str, Any]:
    problem = file_problem(file)
    if problem is not None:
        raise ConfigError(f"config: {problem}")
    try:
        text = file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config: cannot read {name}: {exc}") from None
    suffix = file.suffix.lower()
    try:
        if suffix == ".toml":
            document: Any = tomllib.loads(text)
        elif suffix == ".json":
            document = rapidjson.loads(text, parse_mode=CONFIG_PARSE_MODE)
        else:
            raise ConfigError(f"config: {name} must end in .toml or .json")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: not valid TOML: {exc}") from None
    except rapidjson.JSONDecodeError as exc:
        raise ConfigError(f"{name}: not valid JSON: {exc}") from None
    except RecursionError:
        raise ConfigError(
            f"config: {name} nests arrays or tables deeper than a reader can follow; a run "
            "configuration nests a few levels"
        ) from None
    if not isinstance(document, dict):
        raise ConfigError(f"{name}: expected a table of settings, got {document!r}")
    if not document:
        raise ConfigError(f"config: {name} holds no settings (an empty file runs nothing)")
    return document


def _deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``, tables merged key by key (FreqTrade's ``deep_merge_dicts``)."""
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _with_added_files(file: Path, name: str, seen: tuple[Path, ...]) -> dict[str, Any]:
    """The document of ``file`` over the files its ``add_config_files`` lists (relative to
    its folder; each under the ones listed after it, the including file on top)."""
    resolved = file.resolve()
    if resolved in seen:
        raise ConfigError(f"add_config_files: {name} includes itself")
    document = _read_document(file, name)
    added = document.pop("add_config_files", None) or []
    if isinstance(added, str) or not isinstance(added, list):
        raise ConfigError(f"add_config_files: a list of files, got {added!r} in {name}")
    merged: dict[str, Any] = {}
    for entry in added:
        child = Path(str(entry)).expanduser()
        if not child.is_absolute():
            child = file.parent / child
        merged = _deep_merge(merged, _with_added_files(child, str(child), (*seen, resolved)))
    return _deep_merge(merged, document)


def load_run_config(
    path: str | Path | Sequence[str | Path], model: type[RunConfig] | None = None
) -> RunConfig:
    """Read one ``.toml``/``.json`` run configuration, or several merged in order (each over
    the ones before, FreqTrade's several ``--config``), with their ``add_config_files``.
    Relative paths are relative to the working directory for JSON (FreqTrade's rule) and to
    the (first) file's folder for TOML. ``model`` reads it as a subclass of the schema (the
    trading configuration)."""
    paths = [path] if isinstance(path, str | Path) else list(path)
    if not paths:
        raise ConfigError("config: no file given")
    document: dict[str, Any] = {}
    for item in paths:
        file = Path(item).expanduser()
        document = _deep_merge(document, _with_added_files(file, str(item), ()))
    first = Path(paths[0]).expanduser()
    base = first.parent if first.suffix.lower() == ".toml" else Path.cwd()
    source = ", ".join(str(p) for p in paths)
    return (model or RunConfig).from_mapping(document, source=source, base_dir=base)
