"""Signed requests as Binance verifies them (LIVE.md §1.2).

The signature is HMAC-SHA256 with the account's secret over the request's parameters exactly as
sent — the query string, then the form body — without the trailing ``&signature=…``; the
``timestamp`` must be within ``recvWindow`` (default 5,000 ms, at most 60,000) of the server's
clock, and at most 1,000 ms ahead of it.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qsl

from levtrade.localvenue import errors

DEFAULT_RECV_WINDOW = 5_000
MAX_RECV_WINDOW = 60_000
AHEAD_MS = 1_000


def signed_payload(query: str, body: str) -> tuple[str, str | None]:
    """The text the client signed and the signature it sent: the query string followed by the
    body, with the ``signature`` parameter (Binance puts it last) taken out."""
    total = query + body if query and body else query or body
    head, sep, signature = total.rpartition("signature=")
    if not sep or "&" in signature:
        return total, None
    return head[:-1] if head.endswith("&") else head, signature


def sign(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of ``payload`` with ``secret``."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def verify(query: str, body: str, secret: str, now_ms: int) -> None:
    """Raise Binance's error when the request's signature or timestamp does not hold."""
    payload, signature = signed_payload(query, body)
    if signature is None:
        raise errors.missing("signature")
    if not hmac.compare_digest(sign(secret, payload), signature.lower()):
        raise errors.bad_signature()
    params = dict(parse_qsl(payload, keep_blank_values=True))
    stamp = params.get("timestamp")
    if stamp is None:
        raise errors.missing("timestamp")
    try:
        timestamp = int(stamp)
    except ValueError:
        raise errors.bad_value("timestamp", stamp) from None
    window_text = params.get("recvWindow")
    window = DEFAULT_RECV_WINDOW
    if window_text is not None:
        try:
            window = int(window_text)
        except ValueError:
            raise errors.bad_value("recvWindow", window_text) from None
        if not 0 < window <= MAX_RECV_WINDOW:
            raise errors.bad_value("recvWindow", window_text)
    if timestamp > now_ms + AHEAD_MS or now_ms - timestamp > window:
        raise errors.bad_timestamp()
