"""The trade types FreqTrade strategies import for their callbacks' annotations
(``from freqtrade.persistence import Trade``). levtrade runs no callback that receives a trade
(they are refused by name), so these classes describe; they hold no state of a run."""

from __future__ import annotations

from datetime import datetime


class Trade:
    """An open or closed trade as FreqTrade's callbacks see it."""

    pair: str
    is_short: bool
    leverage: float
    open_rate: float
    open_date_utc: datetime
    amount: float
    stake_amount: float
    enter_tag: str | None


class Order:
    """One order of a trade."""

    ft_order_side: str
    price: float
    amount: float
    filled: float


class PairLocks:
    """FreqTrade's pair locks (set by protections, which levtrade refuses)."""
