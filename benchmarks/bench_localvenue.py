"""The local venue's speed: signed REST round trips through ccxt, and replay of 1m bars.

Run from the repository root with the project's interpreter::

    .venv/bin/python -m benchmarks.bench_localvenue
    .venv/bin/python -m benchmarks.bench_localvenue --requests 2000 --repeats 5

Cases:

* ``signed GET``: ``fetch_balance`` (``GET /fapi/v3/account``, HMAC-signed) through the sync
  ccxt client on loopback, one request after the other (round trips per second);
* ``signed POST+DELETE``: a limit order placed far from the price and cancelled
  (``create_order`` + ``cancel_order``: two signed round trips, both journaled when a state
  file is given);
* ``replay``: one day of 1m bars for 10 symbols (1,440 bars; the demo generator's GARCH paths,
  renamed to ten Binance perpetuals) walked by the manual clock, with one account flat and
  with a 5x position open in each of the 10 symbols (funding, liquidation checks), through
  ``POST /_venue/advance`` in steps of 60 bars.

Wall-clock times, best of ``--repeats``. Nothing is asserted: the tests check behaviour.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from levtrade import localvenue
from levtrade.data import DEMO_SYMBOLS, MarketData, Portfolio, demo_market
from levtrade.venues import default_tiers

KEY, SECRET = "bench-key", "bench-secret"
NAMES = ("BTC", "ETH", "SOL", "XRP", "DOGE", "BNB", "BCH", "OP", "INJ", "ZEC")


def day_of_1m(count: int = 10) -> Portfolio:
    """``count`` synthetic perpetuals, one day of 1m bars each."""
    templates = list(DEMO_SYMBOLS)
    markets = []
    for k, base in enumerate(NAMES[:count]):
        source = demo_market(templates[k % len(templates)], seed=k + 1, timeframe="1m", bars=1440)
        trade = source.candles("trade")
        assert trade is not None
        markets.append(
            MarketData.build(
                f"{base}/USDT:USDT",
                trade,
                mark=source.candles("mark"),
                funding=source.funding,
            )
        )
    return Portfolio.from_markets(markets)


def _post(url: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def rest(requests: int, repeats: int, state: Path | None) -> dict[str, float]:
    server = localvenue.serve(api_keys={KEY: SECRET}, start="2024-01-02", state=state)
    try:
        client = localvenue.client(server.url, KEY, SECRET)
        client.load_markets()
        far = round(float(server.venue.data["BTC/USDT:USDT"].close[0]) * 0.5, 1)
        best_get = best_pair = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(requests):
                client.fetch_balance()
            best_get = min(best_get, time.perf_counter() - start)
            start = time.perf_counter()
            for _ in range(requests // 2):
                order = client.create_order("BTC/USDT:USDT", "limit", "buy", 0.001, far)
                client.cancel_order(order["id"], "BTC/USDT:USDT")
            best_pair = min(best_pair, time.perf_counter() - start)
        return {
            "signed GET /s": requests / best_get,
            "signed POST+DELETE /s": 2 * (requests // 2) / best_pair,
        }
    finally:
        server.stop_thread()


def replay(repeats: int, with_positions: bool) -> float:
    """Bars per second of a day of 1m bars for 10 symbols, manual clock."""
    data = day_of_1m()
    rows = default_tiers("binance", "BTC/USDT:USDT").to_rows()
    config = {"tiers": {m.symbol: rows for m in data.markets}}
    best = float("inf")
    for _ in range(repeats):
        server = localvenue.serve(data=data, api_keys={KEY: SECRET}, config=config)
        try:
            if with_positions:
                client = localvenue.client(server.url, KEY, SECRET)
                client.load_markets()
                for market in data.markets:
                    client.set_leverage(5, market.symbol)
                    notional = 800.0
                    price = float(market.close[0])
                    amount = client.amount_to_precision(market.symbol, notional / price)
                    client.create_order(market.symbol, "market", "buy", float(amount))
            start = time.perf_counter()
            for _ in range(0, 1440, 60):
                _post(server.url, "/_venue/advance", {"bars": 60})
            best = min(best, time.perf_counter() - start)
            if with_positions:
                assert server.venue.accounts[KEY].account.positions
        finally:
            server.stop_thread()
    return 1440 / best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rows = []
    for label, found in rest(args.requests, args.repeats, None).items():
        rows.append((label, f"{found:,.0f}"))
    with tempfile.TemporaryDirectory() as folder:
        journaled = rest(args.requests, args.repeats, Path(folder) / "venue.sqlite")
    for label, found in journaled.items():
        rows.append((label + " (state file)", f"{found:,.0f}"))
    for with_positions in (False, True):
        bars = replay(args.repeats, with_positions)
        label = "replay 1m x 10 symbols, " + ("10 positions" if with_positions else "flat")
        rows.append((label, f"{bars:,.0f} bars/s ({bars * 10:,.0f} symbol-bars/s)"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    main()
