"""What identifies a position: margin mode, position mode, leg and the (symbol, leg) key.

The names and values are the venues' (Binance's ``positionSide`` for the legs), so the same
members serve the margin account, the engines, the local venue and the live store.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class MarginMode(StrEnum):
    CROSS = "cross"
    ISOLATED = "isolated"
    STRICT_ISOLATED = "strict_isolated"


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
