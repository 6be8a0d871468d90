"""Putting a venue together: data, settings, clock, state file; and starting its server."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from levtrade.data import Portfolio, parse_time
from levtrade.localvenue.clock import Clock, ClockMode
from levtrade.localvenue.exchange import Venue, VenueSettings, describe
from levtrade.localvenue.journal import Journal
from levtrade.localvenue.marketdata import load_demo, load_directory
from levtrade.localvenue.server import VenueServer
from levtrade.venues import load_tier_file

DEFAULT_KEYS = {"levtrade-key": "levtrade-secret"}
DEMO_DEFAULT = ("BTC/USDT:USDT", "ETH/USDT:USDT")
"""The demo symbols served by default: those levtrade ships Binance's brackets for."""


def venue_from(
    *,
    data: str | Path | Portfolio | None = None,
    symbols: Sequence[str] | None = None,
    timeframe: str = "1h",
    wallet: float = 10_000.0,
    api_keys: Mapping[str, str] | None = None,
    start: int | str | None = None,
    clock: ClockMode = "manual",
    speed: float = 1.0,
    state: str | Path | None = None,
    config: Mapping[str, Any] | None = None,
    tiers_file: str | Path | None = None,
) -> tuple[Venue, Clock]:
    """A venue over ``data`` (a data directory, a :class:`Portfolio`, or None for the demo),
    with its clock; with ``state``, restored from (and journaling to) that file.

    ``config`` holds the backtest settings fills follow (``slippage_bps``, fees, ``tiers``,
    ``instruments`` ...); ``tiers_file`` a ccxt or Binance bracket file for symbols whose
    brackets levtrade does not ship."""
    if isinstance(data, Portfolio):
        portfolio = data
        timeframe = data.timeframe
    elif data is None:
        portfolio = load_demo(symbols or DEMO_DEFAULT, timeframe)
    else:
        portfolio = load_directory(data, symbols, timeframe)
    start_ms = parse_time(start) if isinstance(start, str) else start
    settings = VenueSettings(
        wallet=wallet,
        api_keys=dict(api_keys or DEFAULT_KEYS),
        start=start_ms,
        config=_with_tiers(dict(config or {}), portfolio, tiers_file),
    )
    venue = Venue(portfolio, settings, timeframe=timeframe)
    start_time = int(venue.timestamps[venue.start_bar])
    timer = Clock(clock, venue.timeframe_ms, start_time, speed)
    journal = None
    if state is not None:
        journal = Journal(state, describe(venue))
        venue.replay(journal.commands())
        venue.journal = journal
    if clock == "realtime":
        # data time follows the wall clock, with one shift for the life of the state file:
        # a restarted venue catches up with the bars that passed while it was down
        shift = timer.started_wall - start_time
        if journal is not None:
            shift = journal.setting("shift_ms", shift)
        venue.shift_ms = shift
        timer.start_time = timer.started_wall - shift
    elif clock == "replay" and journal is not None:
        timer.start_time = venue.now()  # the replay resumes where the venue stopped
    return venue, timer


def _with_tiers(
    config: dict[str, Any], portfolio: Portfolio, tiers_file: str | Path | None
) -> dict[str, Any]:
    """``config`` with the brackets of ``tiers_file`` for the served symbols it has no
    ``tiers`` for."""
    if tiers_file is None:
        return config
    tables = {t.symbol: t for t in load_tier_file(tiers_file, venue="binance")}
    rows = dict(config.get("tiers") or {})
    for market in portfolio.markets:
        table = tables.get(market.symbol)
        if table is not None and market.symbol not in rows:
            rows[market.symbol] = table.to_rows()
    return {**config, "tiers": rows}


def serve(*, host: str = "127.0.0.1", port: int = 0, **options: Any) -> VenueServer:
    """Start a venue in a background thread and return its server (``.url``, ``.stop_thread``).

    ``options`` are :func:`venue_from`'s. ``port=0`` picks a free port."""
    venue, timer = venue_from(**options)
    server = VenueServer(venue, timer, host=host, port=port)
    server.start_in_thread()
    return server
