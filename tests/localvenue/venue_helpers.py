"""Helpers of the local venue's tests: a venue served in-process over loopback (manual clock)
and its control API."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from levtrade.localvenue import VenueServer

KEY, SECRET = "test-key", "test-secret"
OTHER_KEY, OTHER_SECRET = "other-key", "other-secret"


def control(server: VenueServer, path: str, body: dict[str, Any] | None = None,
            method: str = "POST") -> Any:  # fmt: skip
    """Call the control API (``/_venue/...``) and return its JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(server.url + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def advance(server: VenueServer, bars: int = 1) -> Any:
    return control(server, "/_venue/advance", {"bars": bars})
