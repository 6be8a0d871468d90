"""Bybit, OKX and Hyperliquid behind the same adapter: what differs is read from the shapes the
venues answer, parsed by ccxt's own parsers (offline: no request is made).

The raw rows are the venues' response shapes as ccxt documents them beside its parsers
(``bybit.py`` ``parse_trade``/``parse_income``, ``okx.py`` ``parse_order``/``parse_ledger_entry``,
``hyperliquid.py`` ``fetch_my_liquidations``/``parse_income``, ``binance.py``), with the fields
this test is about set: an execution type, an order category, a liquidation object.
"""

from __future__ import annotations

import re
from typing import Any

import ccxt
import pytest

from levtrade.errors import ConfigError
from levtrade.live.adapter import VenueAdapter, _fill
from levtrade.live.dialects import BINANCE, BYBIT, DIALECTS, HYPERLIQUID, OKX, dialect_for
from levtrade.live.ids import ClientIds

IDS = ClientIds("k3x9")
CANONICAL = [
    IDS.decision(1_704_412_800_000, 0),
    IDS.decision(1_704_412_800_000, 1),
    IDS.decision(1_704_416_400_000, 0),
    IDS.protective(0, 1),
    IDS.protective(0, 36),
    IDS.own(1_704_412_800_000, 0),
]

# the patterns each venue documents for a client order id
DOCUMENTED = {
    "binance": r"[.A-Z:/a-z0-9_-]{1,36}",  # newClientOrderId
    "bybit": r"[A-Za-z0-9_-]{1,36}",  # orderLinkId
    "okx": r"[A-Za-z0-9]{1,32}",  # clOrdId
    "hyperliquid": r"0x[0-9a-f]{32}",  # cloid: a 128-bit hex string
}


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_our_client_ids_are_ones_each_venue_accepts_and_stay_distinct(name: str) -> None:
    dialect = DIALECTS[name]
    encoded = [dialect.encode_client_id(c) for c in CANONICAL]
    assert all(re.fullmatch(DOCUMENTED[name], e) for e in encoded), encoded
    assert len(set(encoded)) == len(encoded)
    assert encoded == [dialect.encode_client_id(c) for c in CANONICAL]  # deterministic


def test_a_venue_levtrade_does_not_trade_is_named() -> None:
    with pytest.raises(ConfigError, match=r"exchange.name: levtrade trades on .* got 'kraken'"):
        dialect_for("kraken")
    assert dialect_for("binanceusdm") is BINANCE and dialect_for("myokx") is OKX


def _parse_order(exchange: Any, raw: dict[str, Any]) -> dict[str, Any]:
    return dict(exchange.parse_order(raw, None))


def test_binance_marks_its_closes_by_client_id() -> None:
    exchange = ccxt.binanceusdm()
    base = {"orderId": 8000000001, "symbol": "BTCUSDT", "status": "FILLED", "price": "0",
            "avgPrice": "32160", "origQty": "0.1", "executedQty": "0.1", "type": "LIQUIDATION",
            "side": "SELL", "time": 1704416400000, "updateTime": 1704416400000}  # fmt: skip
    liquidation = _parse_order(exchange, {**base, "clientOrderId": "autoclose-1704416400000000001"})
    adl = _parse_order(exchange, {**base, "clientOrderId": "adl_autoclose"})
    ours = _parse_order(exchange, {**base, "clientOrderId": IDS.decision(1_704_412_800_000, 0)})
    assert BINANCE.forced_kind({}, liquidation) == "liquidation"
    assert BINANCE.forced_kind({}, adl) == "adl"
    assert BINANCE.forced_kind({}, ours) is None
    rows = {
        "FUNDING_FEE": "funding",
        "INSURANCE_CLEAR": "clearance",
        "TRANSFER": "transfer",
        "COMMISSION": None,
        "REALIZED_PNL": None,
    }
    for kind, expected in rows.items():
        entry = exchange.parse_ledger_entry(
            {"symbol": "BTCUSDT", "incomeType": kind, "income": "-0.4", "asset": "USDT",
             "info": kind, "time": 1704441600000, "tranId": 9000000003, "tradeId": ""},
        )  # fmt: skip
        assert BINANCE.income_kind(entry) == expected


def _bybit_execution(exec_type: str, **fields: str) -> dict[str, Any]:
    return {"symbol": "BTCUSDT", "orderType": "Market", "orderLinkId": "", "orderId": "1a2b",
            "execTime": "1704416400000", "execPrice": "32160", "orderQty": "0.1",
            "execValue": "3216", "closedSize": "0.1", "execType": exec_type, "side": "Sell",
            "isMaker": False, "execFee": "1.608", "execId": f"e-{exec_type}",
            "execQty": "0.1", "execPnl": "-784", "feeRate": "0.0005", **fields}  # fmt: skip


def test_bybit_marks_its_closes_by_execution_type() -> None:
    exchange = ccxt.bybit()
    kinds = {"BustTrade": "liquidation", "AdlTrade": "adl", "Trade": None}
    for exec_type, expected in kinds.items():
        trade = exchange.parse_trade(_bybit_execution(exec_type))
        assert BYBIT.forced_kind(trade, None) == expected
        fill = _fill(trade, BYBIT.realized_field)
        assert (fill.venue_trade_id, fill.amount, fill.realized_pnl) == (
            f"e-{exec_type}",
            0.1,
            -784.0,
        )
    # funding: an execution of type Funding, through ccxt's funding history
    income = exchange.parse_income(
        _bybit_execution("Funding", execFee="-0.10232512", side="Sell", feeRate="-0.000761")
    )
    item = VenueAdapter(exchange, BYBIT).funding_item(dict(income))
    assert (item.kind, item.venue_id, item.amount) == ("funding", "e-Funding", -0.10232512)
    assert BYBIT.funding_from == "funding_history"
    assert BYBIT.client_id_params("ltk3x9_x_0", trigger=False) == {"orderLinkId": "ltk3x9_x_0"}


def _okx_order(category: str, client_id: str = "") -> dict[str, Any]:
    return {"accFillSz": "1", "avgPx": "32160", "cTime": "1704416400000", "category": category,
            "ccy": "", "clOrdId": client_id, "fee": "0", "feeCcy": "USDT", "fillPx": "32160",
            "fillSz": "1", "fillTime": "1704416400000", "instId": "BTC-USDT-SWAP",
            "instType": "SWAP", "lever": "5", "ordId": "60000001", "ordType": "market",
            "pnl": "-784", "posSide": "net", "px": "", "reduceOnly": "true", "side": "sell",
            "state": "filled", "sz": "1", "tdMode": "isolated",
            "uTime": "1704416400000"}  # fmt: skip


def test_okx_marks_its_closes_by_order_category() -> None:
    exchange = ccxt.okx()
    assert (
        OKX.forced_kind({}, _parse_order(exchange, _okx_order("full_liquidation"))) == "liquidation"
    )
    assert (
        OKX.forced_kind({}, _parse_order(exchange, _okx_order("partial_liquidation")))
        == "liquidation"
    )
    assert OKX.forced_kind({}, _parse_order(exchange, _okx_order("adl"))) == "adl"
    assert OKX.forced_kind({}, _parse_order(exchange, _okx_order("normal"))) is None
    ours = OKX.encode_client_id(IDS.decision(1_704_412_800_000, 0))
    parsed = _parse_order(exchange, _okx_order("normal", ours))
    assert OKX.client_id_of(parsed) == ours
    bill = {"bal": "9000", "balChg": "-0.405", "billId": "310394313544966151", "ccy": "USDT",
            "fee": "0", "from": "", "instId": "BTC-USDT-SWAP", "instType": "SWAP",
            "mgnMode": "isolated", "notes": "", "ordId": "", "pnl": "-0.405", "posBal": "0",
            "posBalChg": "0", "subType": "174", "sz": "1", "to": "", "ts": "1704441600000",
            "type": "8"}  # fmt: skip
    assert OKX.income_kind(exchange.parse_ledger_entry(bill)) == "funding"
    assert OKX.income_kind(exchange.parse_ledger_entry({**bill, "type": "2"})) is None


def test_hyperliquid_marks_the_liquidated_traders_fill() -> None:
    exchange = ccxt.hyperliquid()
    me = "0x5c902b2eb0e1d9eb9a232014824ae6247df0a480"
    raw = {"coin": "NEAR", "px": "4.6879", "sz": "64.8", "side": "A", "time": 1790964546856,
           "startPosition": "64.8", "dir": "Close Long", "closedPnl": "-16.98408",
           "hash": "0x2cdf7628db20daf2ea775b69cd99d5b63347faa4776a803907fc052901d0506f",
           "oid": 719874965978, "crossed": True, "fee": "0.131231", "tid": 5787071443114480,
           "liquidation": {"liquidatedUser": me, "markPx": "4.69112", "method": "market"},
           "feeToken": "USDC", "twapId": None}  # fmt: skip
    trade = exchange.parse_trade(raw)
    assert HYPERLIQUID.forced_kind(trade, None, me) == "liquidation"
    # the liquidator's fill names the liquidated trader, not us: a plain fill
    other = "0x0000000000000000000000000000000000000001"
    assert HYPERLIQUID.forced_kind(trade, None, other) is None
    assert _fill(trade, HYPERLIQUID.realized_field).realized_pnl == -16.98408
    funding = exchange.parse_income(
        {
            "time": 1734026400057,
            "hash": "0x" + "0" * 64,
            "delta": {
                "type": "funding",
                "coin": "SOL",
                "usdc": "75.635093",
                "szi": "-7375.9",
                "fundingRate": "0.00004381",
                "nSamples": None,
            },
        }
    )
    item = VenueAdapter(exchange, HYPERLIQUID).funding_item(dict(funding))
    assert item.venue_id == "funding:SOL:1734026400057" and item.amount == 75.635093
    assert not HYPERLIQUID.hedge_mode and HYPERLIQUID.trigger_params == ()
