"""What a trading bot runs with, resolved: the venue and account, the market, the store, the
strategy's account settings and the safety settings. ``levtrade.configuration.trade`` builds
it from a FreqTrade-style configuration file; tests and notebooks build it directly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from levtrade.live.adapter import RetryPolicy
from levtrade.risk import EmergencyProtocol, RiskRules
from levtrade.spec import BacktestConfig


@dataclass(frozen=True)
class ProtectiveStop:
    """A stop-loss kept on the venue for every open position (FreqTrade's
    ``stoploss_on_exchange``): ``stoploss`` is a ratio of the stake (−0.10: lose 10 % of the
    margin), so the trigger is ``entry × (1 + stoploss / leverage)`` for a long and
    ``entry × (1 − stoploss / leverage)`` for a short, on the ``working_type`` price."""

    stoploss: float
    working_type: Literal["CONTRACT_PRICE", "MARK_PRICE"] = "MARK_PRICE"


@dataclass(frozen=True)
class TradeSettings:
    """Everything the runner needs (module docstring)."""

    exchange: str
    """The venue (``binance``, ``bybit``, ``okx``, ``hyperliquid``; ccxt's ids too)."""
    symbols: tuple[str, ...]
    timeframe: str
    db_url: str
    account: BacktestConfig
    """Margin mode, position mode, leverage, stake, fees of the paper venue ..."""
    dry_run: bool = True
    key: str | None = None
    secret: str | None = None
    password: str | None = None
    venue_url: str | None = None
    """A ``levtrade venue serve`` instance to trade on (live), or to read candles from (paper)."""
    ccxt_config: Mapping[str, Any] = field(default_factory=dict)
    startup_candle_count: int = 200
    """Closed candles loaded before the first decision (the strategy's warm-up)."""
    history_start: int | None = None
    """Open time of the first candle to load (instead of counting back from now)."""
    poll_interval: float = 5.0
    """Seconds between looks at the venue for a closed candle."""
    reconcile_interval: float = 60.0
    """Seconds between reconciliations when no candle closes."""
    protective_stop: ProtectiveStop | None = None
    rules: RiskRules | None = None
    emergency: EmergencyProtocol | None = None
    margin_call_level: float = 1.5
    streams: bool = True
    """Listen to the account's user stream (ccxt.pro) to react between polls."""
    adopt: bool = False
    """Take over positions and orders found on the venue at start."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    strategy_name: str = ""
    paper_key: str = "paper-key"
    paper_secret: str = "paper-secret"

    @property
    def mode(self) -> str:
        return "paper" if self.dry_run else "live"

    @property
    def currency(self) -> str:
        """The settle currency of the symbols traded."""
        settle = self.symbols[0].rpartition(":")[2]
        return settle or "USDT"

    @property
    def hedge(self) -> bool:
        return self.account.position_mode == "hedge"
