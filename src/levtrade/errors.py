"""Errors a user can act on: each message names the field and the offending value."""

from __future__ import annotations


class LevtradeError(Exception):
    """Base class for every error levtrade raises on bad input or an impossible action."""


class ConfigError(LevtradeError, ValueError):
    """A configuration or scenario value is invalid."""


class TierTableError(ConfigError):
    """A tier table is malformed (empty, unsorted, gaps between caps and floors, bad rates)."""


class UnknownVenueError(ConfigError):
    """A venue name that levtrade has no profile for."""


class UnknownSymbolError(ConfigError):
    """A symbol that cannot be parsed or has no tier table for the venue."""


class OrderRejected(LevtradeError):
    """An order the venue would refuse: leverage above the tier, margin too small, ..."""


class InsufficientMargin(OrderRejected):
    """Not enough available balance for the initial margin (or a transfer)."""


class LeverageError(OrderRejected):
    """Leverage outside [1, tier maximum] for the position's notional."""


class TransferRejected(LevtradeError):
    """A margin transfer beyond the venue's limit, or forbidden (strict isolated removal)."""


class DataError(LevtradeError, ValueError):
    """Market data that fails validation (names file, column, row and value)."""


class BacktestError(LevtradeError):
    """A backtest that cannot run as asked (data and config that do not fit together, ...)."""


class StrategyError(BacktestError):
    """A strategy misused the API (an order without size, an unknown data feed, ...)."""


class LookaheadError(StrategyError, IndexError):
    """A strategy read a bar after the current one (``close[1]``): a look-ahead bug."""
