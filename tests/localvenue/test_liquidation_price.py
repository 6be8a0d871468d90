"""``fetch_positions()``'s liquidation price against ``levtrade margin`` (the calculator).

The venue's positions are read through ccxt, turned into the calculator's scenario (the cross
wallet, each position's size, entry, mark, leverage, margin and the brackets the venue
publishes on ``/fapi/v1/leverageBracket``), and the calculator's liquidation price must equal
the venue's to 1e-9 relative: isolated, cross with several positions, hedge mode, and a
position whose bracket at the liquidation price is not the one at its entry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner
from venue_helpers import KEY, SECRET, advance

from levtrade import localvenue
from levtrade.cli import app
from levtrade.localvenue import VenueServer

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
runner = CliRunner()


def _tiers(exchange: Any, symbol: str) -> list[dict[str, float]]:
    return [
        {
            "floor": t["minNotional"],
            "cap": t["maxNotional"],
            "mmr": t["maintenanceMarginRate"],
            "maintenance_amount": float(t["info"]["cum"]),
            "max_leverage": t["maxLeverage"],
        }
        for t in exchange.fetch_leverage_tiers([symbol])[symbol]
    ]


def _calculator(exchange: Any, *, hedge: bool = False) -> list[dict[str, Any]]:
    """The calculator's answer for the account as the venue reports it."""
    info = exchange.fapiPrivateV2GetAccount()
    rows = exchange.fapiPrivateV2GetPositionRisk()
    positions = []
    for row in rows:
        size = float(row["positionAmt"])
        if size == 0:
            continue
        symbol = exchange.safe_symbol(row["symbol"], None, None, "contract")
        isolated = row["marginType"] == "isolated"
        spec: dict[str, Any] = {
            "symbol": symbol,
            "side": "long" if size > 0 else "short",
            "size": abs(size),
            "entry_price": float(row["entryPrice"]),
            "mark_price": float(row["markPrice"]),
            "leverage": float(row["leverage"]),
            "margin_mode": "isolated" if isolated else "cross",
            "tiers": _tiers(exchange, symbol),
        }
        if isolated:
            spec["isolated_margin"] = float(row["isolatedWallet"])
        positions.append(spec)
    scenario = {
        "venue": "binance",
        "position_mode": "hedge" if hedge else "one_way",
        "wallet_balance": float(info["totalCrossWalletBalance"]),
        "positions": positions,
    }
    result = runner.invoke(app, ["margin", "--json"], input=json.dumps(scenario))
    assert result.exit_code == 0, result.output
    answer: list[dict[str, Any]] = json.loads(result.stdout)["positions"]
    return answer


def _agree(exchange: Any, *, hedge: bool = False, count: int) -> list[float]:
    venue = {(p["symbol"], p["side"]): p["liquidationPrice"] for p in exchange.fetch_positions()}
    calculated = {
        (p["symbol"], p["side"]): p["liquidation_price"] for p in _calculator(exchange, hedge=hedge)
    }
    assert len(venue) == count and venue.keys() == calculated.keys()
    for key, price in venue.items():
        assert price is not None and calculated[key] is not None
        assert price == pytest.approx(calculated[key], rel=1e-9), key
    return list(venue.values())


def test_isolated(server: VenueServer, exchange: Any) -> None:
    exchange.set_margin_mode("isolated", BTC)
    exchange.set_leverage(20, BTC)
    exchange.create_order(BTC, "market", "buy", 0.1)
    advance(server)
    (price,) = _agree(exchange, count=1)
    (position,) = exchange.fetch_positions()
    # 20x isolated long, tier 1 (0.4 %): LP = entry × (1 − 1/20) / (1 − 0.004) by hand
    assert price == pytest.approx(position["entryPrice"] * 0.95 / 0.996, rel=1e-12)


def test_cross_with_several_positions(server: VenueServer, exchange: Any) -> None:
    exchange.set_leverage(10, BTC)
    exchange.set_leverage(5, ETH)
    exchange.create_order(BTC, "market", "buy", 1.0)
    exchange.create_order(ETH, "market", "sell", 8.0)
    advance(server, 3)
    _agree(exchange, count=2)


def test_hedge_mode_legs(server: VenueServer, exchange: Any) -> None:
    exchange.set_position_mode(True)
    exchange.set_leverage(20, BTC)
    exchange.create_order(BTC, "market", "buy", 2.0, None, {"positionSide": "LONG"})
    exchange.create_order(BTC, "market", "sell", 1.0, None, {"positionSide": "SHORT"})
    exchange.create_order(ETH, "market", "buy", 10.0, None, {"positionSide": "LONG"})
    advance(server, 2)
    prices = _agree(exchange, hedge=True, count=3)
    assert prices[0] == prices[1]  # the legs of one symbol share the cross liquidation price


@pytest.fixture
def tiered() -> Iterator[VenueServer]:
    """BTC with brackets of 0–5,000 at 1 % and 5,000–50,000 at 2.5 % (cum 75)."""
    rows = [
        {"floor": 0, "cap": 5_000, "mmr": 0.01, "max_leverage": 50},
        {"floor": 5_000, "cap": 50_000, "mmr": 0.025, "max_leverage": 20},
        {"floor": 50_000, "cap": 1e9, "mmr": 0.05, "max_leverage": 10},
    ]
    running = localvenue.serve(
        symbols=[BTC], api_keys={KEY: SECRET}, start="2024-01-02", config={"tiers": {BTC: rows}}
    )
    yield running
    running.stop_thread()


def test_position_at_a_bracket_boundary(tiered: VenueServer) -> None:
    exchange = localvenue.client(tiered.url, KEY, SECRET)
    exchange.load_markets()
    ((_, tiers),) = exchange.fetch_leverage_tiers([BTC]).items()
    assert [t["info"]["cum"] for t in tiers] == [0.0, 75.0, 1325.0]  # D_k by the recursion
    exchange.set_margin_mode("isolated", BTC)
    exchange.set_leverage(20, BTC)
    price = float(tiered.venue.data[BTC].open[tiered.venue.cursor])
    size = round(5_050.0 / price, 4)  # just above 5,000 at entry: bracket 2
    exchange.create_order(BTC, "market", "buy", size)
    advance(tiered)
    (lp,) = _agree(exchange, count=1)
    (position,) = exchange.fetch_positions()
    entry = position["entryPrice"]
    margin = float(position["info"]["isolatedWallet"])
    # by hand: at the liquidation price the notional is below 5,000, in bracket 1 (1 %, cum 0):
    # margin + size (P − entry) = 0.01 size P  →  P = (size·entry − margin) / (size (1 − 0.01))
    expected = (size * entry - margin) / (size * 0.99)
    assert size * expected < 5_000 < size * entry
    assert lp == pytest.approx(expected, rel=1e-12)
