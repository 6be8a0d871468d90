"""Faults the control API injects, to test what a bot does when the venue misbehaves.

* ``latency`` — answer ``ms`` milliseconds late;
* ``drop`` — carry out the request (an order is committed), then never answer: the client
  times out, the order exists (the ambiguous submit, LIVE.md §1);
* ``error`` — answer HTTP ``status`` (default 503) with a gateway's HTML page, changing
  nothing (the request never reached the matching engine);
* ``rate_limit`` — HTTP 429 with -1003 and ``Retry-After``; with ``status`` another HTTP
  status for the same body (ccxt then raises ``RateLimitExceeded`` from the code);
* ``ban`` — HTTP 418 with -1003 (an IP ban) and ``Retry-After``;
* ``truncate`` — carry out the request, then answer with the first half of the body (status
  200): an answer cut off in transit, which the client cannot read (an order is committed).

Each fault applies to the next ``count`` requests (``-1``: until cleared) whose path starts
with ``path`` and whose method is ``method`` (when given). Clock skew is set apart: it moves
the server's clock that signed requests are checked against.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from levtrade.localvenue.errors import VenueError

KINDS = ("latency", "drop", "error", "rate_limit", "ban", "truncate")


@dataclass
class Fault:
    kind: str
    count: int = 1
    path: str = ""
    method: str | None = None
    ms: int = 0
    status: int | None = None
    retry_after: int = 1

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Fault:
        kind = values.get("kind")
        if kind not in KINDS:
            raise VenueError(-1130, f"kind: must be one of {', '.join(KINDS)}, got {kind!r}")
        try:
            return cls(
                kind=str(kind),
                count=int(values.get("count", 1)),
                path=str(values.get("path", "")),
                method=str(values["method"]).upper() if values.get("method") else None,
                ms=int(values.get("ms", 0)),
                status=int(values["status"]) if values.get("status") is not None else None,
                retry_after=int(values.get("retry_after", 1)),
            )
        except (TypeError, ValueError) as exc:
            raise VenueError(-1130, f"fault: {exc}") from None

    def matches(self, method: str, path: str) -> bool:
        return path.startswith(self.path) and (self.method is None or self.method == method)


class Faults:
    """The faults waiting for requests."""

    def __init__(self) -> None:
        self.pending: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self.pending.append(fault)

    def clear(self) -> None:
        self.pending.clear()

    def take(self, method: str, path: str) -> list[Fault]:
        """The faults this request gets (each used once more)."""
        taken = []
        for fault in list(self.pending):
            if path.startswith("/_venue") or not fault.matches(method, path):
                continue
            taken.append(fault)
            if fault.count > 0:
                fault.count -= 1
                if fault.count == 0:
                    self.pending.remove(fault)
        return taken
