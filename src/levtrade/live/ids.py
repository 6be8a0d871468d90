"""Our own client order ids: deterministic, so that a retry or a restart sends the id the
intent was recorded with, and the venue can be asked about it.

ccxt invents a fresh id for every request (LIVE.md §1): a retried ``create_order`` without
ours is a second order. Each id says whose it is and what decided it::

    lt<bot>.<decision bar, base 36>.<n>      the n-th order decided at a bar close
    lt<bot>.p<column>.<generation, base 36>  the protective stop of a symbol, re-armed
    lt<bot>.x<time, base 36>.<n>             orders the bot sends on its own (flatten, emergency)

``<bot>`` is the store's four-character identity: a second bot on the account (another store)
makes ids with another tag, and this bot treats its orders as external. Binance allows 1–36
characters of ``[.A-Z:/a-z0-9_-]``; these stay under 24.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ALLOWED = re.compile(r"^[.A-Za-z0-9:/_-]{1,36}$")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def base36(value: int) -> str:
    if value < 0:
        raise ValueError(f"base36: a non-negative integer, got {value!r}")
    if value == 0:
        return "0"
    out = []
    while value:
        value, digit = divmod(value, 36)
        out.append(_DIGITS[digit])
    return "".join(reversed(out))


def valid(client_id: str) -> bool:
    """Whether Binance accepts ``client_id`` (1–36 characters of ``[.A-Z:/a-z0-9_-]``)."""
    return bool(ALLOWED.match(client_id))


@dataclass(frozen=True)
class ClientIds:
    """The ids of one bot (``tag``: its store's identity)."""

    tag: str

    @property
    def prefix(self) -> str:
        return f"lt{self.tag}."

    def decision(self, bar_time: int, n: int) -> str:
        """The ``n``-th order decided at the close of the bar opening at ``bar_time``."""
        return self._checked(f"{self.prefix}{base36(bar_time)}.{n}")

    def protective(self, column: int, generation: int) -> str:
        """The protective stop of the symbol in ``column``, ``generation``-th arming."""
        return self._checked(f"{self.prefix}p{column}.{base36(generation)}")

    def own(self, time: int, n: int) -> str:
        """An order the bot sends on its own at ``time`` (flatten, emergency)."""
        return self._checked(f"{self.prefix}x{base36(time)}.{n}")

    def is_ours(self, client_id: str | None) -> bool:
        return bool(client_id) and str(client_id).startswith(self.prefix)

    @staticmethod
    def _checked(client_id: str) -> str:
        if not valid(client_id):
            raise ValueError(f"client order id {client_id!r} is not one Binance accepts")
        return client_id


def is_levtrade(client_id: str | None) -> bool:
    """An id made by some levtrade bot (``lt<tag>.``), this one or another."""
    return bool(client_id) and bool(re.match(r"^lt[a-z0-9]{4}\.", str(client_id)))
