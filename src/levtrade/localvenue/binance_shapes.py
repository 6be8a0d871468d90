"""JSON as Binance USDⓈ-M answers it (and as ccxt 4.5.90's ``binance.py`` parses it).

Numbers go out as decimal strings, as Binance sends them, written in full (the shortest
positional form that reads back as the same float, so ccxt parses the venue's exact figures).
Times are shown with the clock's shift (realtime mode).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from levtrade.localvenue.exchange import (
    Income,
    Venue,
    VenueAccount,
    VenueFill,
    VenueOrder,
    max_notional_value,
)
from levtrade.localvenue.marketdata import decimals
from levtrade.venues.binance import to_venue_symbol

ASSET = "USDT"


def num(value: float) -> str:
    """A float as a plain decimal string (no exponent), exactly as it reads back."""
    if value == 0 or not math.isfinite(value):
        return "0"
    return np.format_float_positional(value, unique=True, trim="-")


# -- market data --------------------------------------------------------------------------------
def exchange_info(venue: Venue) -> dict[str, Any]:
    symbols = []
    for symbol in venue.symbols:
        instrument = venue.instruments[symbol]
        tick, lot = instrument.tick_size, instrument.lot_size
        venue_id = to_venue_symbol(symbol)
        symbols.append(
            {
                "symbol": venue_id,
                "pair": venue_id,
                "contractType": "PERPETUAL",
                "deliveryDate": 4133404800000,
                "onboardDate": venue.shown(int(venue.timestamps[0])),
                "status": "TRADING",
                "maintMarginPercent": "2.5000",
                "requiredMarginPercent": "5.0000",
                "baseAsset": instrument.base,
                "quoteAsset": instrument.quote,
                "marginAsset": instrument.settle or instrument.quote,
                "pricePrecision": decimals(tick),
                "quantityPrecision": decimals(lot),
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "underlyingType": "COIN",
                "underlyingSubType": [],
                "settlePlan": 0,
                "triggerProtect": "0.0500",
                "liquidationFee": num(venue.config.venue_profile().clearance_fee_for(symbol)),
                "marketTakeBound": "0.30",
                "maxMoveOrderLimit": 10000,
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": num(tick),
                        "maxPrice": "10000000",
                        "tickSize": num(tick),
                    },
                    {
                        "filterType": "LOT_SIZE",
                        "minQty": num(lot),
                        "maxQty": "100000000",
                        "stepSize": num(lot),
                    },
                    {
                        "filterType": "MARKET_LOT_SIZE",
                        "minQty": num(lot),
                        "maxQty": "100000000",
                        "stepSize": num(lot),
                    },
                    {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                    {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                    {"filterType": "MIN_NOTIONAL", "notional": num(instrument.min_notional)},
                    {
                        "filterType": "PERCENT_PRICE",
                        "multiplierUp": "1.1000",
                        "multiplierDown": "0.9000",
                        "multiplierDecimal": "4",
                    },
                ],
                "orderTypes": [
                    "LIMIT",
                    "MARKET",
                    "STOP",
                    "STOP_MARKET",
                    "TAKE_PROFIT",
                    "TAKE_PROFIT_MARKET",
                    "TRAILING_STOP_MARKET",
                ],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
            }
        )
    return {
        "timezone": "UTC",
        "serverTime": venue.shown(venue.now()),
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 2400,
            },
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        ],
        "exchangeFilters": [],
        "assets": [{"asset": ASSET, "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": symbols,
    }


def kline_row(venue: Venue, values: tuple[float, ...], time: int, volume: float) -> list[Any]:
    o, h, low, c = values
    close_time = venue.shown(time + venue.timeframe_ms - 1)
    return [
        venue.shown(time),
        num(o),
        num(h),
        num(low),
        num(c),
        num(volume),
        close_time,
        num(volume * c),
        0,
        "0",
        "0",
        "0",
    ]


def kline_event(venue: Venue, symbol: str, interval: str, bar: int) -> dict[str, Any]:
    rd = venue._run_data
    j = venue.column(symbol)
    time = int(venue.timestamps[bar])
    return {
        "e": "kline",
        "E": venue.shown(venue.now()),
        "s": to_venue_symbol(symbol),
        "k": {
            "t": venue.shown(time),
            "T": venue.shown(time + venue.timeframe_ms - 1),
            "s": to_venue_symbol(symbol),
            "i": interval,
            "f": 0,
            "L": 0,
            "o": num(float(rd.open[bar, j])),
            "c": num(float(rd.close[bar, j])),
            "h": num(float(rd.high[bar, j])),
            "l": num(float(rd.low[bar, j])),
            "v": num(float(rd.volume[bar, j])),
            "n": 0,
            "x": True,
            "q": num(float(rd.volume[bar, j] * rd.close[bar, j])),
            "V": "0",
            "Q": "0",
            "B": "0",
        },
    }


def premium_index(venue: Venue, symbol: str) -> dict[str, Any]:
    rate, next_time = venue_funding(venue, symbol)
    mark = venue.mark_price(symbol)
    return {
        "symbol": to_venue_symbol(symbol),
        "markPrice": num(mark),
        "indexPrice": num(mark),
        "estimatedSettlePrice": num(mark),
        "lastFundingRate": num(rate),
        "interestRate": "0.00010000",
        "nextFundingTime": venue.shown(next_time) if next_time else 0,
        "time": venue.shown(venue.now()),
    }


def mark_price_event(venue: Venue, symbol: str) -> dict[str, Any]:
    rate, next_time = venue_funding(venue, symbol)
    mark = venue.mark_price(symbol)
    return {
        "e": "markPriceUpdate",
        "E": venue.shown(venue.now()),
        "s": to_venue_symbol(symbol),
        "p": num(mark),
        "i": num(mark),
        "P": num(mark),
        "r": num(rate),
        "T": venue.shown(next_time) if next_time else 0,
    }


def venue_funding(venue: Venue, symbol: str) -> tuple[float, int]:
    """The last settled funding rate and the next funding time at or after "now"."""
    rd = venue._run_data
    j = venue.column(symbol)
    bars = np.flatnonzero(rd.funding[:, j])
    k = int(np.searchsorted(bars, venue.cursor))
    rate = float(rd.funding_rate[bars[k - 1], j]) if k > 0 else 0.0
    next_time = int(venue.timestamps[bars[k]]) if k < len(bars) else 0
    return rate, next_time


def funding_history(venue: Venue, symbol: str) -> list[dict[str, Any]]:
    rd = venue._run_data
    j = venue.column(symbol)
    rows = []
    for bar in np.flatnonzero(rd.funding[: venue.cursor, j]):
        rows.append(
            {
                "symbol": to_venue_symbol(symbol),
                "fundingTime": venue.shown(int(venue.timestamps[bar])),
                "fundingRate": num(float(rd.funding_rate[bar, j])),
                "markPrice": num(float(rd.mark_open[bar, j])),
            }
        )
    return rows


def brackets(account: VenueAccount, symbol: str) -> dict[str, Any]:
    table = account.account.tiers(symbol)
    rows = []
    for k, tier in enumerate(table.tiers, start=1):
        rows.append(
            {
                "bracket": k,
                "initialLeverage": int(tier.max_leverage),
                "notionalCap": 9.0e18 if math.isinf(tier.cap) else tier.cap,
                "notionalFloor": tier.floor,
                "maintMarginRatio": tier.mmr,
                "cum": tier.maintenance_amount,
            }
        )
    return {"symbol": to_venue_symbol(symbol), "brackets": rows}


# -- orders and trades ------------------------------------------------------------------------
def order(venue: Venue, record: VenueOrder) -> dict[str, Any]:
    if record.algo:
        return algo_order(venue, record)
    return {
        "orderId": record.order_id,
        "symbol": to_venue_symbol(record.symbol),
        "status": record.status,
        "clientOrderId": record.client_id,
        "price": num(record.price),
        "avgPrice": num(record.avg_price),
        "origQty": num(record.quantity),
        "executedQty": num(record.executed),
        "cumQty": num(record.executed),
        "cumQuote": num(record.cum_quote),
        "timeInForce": record.time_in_force,
        "type": record.type if record.origin != "liquidation" else "LIMIT",
        "reduceOnly": record.reduce_only,
        "closePosition": record.close_position,
        "side": record.side,
        "positionSide": record.position_side,
        "stopPrice": num(record.stop_price),
        "workingType": record.working_type,
        "priceProtect": False,
        "origType": record.type if record.origin != "liquidation" else "LIMIT",
        "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE",
        "goodTillDate": 0,
        "time": venue.shown(record.time),
        "updateTime": venue.shown(record.update_time),
    }


def algo_order(venue: Venue, record: VenueOrder) -> dict[str, Any]:
    shaped = {
        "algoId": record.order_id,
        "clientAlgoId": record.client_id,
        "algoType": "CONDITIONAL",
        "orderType": record.type,
        "symbol": to_venue_symbol(record.symbol),
        "side": record.side,
        "positionSide": record.position_side,
        "timeInForce": record.time_in_force,
        "quantity": num(record.quantity),
        "algoStatus": record.status,
        "triggerPrice": num(record.stop_price),
        "price": num(record.price),
        "icebergQuantity": None,
        "selfTradePreventionMode": "NONE",
        "workingType": record.working_type,
        "priceMatch": "NONE",
        "closePosition": record.close_position,
        "priceProtect": False,
        "reduceOnly": record.reduce_only,
        "createTime": venue.shown(record.time),
        "updateTime": venue.shown(record.update_time),
        "triggerTime": venue.shown(record.update_time) if record.status == "FINISHED" else 0,
        "goodTillDate": 0,
    }
    if record.type == "TRAILING_STOP_MARKET":
        shaped["callbackRate"] = num(record.callback_rate)
        shaped["activatePrice"] = num(record.activation_price)
    if record.actual_order_id is not None:
        shaped["actualOrderId"] = str(record.actual_order_id)
    return shaped


def user_trade(venue: Venue, fill: VenueFill) -> dict[str, Any]:
    return {
        "buyer": fill.side == "BUY",
        "commission": num(fill.commission),
        "commissionAsset": ASSET,
        "id": fill.trade_id,
        "maker": fill.maker,
        "orderId": fill.order_id,
        "price": num(fill.price),
        "qty": num(fill.quantity),
        "quoteQty": num(fill.price * fill.quantity),
        "realizedPnl": num(fill.realized_pnl),
        "side": fill.side,
        "positionSide": fill.position_side,
        "symbol": to_venue_symbol(fill.symbol),
        "time": venue.shown(fill.time),
    }


def income(venue: Venue, item: Income) -> dict[str, Any]:
    return {
        "symbol": item.symbol,
        "incomeType": item.income_type,
        "income": num(item.amount),
        "asset": ASSET,
        "info": item.info or item.income_type,
        "time": venue.shown(item.time),
        "tranId": item.tran_id,
        "tradeId": "",
    }


def force_order(venue: Venue, record: VenueOrder) -> dict[str, Any]:
    shaped = order(venue, record)
    shaped["type"] = shaped["origType"] = "LIMIT" if record.origin == "liquidation" else "MARKET"
    shaped["timeInForce"] = "IOC"
    return shaped


# -- account ------------------------------------------------------------------------------------
def _positions(account: VenueAccount) -> list[tuple[str, str]]:
    """(symbol, position side) of every position slot Binance lists."""
    sides = ("LONG", "SHORT") if account.dual else ("BOTH",)
    return [(s, side) for s in account.venue.symbols for side in sides]


def position_risk(account: VenueAccount, version: int, symbol: str | None) -> list[dict[str, Any]]:
    venue = account.venue
    book = account.engine.marks_at_close()
    rows = []
    for name, side in _positions(account):
        if symbol is not None and name != symbol:
            continue
        held = book.has_position(name, None if side == "BOTH" else side)
        mark = book.mark_price(name) if name in book._marks else venue.mark_price(name)
        row: dict[str, Any] = {
            "symbol": to_venue_symbol(name),
            "positionSide": side,
            "positionAmt": "0",
            "entryPrice": "0",
            "breakEvenPrice": "0",
            "markPrice": num(mark),
            "unRealizedProfit": "0",
            "liquidationPrice": "0",
            "isolatedMargin": "0",
            "notional": "0",
            "marginAsset": ASSET,
            "isolatedWallet": "0",
            "initialMargin": "0",
            "maintMargin": "0",
            "positionInitialMargin": "0",
            "openOrderInitialMargin": "0",
            "adl": 0,
            "bidNotional": "0",
            "askNotional": "0",
            "updateTime": 0,
        }
        if held:
            key = (name, side)
            p = book.position(key)
            notional = book.notional(key)
            upnl = book.unrealized_pnl(key)
            lp = book.liquidation_price(key)
            im = book.initial_margin_of(key)
            row.update(
                {
                    "positionAmt": num(p.size),
                    "entryPrice": num(p.entry_price),
                    "breakEvenPrice": num(p.entry_price),
                    "unRealizedProfit": num(upnl),
                    "liquidationPrice": num(lp) if lp is not None else "0",
                    "isolatedMargin": num(p.isolated_margin + upnl) if p.is_isolated else "0",
                    "notional": num(math.copysign(notional, p.size)),
                    "isolatedWallet": num(p.isolated_margin) if p.is_isolated else "0",
                    "initialMargin": num(im),
                    "maintMargin": num(book.maintenance_margin_of(key)),
                    "positionInitialMargin": num(im),
                    "adl": 2,
                    "updateTime": venue.shown(p.opened_at),
                }
            )
        if version == 2:
            for extra in (
                "initialMargin",
                "maintMargin",
                "positionInitialMargin",
                "openOrderInitialMargin",
                "adl",
                "bidNotional",
                "askNotional",
            ):
                row.pop(extra, None)
            row["leverage"] = str(account.leverages[name])
            row["marginType"] = "isolated" if account.margin_types[name] == "ISOLATED" else "cross"
            row["isAutoAddMargin"] = "false"
            row["maxNotionalValue"] = max_notional_value(account, name, account.leverages[name])
        rows.append(row)
    return rows


def account_info(account: VenueAccount, version: int) -> dict[str, Any]:
    book = account.engine.marks_at_close()
    wallet = account.wallet_balance()
    cross_upnl = book.cross_unrealized_pnl
    iso_upnl = math.fsum(book.unrealized_pnl(p.key) for p in book.positions if p.is_isolated)
    upnl = cross_upnl + iso_upnl
    position_im = math.fsum(book.initial_margin_of(p.key) for p in book.positions)
    mm = math.fsum(book.maintenance_margin_of(p.key) for p in book.positions)
    available = book.available_balance
    withdrawable = max(0.0, book.withdrawable)
    asset = {
        "asset": ASSET,
        "walletBalance": num(wallet),
        "unrealizedProfit": num(upnl),
        "marginBalance": num(wallet + upnl),
        "maintMargin": num(mm),
        "initialMargin": num(position_im),
        "positionInitialMargin": num(position_im),
        "openOrderInitialMargin": "0",
        "crossWalletBalance": num(book.wallet_balance),
        "crossUnPnl": num(cross_upnl),
        "availableBalance": num(available),
        "maxWithdrawAmount": num(withdrawable),
        "updateTime": account.venue.shown(account.venue.now()),
    }
    if version == 2:
        asset["marginAvailable"] = True
    positions = []
    for row in position_risk(account, 3, None):
        if row["positionAmt"] == "0" and version == 3:
            continue
        positions.append(
            {
                "symbol": row["symbol"],
                "positionSide": row["positionSide"],
                "positionAmt": row["positionAmt"],
                "unrealizedProfit": row["unRealizedProfit"],
                "isolatedMargin": row["isolatedMargin"],
                "notional": row["notional"],
                "isolatedWallet": row["isolatedWallet"],
                "initialMargin": row["initialMargin"],
                "maintMargin": row["maintMargin"],
                "updateTime": row["updateTime"],
            }
        )
    return {
        "totalInitialMargin": num(position_im),
        "totalMaintMargin": num(mm),
        "totalWalletBalance": num(wallet),
        "totalUnrealizedProfit": num(upnl),
        "totalMarginBalance": num(wallet + upnl),
        "totalPositionInitialMargin": num(position_im),
        "totalOpenOrderInitialMargin": "0",
        "totalCrossWalletBalance": num(book.wallet_balance),
        "totalCrossUnPnl": num(cross_upnl),
        "availableBalance": num(available),
        "maxWithdrawAmount": num(withdrawable),
        "assets": [asset],
        "positions": positions,
        **(
            {
                "feeTier": 0,
                "canTrade": True,
                "canDeposit": True,
                "canWithdraw": True,
                "updateTime": 0,
                "multiAssetsMargin": False,
            }
            if version == 2
            else {}
        ),
    }


def balances(account: VenueAccount) -> list[dict[str, Any]]:
    info = account_info(account, 3)
    asset = info["assets"][0]
    return [
        {
            "accountAlias": "SgsR",
            "asset": ASSET,
            "balance": asset["walletBalance"],
            "crossWalletBalance": asset["crossWalletBalance"],
            "crossUnPnl": asset["crossUnPnl"],
            "availableBalance": asset["availableBalance"],
            "maxWithdrawAmount": asset["maxWithdrawAmount"],
            "marginAvailable": True,
            "updateTime": asset["updateTime"],
        }
    ]


# -- user data stream events ------------------------------------------------------------------
def order_update(account: VenueAccount, record: VenueOrder, execution: str) -> dict[str, Any]:
    venue = account.venue
    last_qty = last_price = commission = realized = 0.0
    trade_id = 0
    maker = False
    if execution in ("TRADE", "CALCULATED") and account.fills:
        fill = account.fills[-1]
        if fill.order_id == record.order_id:
            last_qty, last_price = fill.quantity, fill.price
            commission, realized, trade_id, maker = (
                fill.commission,
                fill.realized_pnl,
                fill.trade_id,
                fill.maker,
            )
    now = venue.shown(record.update_time or venue.now())
    liquidation = record.origin in ("liquidation", "adl")
    return {
        "e": "ORDER_TRADE_UPDATE",
        "E": now,
        "T": now,
        "o": {
            "s": to_venue_symbol(record.symbol),
            "c": record.client_id,
            "S": record.side,
            "o": "LIQUIDATION" if liquidation else record.type,
            "f": record.time_in_force,
            "q": num(record.quantity),
            "p": num(record.price),
            "ap": num(record.avg_price),
            "sp": num(record.stop_price),
            "x": execution,
            "X": record.status,
            "i": record.order_id,
            "l": num(last_qty),
            "z": num(record.executed),
            "L": num(last_price),
            "N": ASSET,
            "n": num(commission),
            "T": now,
            "t": trade_id,
            "b": "0",
            "a": "0",
            "m": maker,
            "R": record.reduce_only,
            "wt": record.working_type,
            "ot": "LIQUIDATION" if liquidation else record.type,
            "ps": record.position_side,
            "cp": record.close_position,
            "rp": num(realized),
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "NONE",
            "pm": "NONE",
            "gtd": 0,
        },
    }


def account_update(account: VenueAccount, reason: str) -> dict[str, Any]:
    venue = account.venue
    book = account.engine.marks_at_close()
    positions = []
    for row in position_risk(account, 3, None):
        if row["positionAmt"] == "0" and reason != "ORDER":
            continue
        positions.append(
            {
                "s": row["symbol"],
                "pa": row["positionAmt"],
                "ep": row["entryPrice"],
                "bep": row["breakEvenPrice"],
                "cr": "0",
                "up": row["unRealizedProfit"],
                "mt": "isolated" if row["isolatedWallet"] != "0" else "cross",
                "iw": row["isolatedWallet"],
                "ps": row["positionSide"],
            }
        )
    now = venue.shown(venue.now())
    return {
        "e": "ACCOUNT_UPDATE",
        "E": now,
        "T": now,
        "a": {
            "m": reason,
            "B": [
                {
                    "a": ASSET,
                    "wb": num(account.wallet_balance()),
                    "cw": num(book.wallet_balance),
                    "bc": "0",
                }
            ],
            "P": positions,
        },
    }
