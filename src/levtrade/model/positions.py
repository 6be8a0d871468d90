"""What identifies a position: margin mode, position mode, leg and the (symbol, leg) key.

The names and values are the venues' (Binance's ``positionSide`` for the legs), so the same
members serve the margin account, the engines, the local venue and the live store.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class TradingMode(StrEnum):
    """FreqTrade's trading modes: spot (no borrowing), spot margin (borrowing with interest)
    and futures (perpetual swaps)."""

    SPOT = "spot"
    MARGIN = "margin"
    FUTURES = "futures"


class MarginMode(StrEnum):
    CROSS = "cross"
    ISOLATED = "isolated"
    STRICT_ISOLATED = "strict_isolated"


class MarketMarginRule(StrEnum):
    """The margin modes a market allows (Hyperliquid's per-asset rule; MARGIN_SPEC.md §12)."""

    ANY = "any"
    """Cross, isolated or strict isolated, as the account chooses."""
    NO_CROSS = "no_cross"
    """Isolated-style with margin management (add and remove): the market never joins a cross
    pool. New positions open isolated unless strict isolated is asked for."""
    STRICT_ISOLATED = "strict_isolated"
    """Strict isolated only: margin can be added, never removed."""

    def allows(self, mode: MarginMode) -> bool:
        """Whether a position on the market may be held in ``mode``."""
        if self is MarketMarginRule.ANY:
            return True
        if self is MarketMarginRule.NO_CROSS:
            return mode is not MarginMode.CROSS
        return mode is MarginMode.STRICT_ISOLATED

    @property
    def default_mode(self) -> MarginMode | None:
        """The mode a new position takes when the account's default is not allowed."""
        if self is MarketMarginRule.NO_CROSS:
            return MarginMode.ISOLATED
        if self is MarketMarginRule.STRICT_ISOLATED:
            return MarginMode.STRICT_ISOLATED
        return None


class AccountType(StrEnum):
    """How collateral is pooled across a venue's DEXs (Hyperliquid; MARGIN_SPEC.md §12)."""

    STANDARD = "standard"
    """Each perp DEX keeps its own balance and its own cross pool."""
    UNIFIED = "unified"
    """One balance per collateral token, shared by every cross position settled in it across
    DEXs, and the same balance as spot in that token."""
    PORTFOLIO_MARGIN = "portfolio_margin"
    """Unified plus cross-asset margining; its rules are not published."""


class PositionMode(StrEnum):
    ONE_WAY = "one_way"
    HEDGE = "hedge"


class Leg(StrEnum):
    """Binance's ``positionSide``: ``BOTH`` in one-way mode, ``LONG``/``SHORT`` in hedge mode."""

    BOTH = "BOTH"
    LONG = "LONG"
    SHORT = "SHORT"


class PositionKey(NamedTuple):
    symbol: str
    leg: Leg
