"""The venue's user stream (ccxt.pro ``watch_orders``) as a doorbell: an order update — a fill,
a liquidation, an order placed by hand — wakes the bot at once instead of at its next poll.

The stream never books anything: what it announces is read and booked by the reconciliation,
from the REST history, once (a stream can drop messages and reconnect; the store cannot miss
them that way). When the venue has no stream or it fails, the bot polls as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import ccxt.pro

from levtrade.live.dialects import Dialect

logger = logging.getLogger("levtrade.live.streams")
RETRY_SECONDS = 5.0


def user_stream(
    dialect: Dialect,
    *,
    key: str | None,
    secret: str | None,
    password: str | None = None,
    venue_url: str | None = None,
    ccxt_config: dict[str, Any] | None = None,
) -> Any:
    """A ccxt.pro client of the account (None when ccxt.pro has no client for the venue)."""
    extra = dict(ccxt_config or {})
    if venue_url is not None:
        from levtrade.localvenue import client

        return client(venue_url, key or "", secret or "", pro=True, **extra)
    klass = getattr(ccxt.pro, dialect.ccxt_id, None)
    if klass is None:
        return None
    settings: dict[str, Any] = {"apiKey": key, "secret": secret, **extra}
    if password:
        settings["password"] = password
    options = dict(settings.get("options") or {})
    options.setdefault("defaultType", "swap")
    settings["options"] = options
    return klass(settings)


class Doorbell:
    """Rings (sets :attr:`rang`) on every order update of the account's stream."""

    def __init__(self, exchange: Any, symbols: tuple[str, ...]) -> None:
        self.exchange = exchange
        self.symbols = symbols
        self.rang = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            try:
                await self.exchange.watch_orders()
                self.rang.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("user stream: %s; polling meanwhile", " ".join(str(exc).split()))
                await asyncio.sleep(RETRY_SECONDS)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            await self.exchange.close()
