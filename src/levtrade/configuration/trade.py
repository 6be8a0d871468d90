"""The trading configuration: the run configuration's keys plus what ``levtrade trade`` needs,
so that one FreqTrade-style file serves ``levtrade backtest`` and ``levtrade trade``.

FreqTrade's keys, with their meaning here: ``dry_run`` (paper trading, default true),
``dry_run_wallet`` (the paper account's wallet), ``db_url`` (the store: a SQLite file by
default, ``levtrade-trade.sqlite`` or ``levtrade-trade.dryrun.sqlite`` beside the file; or
``postgresql://…``), ``exchange.name``, ``exchange.key`` / ``secret`` / ``password`` (or the
environment: ``LEVTRADE__EXCHANGE__KEY`` … or FreqTrade's ``FREQTRADE__EXCHANGE__KEY`` …),
``exchange.ccxt_config``, ``trading_mode``, ``margin_mode``, ``stake_amount``,
``max_open_trades``, ``stoploss`` with ``order_types.stoploss_on_exchange`` (the protective
stop kept on the venue) and ``order_types.stoploss_price_type``. levtrade's own:
``venue_url`` (a ``levtrade venue serve`` instance: live, the venue traded on; paper, the
source of candles), ``startup_candle_count``, ``poll_interval``, ``reconcile_interval``,
``[risk_rules]`` (pre-trade checks, :class:`levtrade.risk.RiskRules`) and ``[emergency]``
(the emergency protocol, :class:`levtrade.risk.EmergencyProtocol`).

A backtest reads the same file: these keys mean nothing to it and are listed as ignored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from levtrade.configuration.config import (
    ExchangeSettings,
    OutcomeSettings,
    RiskSettings,
    RunConfig,
    load_run_config,
)
from levtrade.configuration.freqtrade import EXCHANGE_IGNORED, FREQTRADE_IGNORED
from levtrade.errors import ConfigError
from levtrade.live.settings import ProtectiveStop, TradeSettings
from levtrade.risk import (
    CloseAll,
    DrawdownAbove,
    EmergencyProtocol,
    LiquidationWithin,
    MarginLevelBelow,
    ReduceBy,
    RiskRules,
)

HONOURED = frozenset({"dry_run", "db_url", "order_types"})
"""FreqTrade's keys that a backtest ignores and trading honours."""

EXCHANGE_HONOURED = frozenset(
    {"key", "secret", "password", "ccxt_config", "ccxt_async_config", "ccxt_sync_config"}
)

ENVIRONMENT = ("LEVTRADE__EXCHANGE__", "FREQTRADE__EXCHANGE__")
"""Prefixes of the environment variables that hold the API credentials."""


class TradeExchangeSettings(ExchangeSettings):
    """FreqTrade's ``exchange`` block as trading reads it: the credentials and ccxt's
    settings too."""

    key: str | None = None
    secret: str | None = None
    password: str | None = None
    ccxt_config: dict[str, Any] = Field(default_factory=dict)
    ccxt_async_config: dict[str, Any] = Field(default_factory=dict)
    ccxt_sync_config: dict[str, Any] = Field(default_factory=dict)


class OrderTypes(BaseModel):
    """FreqTrade's ``order_types``: ``stoploss_on_exchange`` keeps the protective stop on the
    venue, on the ``stoploss_price_type`` price. The strategy's own orders are the types it
    places (``entry``/``exit`` are accepted for FreqTrade's files)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    entry: str | None = None
    exit: str | None = None
    emergency_exit: str | None = None
    force_exit: str | None = None
    force_entry: str | None = None
    stoploss: str | None = None
    stoploss_on_exchange: bool = False
    stoploss_on_exchange_interval: int = 60
    stoploss_on_exchange_limit_ratio: float = 0.99
    stoploss_price_type: Literal["last", "mark"] = "last"


class RiskRulesSettings(BaseModel):
    """``[risk_rules]``: the pre-trade limits (:class:`levtrade.risk.RiskRules`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_leverage: float | None = None
    max_effective_leverage: float | None = None
    max_risk_per_trade: float | None = None
    max_open_positions: int | None = None
    max_symbol_exposure: float | dict[str, float] | None = None

    def rules(self) -> RiskRules:
        return RiskRules(**self.model_dump())


class EmergencySettings(BaseModel):
    """``[emergency]``: the emergency protocol's triggers and its action — ``"close_all"`` or
    a fraction to reduce every named position by."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    margin_level_below: float | None = None
    drawdown_above: float | None = None
    liquidation_within: float | None = None
    """A fraction of the price: fires when the mark is this close to the liquidation price."""
    action: Literal["close_all"] | Annotated[float, Field(gt=0, le=1)] = "close_all"

    def protocol(self) -> EmergencyProtocol:
        action = CloseAll() if self.action == "close_all" else ReduceBy(float(self.action))
        triggers: list[Any] = []
        if self.margin_level_below is not None:
            triggers.append(MarginLevelBelow(self.margin_level_below))
        if self.drawdown_above is not None:
            triggers.append(DrawdownAbove(self.drawdown_above))
        if self.liquidation_within is not None:
            triggers.append(LiquidationWithin(fraction=self.liquidation_within))
        if not triggers:
            raise ConfigError(
                "emergency: name at least one trigger (margin_level_below, drawdown_above, "
                "liquidation_within)"
            )
        return EmergencyProtocol(triggers, action=action)


class TradeConfig(RunConfig):
    """Everything ``levtrade trade`` needs; see the module docstring for the keys."""

    dry_run: bool = True
    db_url: str | None = None
    venue_url: str | None = None
    exchange: TradeExchangeSettings | None = None
    order_types: OrderTypes = Field(default_factory=OrderTypes)
    startup_candle_count: Annotated[int, Field(ge=1)] = 200
    poll_interval: Annotated[float, Field(gt=0)] = 5.0
    reconcile_interval: Annotated[float, Field(gt=0)] = 60.0
    risk_rules: RiskRulesSettings | None = None
    emergency: EmergencySettings | None = None

    @classmethod
    def freqtrade_ignored(cls) -> frozenset[str]:
        return FREQTRADE_IGNORED - HONOURED

    @classmethod
    def key_sections(cls) -> dict[str, tuple[type[BaseModel], frozenset[str]]]:
        return {
            "exchange": (TradeExchangeSettings, EXCHANGE_IGNORED - EXCHANGE_HONOURED),
            "outcome": (OutcomeSettings, frozenset()),
            "risk": (RiskSettings, frozenset()),
            "order_types": (OrderTypes, frozenset()),
            "risk_rules": (RiskRulesSettings, frozenset()),
            "emergency": (EmergencySettings, frozenset()),
        }

    # -- derived --------------------------------------------------------------------------------
    def resolved_exchange(self) -> str:
        """The venue traded: ``exchange.name`` (ccxt's id or levtrade's venue name)."""
        if self.exchange is not None and self.exchange.name:
            return self.exchange.name
        return self.resolved_venue()

    def resolved_db_url(self) -> str:
        """``db_url``, or a SQLite file beside the configuration (one for paper, one live)."""
        if self.db_url:
            url = self.db_url
            if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
                return f"sqlite:///{self.path(url[len('sqlite:///') :])}"
            return url
        name = "levtrade-trade.dryrun.sqlite" if self.dry_run else "levtrade-trade.sqlite"
        return f"sqlite:///{self.path(name)}"

    def credentials(
        self, environ: Mapping[str, str] | None = None
    ) -> tuple[str | None, str | None, str | None]:
        """(key, secret, password): the file's, else the environment's."""
        env = os.environ if environ is None else environ
        block = self.exchange
        values = []
        for name in ("key", "secret", "password"):
            value = getattr(block, name) if block is not None else None
            if not value:
                value = next(
                    (env[p + name.upper()] for p in ENVIRONMENT if env.get(p + name.upper())), None
                )
            values.append(value)
        return values[0], values[1], values[2]

    def trade_settings(
        self,
        *,
        strategy_name: str = "",
        adopt: bool = False,
        environ: Mapping[str, str] | None = None,
        strategy_stoploss: float | None = None,
    ) -> TradeSettings:
        """The bot's settings; a live run without credentials is refused, naming where they
        go. ``strategy_stoploss`` (a signal strategy's ``stoploss``) is the protective stop's
        when the file sets none."""
        if self.trading_mode != "futures":
            raise ConfigError(
                f"trading_mode: {self.trading_mode!r} is not traded on paper or live: the bot "
                "trades perpetual futures; spot and spot margin run in backtests and the "
                "calculator"
            )
        pairs = self.resolved_pairs()
        if not pairs:
            raise ConfigError("pairs: name the pairs to trade (pair_whitelist)")
        if self.timeframe is None:
            raise ConfigError(
                "timeframe: required for trading (the candle the strategy decides on)"
            )
        key, secret, password = self.credentials(environ)
        if not self.dry_run and (not key or not secret):
            raise ConfigError(
                "exchange.key / exchange.secret: a live run (dry_run = false) needs the API "
                "credentials, in the file or in LEVTRADE__EXCHANGE__KEY / "
                "LEVTRADE__EXCHANGE__SECRET"
            )
        block = self.exchange
        ccxt_config: dict[str, Any] = {}
        if block is not None:
            ccxt_config = {**block.ccxt_config, **block.ccxt_async_config}
        stop = None
        stoploss = self.stoploss if self.stoploss is not None else strategy_stoploss
        if stoploss is not None and self.order_types.stoploss_on_exchange:
            stop = ProtectiveStop(
                stoploss=stoploss,
                working_type="MARK_PRICE"
                if self.order_types.stoploss_price_type == "mark"
                else "CONTRACT_PRICE",
            )
        return TradeSettings(
            exchange=self.resolved_exchange(),
            symbols=pairs,
            timeframe=self.timeframe,
            db_url=self.resolved_db_url(),
            account=self.backtest_config(pairs),
            dry_run=self.dry_run,
            key=key,
            secret=secret,
            password=password,
            venue_url=self.venue_url,
            ccxt_config=ccxt_config,
            startup_candle_count=self.startup_candle_count,
            poll_interval=self.poll_interval,
            reconcile_interval=self.reconcile_interval,
            protective_stop=stop,
            rules=self.risk_rules.rules() if self.risk_rules is not None else None,
            emergency=self.emergency.protocol() if self.emergency is not None else None,
            margin_call_level=self.risk.margin_call_level,
            adopt=adopt,
            strategy_name=strategy_name,
        )


def load_trade_config(path: str | Path | Sequence[str | Path]) -> TradeConfig:
    """Read a ``.toml`` or ``.json`` trading configuration (several merged, as
    :func:`~levtrade.configuration.config.load_run_config` reads them)."""
    config = load_run_config(path, TradeConfig)
    assert isinstance(config, TradeConfig)
    return config
