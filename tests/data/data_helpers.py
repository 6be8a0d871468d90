"""Helpers for levtrade.data tests: hand-made candles and a recorded Binance USDT-M HTTP layer.

``RecordedBinance`` is a ``requests.Session`` that answers the real ``ccxt.binanceusdm`` object
with exchange-shaped JSON (exchangeInfo, klines, markPriceKlines, fundingRate) built from simple
formulas, so every stored number can be recomputed by hand in the tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlparse

import ccxt
import numpy as np
import pandas as pd
import requests

HOUR = 3_600_000
T0 = 1_704_067_200_000  # 2024-01-01T00:00:00Z


def hourly_frame(n: int = 6, start: int = T0, step: int = HOUR) -> pd.DataFrame:
    """Valid candles: open 100+i, high 101.5+i, low 99+i, close 100.5+i, volume 10+i."""
    i = np.arange(n, dtype=np.float64)
    return pd.DataFrame(
        {
            "timestamp": pd.to_datetime(start + np.arange(n) * step, unit="ms", utc=True),
            "open": 100.0 + i,
            "high": 101.5 + i,
            "low": 99.0 + i,
            "close": 100.5 + i,
            "volume": 10.0 + i,
        }
    )


# --- recorded Binance USDT-M ------------------------------------------------------------------

MARKETS = {
    "BTCUSDT": ("BTC", 40_000.0),
    "ETHUSDT": ("ETH", 2_000.0),
}


def trade_kline(symbol: str, open_time: int) -> list[Any]:
    """Kline row ``k = hours since T0``: open base+10k, close open+5, high close+3, low open-4,
    volume 1.5 + k/1000 (Binance sends numbers as strings)."""
    k = (open_time - T0) // HOUR
    base = MARKETS[symbol][1] + 10.0 * k
    return [
        open_time,
        f"{base:.2f}",
        f"{base + 8.0:.2f}",
        f"{base - 4.0:.2f}",
        f"{base + 5.0:.2f}",
        f"{1.5 + k / 1000:.3f}",
        open_time + HOUR - 1,
        "0",
        100,
        "0",
        "0",
        "0",
    ]


def mark_kline(symbol: str, open_time: int) -> list[Any]:
    """Mark kline: the trade kline shifted down by 1.0, high/low 1.0 inside, volume 0."""
    k = (open_time - T0) // HOUR
    base = MARKETS[symbol][1] + 10.0 * k - 1.0
    return [
        open_time,
        f"{base:.2f}",
        f"{base + 7.0:.2f}",
        f"{base - 3.0:.2f}",
        f"{base + 5.0:.2f}",
        "0",
        open_time + HOUR - 1,
        "0",
        0,
        "0",
        "0",
        "0",
    ]


def funding_event(symbol: str, n: int) -> dict[str, Any]:
    """Event n (every 8h from T0): rate 0.0001*(1 + n%3), time with n%7 ms of jitter."""
    return {
        "symbol": symbol,
        "fundingTime": T0 + n * 8 * HOUR + n % 7,
        "fundingRate": f"{0.0001 * (1 + n % 3):.8f}",
        "markPrice": "0",
    }


def exchange_info() -> dict[str, Any]:
    """A minimal valid /fapi/v1/exchangeInfo for the recorded symbols."""
    symbols = []
    for market_id, (base, _) in MARKETS.items():
        symbols.append(
            {
                "symbol": market_id,
                "pair": market_id,
                "contractType": "PERPETUAL",
                "deliveryDate": 4133404800000,
                "onboardDate": 1569398400000,
                "status": "TRADING",
                "baseAsset": base,
                "quoteAsset": "USDT",
                "marginAsset": "USDT",
                "pricePrecision": 2,
                "quantityPrecision": 3,
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "underlyingType": "COIN",
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": "0.10",
                        "maxPrice": "4529764",
                        "tickSize": "0.10",
                    },
                    {
                        "filterType": "LOT_SIZE",
                        "minQty": "0.001",
                        "maxQty": "1000",
                        "stepSize": "0.001",
                    },
                    {
                        "filterType": "MARKET_LOT_SIZE",
                        "minQty": "0.001",
                        "maxQty": "120",
                        "stepSize": "0.001",
                    },
                    {"filterType": "MIN_NOTIONAL", "notional": "100"},
                ],
                "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET"],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
            }
        )
    return {
        "timezone": "UTC",
        "serverTime": T0,
        "futuresType": "U_MARGINED",
        "rateLimits": [],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-100"}],
        "symbols": symbols,
    }


@dataclass
class RecordedBinance(requests.Session):
    """Answers Binance USDT-M public endpoints; ``failures`` maps (endpoint, call number) to an
    HTTP status (or ``"timeout"``) so a test can fail a request mid-way."""

    now: int = T0 + 100 * HOUR + 30 * 60_000
    first_bar: int = T0
    funding_events: int = 13
    max_klines: int = 1500
    failures: dict[tuple[str, int], int | str] = field(default_factory=dict)
    fail_from: dict[str, int] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        requests.Session.__init__(self)

    def count(self, endpoint: str) -> int:
        """How many requests reached ``endpoint``."""
        return sum(1 for name, _ in self.calls if name == endpoint)

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        parsed = urlparse(str(url))
        endpoint = parsed.path.rsplit("/", 1)[-1]
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        self.calls.append((endpoint, query))
        number = self.count(endpoint)
        outcome = self.failures.get((endpoint, number))
        if endpoint in self.fail_from and number >= self.fail_from[endpoint]:
            outcome = 503
        if outcome == "timeout":
            raise requests.Timeout("recorded timeout")
        if isinstance(outcome, int):
            return self._response(str(url), outcome, {"code": -1001, "msg": "Service busy"})
        if endpoint == "exchangeInfo":
            return self._response(str(url), 200, exchange_info())
        if endpoint in ("klines", "markPriceKlines"):
            return self._response(str(url), 200, self._klines(endpoint, query))
        if endpoint == "fundingRate":
            return self._response(str(url), 200, self._funding(query))
        return self._response(str(url), 404, {"code": -5000, "msg": f"no route {endpoint}"})

    def _klines(self, endpoint: str, query: dict[str, str]) -> list[list[Any]]:
        symbol = query["symbol"]
        limit = min(int(query.get("limit", 500)), self.max_klines)
        start = max(int(query.get("startTime", self.first_bar)), self.first_bar)
        start = -(-(start - T0) // HOUR) * HOUR + T0
        end = min(int(query.get("endTime", self.now)), self.now)
        row = mark_kline if endpoint == "markPriceKlines" else trade_kline
        stamps = range(start, end + 1, HOUR)
        return [row(symbol, t) for t in list(stamps)[:limit]]

    def _funding(self, query: dict[str, str]) -> list[dict[str, Any]]:
        symbol = query["symbol"]
        start = int(query.get("startTime", 0))
        end = int(query.get("endTime", self.now))
        limit = int(query.get("limit", 100))
        events = [funding_event(symbol, n) for n in range(self.funding_events)]
        chosen = [e for e in events if start <= e["fundingTime"] <= min(end, self.now)]
        return chosen[:limit]

    @staticmethod
    def _response(url: str, status: int, body: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response.reason = "OK" if status == 200 else "Service Unavailable"
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = url
        response.encoding = "utf-8"
        return response


def make_binance(session: RecordedBinance) -> Any:
    """The real ccxt.binanceusdm with its HTTP session replaced by the recording."""
    exchange = ccxt.binanceusdm({"enableRateLimit": True, "rateLimit": 1})
    exchange.session = session
    exchange.milliseconds = lambda: session.now
    return exchange
