"""A local exchange: Binance USDⓈ-M's REST and websocket API over levtrade's margin engine.

``serve(...)`` starts a venue in-process (tests, notebooks) and returns the running server;
``client(url, key, secret)`` gives a ccxt ``binanceusdm`` pointed at it. ``levtrade venue
serve`` is the command. See docs/localvenue.md.
"""

from __future__ import annotations

from levtrade.localvenue.client import client
from levtrade.localvenue.exchange import Venue, VenueEvent, VenueSettings
from levtrade.localvenue.launch import serve, venue_from
from levtrade.localvenue.server import VenueServer

__all__ = [
    "Venue",
    "VenueEvent",
    "VenueServer",
    "VenueSettings",
    "client",
    "serve",
    "venue_from",
]
