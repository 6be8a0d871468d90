"""A ccxt ``binanceusdm`` client pointed at a local venue (sync, async, or ccxt.pro).

Three things make the unmodified client work against a loopback URL (LIVE.md §1): every REST
family and the websocket base point at the venue; ``fetchCurrencies`` is off (it would call
Binance's ``sapi`` host); and the error mapping, which ccxt picks by the URL's hostname, uses the
USDⓈ-M table for the venue's URL too (−2019 → ``InsufficientFunds``, −2022/−4116/−4164 →
``InvalidOrder``, −2013 → ``OrderNotFound``), as a small subclass.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import ccxt
import ccxt.async_support
import ccxt.pro

_REST = {
    "fapiPublic": "/fapi/v1",
    "fapiPublicV2": "/fapi/v2",
    "fapiPublicV3": "/fapi/v3",
    "fapiPrivate": "/fapi/v1",
    "fapiPrivateV2": "/fapi/v2",
    "fapiPrivateV3": "/fapi/v3",
    "fapiData": "/futures/data",
}


def urls(url: str) -> dict[str, Any]:
    """ccxt's URL table for a venue at ``url`` (``http://127.0.0.1:8765``)."""
    base = url.rstrip("/")
    ws = base.replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    api: dict[str, Any] = {name: base + path for name, path in _REST.items()}
    # every other family too, so that nothing can reach a real host
    for name in ("sapi", "sapiV2", "sapiV3", "sapiV4", "public", "private", "v1", "papi",
                 "papiV2", "dapiPublic", "dapiPrivate", "dapiPrivateV2", "dapiData",
                 "eapiPublic", "eapiPrivate"):  # fmt: skip
        api[name] = base + "/unsupported/" + name
    api["ws"] = {
        "linear": ws + "/ws",
        "future": ws + "/ws",
        "spot": ws + "/unsupported/ws",
        "margin": ws + "/unsupported/ws",
        "inverse": ws + "/unsupported/ws",
        "delivery": ws + "/unsupported/ws",
        "papi": ws + "/unsupported/ws",
        "option": ws + "/unsupported/ws",
        "optionMarket": ws + "/unsupported/ws",
        "optionPrivate": ws + "/unsupported/ws",
        "stock": ws + "/unsupported/ws",
        "ws-api": {
            "spot": ws + "/unsupported/ws-api",
            "linear": ws + "/unsupported/ws-api",
            "inverse": ws + "/unsupported/ws-api",
        },
    }
    return {"api": api}


def _local(base: type[Any]) -> type[Any]:
    """``base`` (a ccxt binanceusdm class) with the USDⓈ-M error table for any URL."""

    def get_exceptions_by_url(self: Any, url: str | None, exactOrBroad: str) -> dict[str, Any]:
        if url is not None and url.startswith(self.options.get("localVenueUrl", "\0")):
            table: dict[str, Any] = self.safe_dict(self.exceptions, "linear", {})
            return self.safe_dict(table, exactOrBroad, {})  # type: ignore[no-any-return]
        return base.get_exceptions_by_url(self, url, exactOrBroad)  # type: ignore[no-any-return]

    return type(f"local_{base.__module__.replace('.', '_')}", (base,), {
        "get_exceptions_by_url": get_exceptions_by_url,
    })  # fmt: skip


@cache
def _classes() -> dict[str, type[Any]]:
    return {
        "sync": _local(ccxt.binanceusdm),
        "async": _local(ccxt.async_support.binanceusdm),
        "pro": _local(ccxt.pro.binanceusdm),
    }


def config(url: str, api_key: str, secret: str, **extra: Any) -> dict[str, Any]:
    """The ccxt configuration of a client of the venue at ``url``."""
    options = {
        "fetchCurrencies": False,
        "localVenueUrl": url.rstrip("/"),
        "defaultType": "swap",
        "warnOnFetchOpenOrdersWithoutSymbol": False,
        **extra.pop("options", {}),
    }
    return {
        "apiKey": api_key,
        "secret": secret,
        "urls": urls(url),
        "options": options,
        "enableRateLimit": False,
        **extra,
    }


def client(url: str, api_key: str, secret: str, *, async_: bool = False, pro: bool = False,
           **extra: Any) -> Any:  # fmt: skip
    """A ccxt ``binanceusdm`` client of the venue at ``url``: sync by default, the
    ``ccxt.async_support`` one with ``async_``, the ccxt.pro one (websockets) with ``pro``."""
    kind = "pro" if pro else "async" if async_ else "sync"
    return _classes()[kind](config(url, api_key, secret, **extra))
