"""What stops a trading bot, each naming what it found: a message a trader can act on."""

from __future__ import annotations

from levtrade.errors import LevtradeError


class LiveError(LevtradeError):
    """Base class of the trading layer's errors."""


class StoreError(LiveError):
    """The store cannot be opened, migrated or written."""


class VenueBanned(LiveError):
    """HTTP 418: the venue banned this IP for sending too many requests. Nothing is sent until
    the ban ends; the bot halts."""


class VenueUnavailable(LiveError):
    """The venue did not answer after every retry (network down, maintenance)."""


class PreflightRefused(LiveError):
    """The account's settings on the venue differ from the configuration and cannot be changed
    (a position or open orders block the change), or the venue refuses the change."""


class Discrepancy(LiveError):
    """The store and the venue disagree in a way the reconciliation cannot explain; the bot
    does not trade until it is resolved."""
