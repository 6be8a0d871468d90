"""The tier tables levtrade ships, and the ones ``levtrade data tiers`` refreshed.

Two kinds of package data in ``levtrade/venues/tables/``:

* ``<venue>.json``: small tables written from MARGIN_SPEC.md (BTC and ETH per venue; schema:
  the scenario tier rows ``floor``, ``cap``, ``mmr``, ``maintenance_amount``,
  ``max_leverage``, omitted fields derived), each with its effective date and source;
* ``snapshots/<venue>-<YYYY-MM-DD>.json.gz``: a venue's full tables as they stood on that day,
  in the tier-cache format of :mod:`levtrade.venues.sources` with their ``source`` (Binance's
  USDⓈ-M brackets for every market, from the dated copies FreqTrade ships and has shipped).

The default look-ups (:func:`default_tiers`, :func:`default_registry`) hold both, plus the
tables in the user's tier directory (:func:`user_tier_dir`), where ``levtrade data tiers``
writes what it fetches: a refreshed table is dated the day it was fetched, so it supersedes
the shipped ones from that day on.
"""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from functools import cache
from importlib import resources
from pathlib import Path

from levtrade.errors import LevtradeError, TierTableError
from levtrade.margin.tiers import TierTable
from levtrade.venues.registry import VENUES, TierRegistry, unified_symbol, venue_name
from levtrade.venues.sources import TierSnapshot, load_cached_tiers, read_tier_snapshot

TIERS_DIR_ENV = "LEVTRADE_TIERS_DIR"
"""Environment variable naming the user's tier directory (empty: none)."""

DEFAULT_TIERS_DIR = Path("~/.levtrade/tiers")
"""The user's tier directory when :data:`TIERS_DIR_ENV` is not set."""


def user_tier_dir() -> Path | None:
    """Where ``levtrade data tiers`` writes and the default look-ups read refreshed tables:
    ``$LEVTRADE_TIERS_DIR``, else ``~/.levtrade/tiers``; None when the variable is empty."""
    value = os.environ.get(TIERS_DIR_ENV)
    if value is not None:
        return Path(value).expanduser() if value.strip() else None
    return DEFAULT_TIERS_DIR.expanduser()


def default_tiers(venue: str, symbol: str, at: date | datetime | int | None = None) -> TierTable:
    """The tier table for ``symbol`` on ``venue`` in force at ``at`` (a day, a datetime or ms
    UTC; None: the latest) among the shipped and refreshed tables (module docstring). Only
    that symbol's tables are read from the shipped snapshots."""
    name = venue_name(venue)
    listing = _listing(user_tier_dir())
    try:
        unified = unified_symbol(name, symbol)
    except LevtradeError:
        unified = symbol
    registry = _symbol_registry(listing, name, unified)
    if len(registry) == 0:
        # no table at all: the full registry's error names the close matches
        return _full_registry(listing).get(name, symbol, at)
    return registry.get(name, unified, at)


def default_registry() -> TierRegistry:
    """A registry holding the shipped tables plus the user's refreshed ones (a refreshed table
    replaces a shipped one of the same venue, symbol and day), ready for more to be added."""
    return TierRegistry(_full_registry(_listing(user_tier_dir())))


def shipped_tables() -> tuple[TierTable, ...]:
    """Every table shipped as package data (module docstring), oldest snapshot first."""
    return _small_tables() + tuple(t for snap in _snapshots() for t in snap.tables())


Listing = tuple[str, tuple[tuple[str, int, int], ...]]


def _listing(folder: Path | None) -> Listing:
    """The tier directory and its files' names, sizes and times: the key of the caches."""
    if folder is None or not folder.is_dir():
        return ("", ())
    files = []
    for file in sorted(folder.iterdir()):
        if file.is_file():
            stat = file.stat()
            files.append((file.name, stat.st_size, stat.st_mtime_ns))
    return (str(folder), tuple(files))


@cache
def _user_tables(listing: Listing) -> tuple[TierTable, ...]:
    folder, files = listing
    return tuple(load_cached_tiers(folder)) if files else ()


@cache
def _symbol_registry(listing: Listing, venue: str, symbol: str) -> TierRegistry:
    registry = TierRegistry(t for t in _small_tables() if t.venue == venue and t.symbol == symbol)
    for snapshot in _snapshots():
        table = snapshot.table(symbol) if snapshot.venue == venue else None
        if table is not None:
            registry.add(table)
    registry.extend(
        (t for t in _user_tables(listing) if t.venue == venue and t.symbol == symbol),
        replace=True,
    )
    return registry


@cache
def _full_registry(listing: Listing) -> TierRegistry:
    registry = TierRegistry(shipped_tables())
    registry.extend(_user_tables(listing), replace=True)
    return registry


@cache
def _small_tables() -> tuple[TierTable, ...]:
    tables: list[TierTable] = []
    folder = resources.files("levtrade.venues") / "tables"
    for name in VENUES:
        text = (folder / f"{name}.json").read_text("utf-8")
        tables.extend(read_shipped(name, f"levtrade/venues/tables/{name}.json", text))
    return tuple(tables)


@cache
def _snapshots() -> tuple[TierSnapshot, ...]:
    folder = resources.files("levtrade.venues") / "tables" / "snapshots"
    found = []
    for resource in sorted(folder.iterdir(), key=lambda r: r.name):
        if resource.name.endswith(".json.gz"):
            where = f"levtrade/venues/tables/snapshots/{resource.name}"
            found.append(read_tier_snapshot(resource.read_bytes(), where))
    return tuple(found)


def read_shipped(venue: str, where: str, text: str) -> list[TierTable]:
    """The tables of one ``<venue>.json`` file (schema in the module docstring)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TierTableError(f"{where}: not valid JSON ({exc})") from None
    if not isinstance(document, dict) or document.get("venue") != venue:
        raise TierTableError(f"{where}: expected an object with venue {venue!r}")
    entries = document.get("tables")
    if not isinstance(entries, list) or not entries:
        raise TierTableError(f"{where}: 'tables' must be a non-empty list, got {entries!r}")
    tables = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise TierTableError(f"{where} tables[{i}]: expected an object, got {entry!r}")
        raw_date = entry.get("effective_date")
        try:
            effective = date.fromisoformat(raw_date) if raw_date is not None else None
        except (TypeError, ValueError):
            raise TierTableError(
                f"{where} tables[{i}]: effective_date must be YYYY-MM-DD, got {raw_date!r}"
            ) from None
        rows = entry.get("tiers")
        if not isinstance(rows, list):
            raise TierTableError(f"{where} tables[{i}]: 'tiers' must be a list, got {rows!r}")
        symbol = entry.get("symbol")
        if not isinstance(symbol, str):
            raise TierTableError(f"{where} tables[{i}]: symbol must be a string, got {symbol!r}")
        if not all(isinstance(row, dict) for row in rows):
            raise TierTableError(f"{where} tables[{i}]: every tier must be an object")
        tables.append(
            TierTable.from_rows(
                rows,
                venue=venue,
                symbol=symbol,
                effective_date=effective,
                source=str(entry.get("source", "")),
            )
        )
    return tables
