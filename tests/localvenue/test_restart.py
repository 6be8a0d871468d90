"""``kill -9`` the venue (``levtrade venue serve --state FILE`` in a subprocess) and restart it
on its state file: balances, positions, open orders and history are as they were, and the
venue goes on from there."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from venue_helpers import KEY, SECRET

from levtrade import localvenue

pytestmark = pytest.mark.slow
BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"


class _Process:
    def __init__(self, state: Path) -> None:
        command = [
            sys.executable, "-c", "from levtrade.cli import main; main()",
            "venue", "serve", "--demo", "--port", "0", "--symbols", BTC, "--symbols", ETH,
            "--start", "2024-01-03", "--state", str(state), "--api-key", KEY, "--secret", SECRET,
        ]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"the venue did not start: {self.process.stderr.read()}")  # type: ignore[union-attr]
            if line.startswith("{"):
                self.info = json.loads(line)
                break
        self.url: str = self.info["url"]

    def client(self) -> Any:
        exchange = localvenue.client(self.url, KEY, SECRET)
        exchange.load_markets()
        return exchange

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


def _post(url: str, path: str, body: dict[str, Any]) -> Any:
    import urllib.request

    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _snapshot(exchange: Any) -> dict[str, Any]:
    account = exchange.fapiPrivateV3GetAccount()
    account.pop("assets")
    return {
        "account": account,
        "positions": exchange.fapiPrivateV3GetPositionRisk(),
        "open": exchange.fapiPrivateGetOpenOrders(),
        "algo": exchange.fapiPrivateGetOpenAlgoOrders(),
        "orders": exchange.fapiPrivateGetAllOrders({"symbol": "BTCUSDT"}),
        "trades": exchange.fapiPrivateGetUserTrades({"symbol": "BTCUSDT"}),
        "income": exchange.fapiPrivateGetIncome({"limit": 1000}),
        "leverage": exchange.fapiPrivateV2GetPositionRisk({"symbol": "ETHUSDT"})[0]["leverage"],
    }


@pytest.fixture
def venue_process(tmp_path: Path) -> Iterator[tuple[Path, list[_Process]]]:
    started: list[_Process] = []
    yield tmp_path / "venue.sqlite", started
    for process in started:
        if process.process.poll() is None:
            process.kill()


def test_kill_9_and_restart(venue_process: tuple[Path, list[_Process]]) -> None:
    state, started = venue_process
    first = _Process(state)
    started.append(first)
    exchange = first.client()
    exchange.set_leverage(7, ETH)
    exchange.set_margin_mode("isolated", BTC)
    exchange.create_order(BTC, "market", "buy", 0.05)
    exchange.create_order(ETH, "market", "sell", 1.0)
    _post(first.url, "/_venue/advance", {"bars": 20})
    last = float(exchange.fetch_ohlcv(BTC, "1h", limit=2)[0][4])
    low = round(last * 0.5, 1)
    resting = exchange.create_order(BTC, "limit", "buy", 0.01, low, {"clientOrderId": "rest-1"})
    protect = {"stopLossPrice": round(last * 0.6, 1), "reduceOnly": True}
    stop = exchange.create_order(BTC, "market", "sell", 0.05, None, protect)
    before = _snapshot(exchange)
    assert len(before["open"]) == 1 and len(before["algo"]) == 1
    assert len(before["positions"]) == 2 and before["leverage"] == "7"
    first.kill()

    second = _Process(state)
    started.append(second)
    exchange = second.client()
    after = _snapshot(exchange)
    assert after == before
    assert exchange.fetch_order(resting["id"], BTC)["status"] == "open"
    assert exchange.fetch_order(stop["id"], BTC, {"trigger": True})["status"] == "open"
    # it goes on: the next bar settles, and a new order gets a fresh id
    _post(second.url, "/_venue/advance", {"bars": 1})
    again = exchange.create_order(BTC, "limit", "buy", 0.01, round(last * 0.5, 1))
    assert int(again["id"]) > int(resting["id"])
    with pytest.raises(Exception, match="-4116"):
        exchange.create_order(BTC, "limit", "buy", 0.01, round(last * 0.5, 1),
                              {"clientOrderId": "rest-1"})  # fmt: skip
