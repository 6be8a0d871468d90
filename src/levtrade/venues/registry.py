"""Venue look-up, symbol mapping and tier tables versioned by venue, symbol and effective date.

Venues change their tier tables without notice (Binance's BTCUSDT tier 1 went from 125x/50k to
150x/300k in 2025, MARGIN_SPEC.md §1.1), so a backtest must use the table that was in force on
the day it simulates. :class:`TierRegistry` keeps every dated table and answers "the latest
table effective on or before this day" (:mod:`levtrade.venues.shipped` fills one with the tables
levtrade ships).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import Any

from levtrade.errors import ConfigError, TierTableError, UnknownSymbolError, UnknownVenueError
from levtrade.margin.tiers import TierTable
from levtrade.model.instrument import Instrument
from levtrade.model.venue import VenueProfile
from levtrade.venues import binance, bybit, dydx, hyperliquid, okx

VENUES: Mapping[str, VenueProfile] = MappingProxyType(
    {m.PROFILE.name: m.PROFILE for m in (binance, bybit, okx, hyperliquid, dydx)}
)
"""Every venue levtrade has a profile for, by canonical name."""

_TO_VENUE: Mapping[str, Callable[[str], str]] = MappingProxyType(
    {m.PROFILE.name: m.to_venue_symbol for m in (binance, bybit, okx, hyperliquid, dydx)}
)
_TO_CCXT: Mapping[str, Callable[[str], str]] = MappingProxyType(
    {m.PROFILE.name: m.to_ccxt_symbol for m in (binance, bybit, okx, hyperliquid, dydx)}
)
_CONTRACT_SIZES: Mapping[str, Mapping[str, float]] = MappingProxyType({"okx": okx.CONTRACT_SIZES})

# ccxt exchange ids that name a venue levtrade knows under another name.
_ALIASES: Mapping[str, str] = MappingProxyType(
    {"binanceusdm": "binance", "binancecoinm": "binance"}
)


def venue_name(name: str) -> str:
    """Canonical venue name for ``name`` (case-insensitive; ccxt ids such as ``binanceusdm``
    are accepted)."""
    if not isinstance(name, str):
        raise UnknownVenueError(f"venue: expected a venue name, got {name!r}")
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in VENUES:
        raise UnknownVenueError(
            f"venue: unknown venue {name!r}; known venues: {', '.join(sorted(VENUES))}"
        )
    return key


def get_venue(name: str) -> VenueProfile:
    """The profile of a venue, by name (case-insensitive)."""
    return VENUES[venue_name(name)]


def venue_symbol(venue: str, symbol: str) -> str:
    """The venue's own id for a ccxt symbol (``binance``, ``BTC/USDT:USDT`` → ``BTCUSDT``)."""
    return _TO_VENUE[venue_name(venue)](symbol)


def ccxt_symbol(venue: str, symbol: str) -> str:
    """The ccxt symbol for a venue's own id (``hyperliquid``, ``BTC`` → ``BTC/USDC:USDC``)."""
    return _TO_CCXT[venue_name(venue)](symbol)


def unified_symbol(venue: str, symbol: str) -> str:
    """``symbol`` as a ccxt symbol: unified symbols pass through, the venue's ids are mapped."""
    if not isinstance(symbol, str) or not symbol.strip():
        raise UnknownSymbolError(f"symbol: expected a symbol, got {symbol!r}")
    symbol = symbol.strip()
    return symbol if "/" in symbol else ccxt_symbol(venue, symbol)


def instrument_for(venue: str, symbol: str, **overrides: Any) -> Instrument:
    """The instrument for ``symbol`` (ccxt symbol or venue id) with the venue's default fees,
    funding interval and contract size; ``overrides`` set any field explicitly."""
    name = venue_name(venue)
    profile = VENUES[name]
    unified = unified_symbol(name, symbol)
    fields: dict[str, Any] = {
        "maker_fee": profile.maker_fee,
        "taker_fee": profile.taker_fee,
        "funding_interval_hours": profile.funding_interval_hours,
        "venue": name,
    }
    contract_size = _CONTRACT_SIZES.get(name, {}).get(unified)
    if contract_size is not None:
        fields["contract_size"] = contract_size
    fields.update(overrides)
    return Instrument.parse(unified, **fields)


def _as_date(at: date | datetime | int | None) -> date | None:
    """A day from a date, a datetime (naive means UTC) or int64 milliseconds UTC."""
    if at is None:
        return None
    if isinstance(at, datetime):
        return at.astimezone(UTC).date() if at.tzinfo is not None else at.date()
    if isinstance(at, date):
        return at
    if isinstance(at, int) and not isinstance(at, bool):
        try:
            return datetime.fromtimestamp(at / 1000.0, tz=UTC).date()
        except (OverflowError, OSError, ValueError):
            raise ConfigError(f"at: {at!r} ms is outside the supported date range") from None
    raise ConfigError(
        f"at: expected a date, a datetime or milliseconds since the epoch, got {at!r}"
    )


def _registry_venue(venue: str) -> str:
    """Key a table's venue: known names and aliases canonically, any other name lower-cased."""
    if not isinstance(venue, str) or not venue.strip():
        raise UnknownVenueError(f"venue: expected a venue name, got {venue!r}")
    key = venue.strip().lower()
    return _ALIASES.get(key, key)


def _order(table: TierTable) -> date:
    return table.effective_date or date.min


class TierRegistry:
    """Tier tables by venue, symbol and effective date.

    A table applies from its ``effective_date`` until the next table's; an undated table
    (``effective_date`` None) applies from the beginning of time, so a dated table supersedes it.
    """

    def __init__(self, tables: Iterable[TierTable] = ()) -> None:
        self._tables: dict[tuple[str, str], list[TierTable]] = {}
        self.extend(tables)

    def add(self, table: TierTable, *, replace: bool = False) -> None:
        """Add one table; a second table for the same venue, symbol and date is an error
        unless ``replace`` is set."""
        key = (_registry_venue(table.venue), table.symbol)
        history = self._tables.setdefault(key, [])
        for i, existing in enumerate(history):
            if existing.effective_date == table.effective_date:
                if not replace:
                    raise TierTableError(
                        f"tier table for {key[0]} {table.symbol!r} effective "
                        f"{table.effective_date} is already registered (source "
                        f"{existing.source!r}); pass replace=True to overwrite it"
                    )
                history[i] = table
                return
        history.append(table)
        history.sort(key=_order)

    def extend(self, tables: Iterable[TierTable], *, replace: bool = False) -> None:
        """Add many tables (see :meth:`add`)."""
        for table in tables:
            self.add(table, replace=replace)

    def get(self, venue: str, symbol: str, at: date | datetime | int | None = None) -> TierTable:
        """The latest table for ``venue``/``symbol`` effective on or before ``at`` (a day,
        datetime or ms timestamp); ``at=None`` gives the latest table.

        ``symbol`` is a ccxt symbol or, for a known venue, the venue's own id.
        """
        history = self.history(venue, symbol)
        day = _as_date(at)
        if day is None:
            return history[-1]
        in_force = [t for t in history if _order(t) <= day]
        if not in_force:
            raise UnknownSymbolError(
                f"no tier table for {_registry_venue(venue)} {history[0].symbol!r} in force on "
                f"{day.isoformat()}: the earliest is effective {history[0].effective_date}"
            )
        return in_force[-1]

    def history(self, venue: str, symbol: str) -> tuple[TierTable, ...]:
        """Every table for ``venue``/``symbol``, oldest first."""
        key_venue = _registry_venue(venue)
        if not isinstance(symbol, str) or not symbol.strip():
            raise UnknownSymbolError(f"symbol: expected a symbol, got {symbol!r}")
        wanted = symbol.strip()
        history = self._tables.get((key_venue, wanted))
        if history is None and key_venue in VENUES:
            # a venue id, or another ccxt spelling of the same market (dYdX's ETH/USD:USDC is
            # ETH/USDC:USDC): look it up by the venue's own id
            try:
                native = venue_symbol(key_venue, wanted) if "/" in wanted else wanted
                history = self._tables.get((key_venue, ccxt_symbol(key_venue, native)))
            except UnknownSymbolError:
                history = None
        if not history:
            raise UnknownSymbolError(self._missing_message(key_venue, wanted))
        return tuple(history)

    def _missing_message(self, venue: str, symbol: str) -> str:
        known = self.symbols(venue)
        if not known:
            venues = ", ".join(self.venues()) or "none"
            return (
                f"no tier table for {venue} {symbol!r}: the registry holds no tables for "
                f"venue {venue!r} (venues with tables: {venues})"
            )
        close = difflib.get_close_matches(symbol.upper(), known, n=5, cutoff=0.5)
        hint = f"; close matches: {', '.join(close)}" if close else ""
        return f"no tier table for {venue} {symbol!r} ({len(known)} symbols known{hint})"

    def symbols(self, venue: str) -> tuple[str, ...]:
        """Symbols with at least one table for ``venue``, sorted."""
        key_venue = _registry_venue(venue)
        return tuple(sorted(s for v, s in self._tables if v == key_venue))

    def venues(self) -> tuple[str, ...]:
        """Venues with at least one table, sorted."""
        return tuple(sorted({v for v, _ in self._tables}))

    def __iter__(self) -> Iterator[TierTable]:
        for history in self._tables.values():
            yield from history

    def __len__(self) -> int:
        return sum(len(history) for history in self._tables.values())
