"""The venue adapter: one venue account through ccxt's ``async_support`` client.

It does what the bot asks the venue — markets and leverage tiers, the account's modes,
candles and funding rates, positions and the wallet, orders with our client ids, fills and
income — and classifies what goes wrong (LIVE.md §1.3, §2):

* a **rejection** (``ExchangeError``: invalid order, insufficient funds, reduce-only refused)
  is final: the order does not exist;
* a **timeout or network error on a submit** is *ambiguous*: the venue may have the order. It
  is never resent blindly; :meth:`VenueAdapter.find` asks the venue for the client id first;
* **429 / −1003** (rate limit) waits — the venue's ``Retry-After``, else 1, 2, 5, 10, 17 s —
  and tries again (a submit is looked up by its client id before it is tried again);
* **418** (an IP ban) raises :class:`~levtrade.live.errors.VenueBanned` at once: nothing more
  is sent, the bot halts with the message.

Reads are retried on network errors (a few times, with a growing pause); ccxt throttles the
request rate itself (``enableRateLimit``). Everything here is a coroutine; nothing touches the
store.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import ccxt.async_support as ccxt_async
from ccxt.base import errors as cx

from levtrade.live.answers import MalformedAnswer, Row, unique_by
from levtrade.live.dialects import Dialect
from levtrade.live.errors import LiveError, VenueBanned, VenueUnavailable
from levtrade.live.store import OrderRow, PositionRecord
from levtrade.margin.tiers import TierTable
from levtrade.venues.sources import parse_ccxt_leverage_tiers

logger = logging.getLogger("levtrade.live.adapter")
_T = TypeVar("_T")

WEEK_MS = 7 * 24 * 3_600_000


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait before trying again."""

    rate_limit: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 17.0)
    """Pauses after each rate-limit answer (FreqTrade's schedule), unless the venue says."""
    network: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    """Pauses between attempts of a read after a network error."""
    lookups: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 3.0)
    """Pauses between asking the venue for an order it may not show yet (freqtrade#4403)."""
    max_retry_after: float = 120.0


@dataclass(frozen=True)
class VenueOrder:
    """An order as the venue reports it, in the store's vocabulary."""

    venue_order_id: str
    client_id: str | None
    symbol: str
    side: str
    type: str
    amount: float
    state: str
    filled: float
    average: float | None
    price: float | None
    trigger_price: float | None
    reduce_only: bool
    trigger: bool
    time: int
    leg: str = "BOTH"
    info: dict[str, Any] | None = None


@dataclass(frozen=True)
class Submitted:
    """What a submit came to: ``accepted`` (with the venue's order), ``rejected`` (final, with
    the venue's message) or ``ambiguous`` (no answer: ask the venue by client id)."""

    outcome: str
    order: VenueOrder | None = None
    message: str = ""


@dataclass(frozen=True)
class VenueFill:
    venue_trade_id: str
    venue_order_id: str
    symbol: str
    side: str
    amount: float
    price: float
    fee: float
    realized_pnl: float
    time: int
    leg: str
    info: dict[str, Any]


@dataclass(frozen=True)
class IncomeItem:
    venue_id: str
    kind: str
    """``funding``, ``clearance`` or ``transfer``."""
    symbol: str
    amount: float
    time: int


@dataclass(frozen=True)
class Market:
    """What the bot needs of a market: its contract specification."""

    symbol: str
    tick_size: float
    lot_size: float
    min_notional: float
    contract_size: float
    maker_fee: float | None
    taker_fee: float | None


_STATES = {"open": "open", "closed": "filled", "canceled": "cancelled", "cancelled": "cancelled",
           "expired": "expired", "rejected": "rejected"}  # fmt: skip


def is_ban(exc: BaseException) -> bool:
    """An HTTP 418 (an IP ban) as ccxt reports it (``DDoSProtection`` with the status)."""
    return isinstance(exc, cx.DDoSProtection) and bool(re.search(r"\b418\b", str(exc)))


def is_rate_limit(exc: BaseException) -> bool:
    return isinstance(exc, cx.RateLimitExceeded | cx.DDoSProtection) and not is_ban(exc)


class VenueAdapter:
    """One venue account through a ccxt ``async_support`` exchange (module docstring)."""

    def __init__(
        self,
        exchange: Any,
        dialect: Dialect,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.exchange = exchange
        _refuse_incomplete_answers(exchange)
        self.dialect = dialect
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self.markets: dict[str, Market] = {}
        self.requests = 0

    @classmethod
    def connect(
        cls,
        dialect: Dialect,
        *,
        key: str | None,
        secret: str | None,
        password: str | None = None,
        venue_url: str | None = None,
        ccxt_config: dict[str, Any] | None = None,
        policy: RetryPolicy | None = None,
    ) -> VenueAdapter:
        """The adapter of an account: on a local venue at ``venue_url`` (ccxt's
        ``binanceusdm`` pointed at it), else on the real venue through ccxt."""
        extra = dict(ccxt_config or {})
        if venue_url is not None:
            from levtrade.localvenue import client

            exchange = client(venue_url, key or "", secret or "", async_=True, **extra)
        else:
            klass = getattr(ccxt_async, dialect.ccxt_id)
            settings: dict[str, Any] = {"enableRateLimit": True, **extra}
            if key:
                settings["apiKey"] = key
            if secret:
                settings["secret"] = secret
            if password:
                settings["password"] = password
            options = dict(settings.get("options") or {})
            options.setdefault("defaultType", "swap")
            settings["options"] = options
            exchange = klass(settings)
        return cls(exchange, dialect, policy=policy)

    async def close(self) -> None:
        await self.exchange.close()

    # -- the call wrappers ---------------------------------------------------------------------
    async def read(self, what: str, call: Callable[[], Awaitable[_T]]) -> _T:
        """A read: retried on network errors and rate limits, 418 halts."""
        network = list(self.policy.network)
        limits = list(self.policy.rate_limit)
        while True:
            self.requests += 1
            try:
                return await call()
            except Exception as exc:
                if is_ban(exc):
                    raise self._banned(exc) from None
                if is_rate_limit(exc):
                    if not limits:
                        raise VenueUnavailable(
                            f"{what}: still rate-limited after retries: {_short(exc)}"
                        ) from None
                    await self._pause_rate_limit(what, exc, limits.pop(0))
                    continue
                if isinstance(exc, cx.NetworkError) or _unreadable(exc):
                    if not network:
                        if _unreadable(exc):
                            raise VenueUnavailable(
                                f"{what}: the venue's answer could not be read (truncated or "
                                f"malformed) after every retry: {_short(exc)}"
                            ) from None
                        raise VenueUnavailable(f"{what}: no answer from the venue: {exc}") from None
                    pause = network.pop(0)
                    logger.warning("%s: %s; trying again in %.1f s", what, _short(exc), pause)
                    await self._sleep(pause)
                    continue
                if isinstance(exc, cx.AuthenticationError):
                    raise LiveError(
                        f"{what}: the venue refused the API key: {_short(exc)}"
                    ) from None
                raise

    async def _pause_rate_limit(self, what: str, exc: BaseException, scheduled: float) -> None:
        pause = max(scheduled, self._retry_after())
        logger.warning("%s: rate limited (%s); waiting %.1f s", what, _short(exc), pause)
        await self._sleep(pause)

    def _retry_after(self, *, capped: bool = True) -> float:
        """The venue's ``Retry-After`` (seconds) on its last answer; 0 when it gave none."""
        headers = getattr(self.exchange, "last_response_headers", None) or {}
        for key, value in headers.items():
            if str(key).lower() == "retry-after":
                try:
                    seconds = float(value)
                except (TypeError, ValueError):
                    return 0.0
                return min(seconds, self.policy.max_retry_after) if capped else seconds
        return 0.0

    def _banned(self, exc: BaseException) -> VenueBanned:
        after = self._retry_after(capped=False)
        until = f" for about {after:.0f} s (Retry-After)" if after else ""
        return VenueBanned(
            f"the venue banned this IP (HTTP 418, too many requests){until}; the bot sent "
            f"nothing more and stopped. Wait for the ban to end, then start it again "
            f"(it reconciles first). Venue's answer: {_short(exc)}"
        )

    # -- markets --------------------------------------------------------------------------------
    async def load_markets(self, symbols: Sequence[str]) -> dict[str, Market]:
        markets = await self.read("load_markets", self.exchange.load_markets)
        found: dict[str, Market] = {}
        for symbol in symbols:
            market = markets.get(symbol)
            if market is None:
                raise LiveError(f"pairs: {symbol} is not a market of {self.dialect.name}")
            found[symbol] = _market(symbol, market)
        self.markets = found
        return found

    async def tiers(self, symbols: Sequence[str]) -> dict[str, TierTable]:
        """The venue's leverage tiers of ``symbols``, as levtrade's tables."""
        raw = await self.read(
            "fetch_leverage_tiers", lambda: self.exchange.fetch_leverage_tiers(list(symbols))
        )
        tables = parse_ccxt_leverage_tiers(
            {s: raw[s] for s in symbols if s in raw},
            venue=self.dialect.name,
            source=f"{self.dialect.name} fetch_leverage_tiers",
        )
        return {t.symbol: t for t in tables}

    # -- market data ------------------------------------------------------------------------------
    async def candles(
        self, symbol: str, timeframe: str, since: int | None, limit: int, kind: str = "trade"
    ) -> list[list[float]]:
        """OHLCV rows (the last one may be the bar now forming: its open only)."""
        params = {} if kind == "trade" else {"price": kind}
        rows: list[list[float]] = await self.read(
            f"fetch_ohlcv {symbol} {kind}",
            lambda: self.exchange.fetch_ohlcv(symbol, timeframe, since, limit, params),
        )
        return rows

    async def funding_rates(self, symbol: str, since: int | None) -> list[tuple[int, float]]:
        rows = await self.read(
            f"fetch_funding_rate_history {symbol}",
            lambda: self.exchange.fetch_funding_rate_history(symbol, since, 1000),
        )
        what = f"fetch_funding_rate_history {symbol}"
        rates = {}
        for raw in rows:
            row = Row(raw, what)
            time = row.time()
            rates[time] = Row(raw, what, str(time)).number("fundingRate", signed=True, high=1.0)
        return sorted(rates.items())

    # -- account --------------------------------------------------------------------------------
    async def hedge_mode(self, symbol: str) -> bool:
        if not self.dialect.hedge_mode:
            return False
        answer = await self.read(
            "fetch_position_mode", lambda: self.exchange.fetch_position_mode(symbol)
        )
        return bool(answer.get("hedged"))

    async def set_hedge_mode(self, hedged: bool, symbol: str) -> None:
        await self.read(
            "set_position_mode", lambda: self.exchange.set_position_mode(hedged, symbol)
        )

    async def multi_assets(self) -> bool:
        """Binance's multi-assets margin mode (other venues: False)."""
        if self.dialect.name != "binance":
            return False
        answer = await self.read(
            "multiAssetsMargin", lambda: self.exchange.fapiPrivateGetMultiAssetsMargin()
        )
        value = answer.get("multiAssetsMargin")
        return value is True or str(value).lower() == "true"

    async def set_multi_assets(self, enabled: bool) -> None:
        await self.read(
            "multiAssetsMargin",
            lambda: self.exchange.fapiPrivatePostMultiAssetsMargin(
                {"multiAssetsMargin": "true" if enabled else "false"}
            ),
        )

    async def settings(self, symbol: str) -> tuple[str, float]:
        """The symbol's margin mode (``cross``/``isolated``) and leverage on the venue."""
        if self.dialect.name == "binance":
            rows = await self.read(
                "positionRisk",
                lambda: self.exchange.fapiPrivateV2GetPositionRisk(
                    {"symbol": self.exchange.market_id(symbol)}
                ),
            )
            if not rows:
                raise MalformedAnswer(f"positionRisk {symbol}: the venue returned no row")
            row = Row(rows[0], f"positionRisk {symbol}")
            mode = "isolated" if str(row.get("marginType")).lower() == "isolated" else "cross"
            return mode, row.number("leverage", zero=False, high=10_000.0)
        leverage = await self.read("fetch_leverage", lambda: self.exchange.fetch_leverage(symbol))
        mode_info = await self.read(
            "fetch_margin_mode", lambda: self.exchange.fetch_margin_mode(symbol)
        )
        value = leverage.get("longLeverage") or leverage.get("shortLeverage") or 1
        answer = Row({"leverage": value}, f"fetch_leverage {symbol}")
        leverage_value = answer.number("leverage", zero=False, high=10_000.0)
        return str(mode_info.get("marginMode") or "cross"), leverage_value

    async def set_margin_mode(self, symbol: str, mode: str) -> bool:
        """Set the symbol's margin mode; False when it was already so ("no need to change")."""
        try:
            await self.read("set_margin_mode", lambda: self.exchange.set_margin_mode(mode, symbol))
        except cx.MarginModeAlreadySet:
            return False
        except cx.NoChange:
            return False
        return True

    async def set_leverage(self, symbol: str, leverage: float) -> float:
        value = math.floor(leverage) if self.dialect.integer_leverage else leverage
        await self.read("set_leverage", lambda: self.exchange.set_leverage(value, symbol))
        return float(value)

    async def positions(self, symbols: Sequence[str]) -> list[PositionRecord]:
        rows = await self.read(
            "fetch_positions", lambda: self.exchange.fetch_positions(list(symbols))
        )
        found = []
        seen: set[tuple[str, str]] = set()
        for raw in rows:
            row = Row(raw, "fetch_positions", str(Row(raw, "fetch_positions").get("symbol")))
            contracts = row.number("contracts", default=0.0)
            if contracts == 0.0 or row.get("symbol") not in symbols:
                continue
            side = row.choice("side", ("long", "short"))
            size = contracts if side == "long" else -contracts
            info = row.get("info") or {}
            hedged_leg = "LONG" if side == "long" else "SHORT"
            leg = str(info.get("positionSide") or (hedged_leg if row.get("hedged") else "BOTH"))
            isolated = str(row.get("marginMode")) == "isolated"
            collateral = Row(
                {"margin": info.get("isolatedWallet") or row.get("collateral")},
                "fetch_positions",
                str(row.get("symbol")),
            )
            margin = collateral.number("margin", default=0.0)
            if (str(row.get("symbol")), leg.upper()) in seen:
                raise MalformedAnswer(
                    f"fetch_positions: {row.get('symbol')} {leg.upper()} appears twice"
                )
            seen.add((str(row.get("symbol")), leg.upper()))
            found.append(
                PositionRecord(
                    symbol=row.text("symbol"),
                    leg=leg.upper(),
                    size=size,
                    entry_price=row.price("entryPrice"),
                    leverage=row.number("leverage", default=0.0, high=10_000.0),
                    margin_mode="isolated" if isolated else "cross",
                    isolated_margin=margin if isolated else 0.0,
                    liquidation_price=row.optional_price("liquidationPrice"),
                    mark_price=row.optional_price("markPrice"),
                )
            )
        return found

    async def wallet(self, currency: str) -> float:
        """The account's wallet balance in ``currency`` (realized, before unrealized PnL)."""
        balance = await self.read("fetch_balance", self.exchange.fetch_balance)
        info = balance.get("info") or {}
        if self.dialect.name == "binance" and "totalWalletBalance" in info:
            return Row(info, "fetch_balance").number("totalWalletBalance", signed=True)
        total = (balance.get(currency) or {}).get("total")
        return Row({currency: total}, "fetch_balance").number(currency, signed=True, default=0.0)

    # -- orders ----------------------------------------------------------------------------------
    def order_call(
        self, row: OrderRow
    ) -> tuple[str, str, float | None, float | None, dict[str, Any]]:
        """ccxt's ``create_order`` arguments for the stored order ``row``."""
        params: dict[str, Any] = {"clientOrderId": row.client_id}
        if row.reduce_only and not row.close_position:
            params["reduceOnly"] = True
        if row.leg != "BOTH":
            params["positionSide"] = row.leg
            params.pop("reduceOnly", None)
        amount: float | None = row.amount
        price: float | None = None
        kind = "market"
        if row.type == "limit":
            kind = "limit"
            price = row.price
            if row.time_in_force == "GTX":
                params["postOnly"] = True
            elif row.time_in_force != "GTC":
                params["timeInForce"] = row.time_in_force
        elif row.type in ("stop", "take_profit_market", "trailing_stop"):
            if row.type == "stop":
                params["stopLossPrice"] = row.trigger_price
            elif row.type == "take_profit_market":
                params["takeProfitPrice"] = row.trigger_price
            else:
                params["trailingPercent"] = row.price
                params["trailingTriggerPrice"] = row.trigger_price
            params["workingType"] = "MARK_PRICE" if row.tag == "mark" else "CONTRACT_PRICE"
            if row.close_position:
                params["closePosition"] = True
                params.pop("reduceOnly", None)
                amount = None
        return kind, row.side, amount, price, params

    async def submit(self, row: OrderRow) -> Submitted:
        """Send one order once. Never retried here: an ambiguous answer goes back to the
        caller, which asks the venue by client id (:meth:`find`) before anything else."""
        kind, side, amount, price, params = self.order_call(row)
        self.requests += 1
        try:
            answer = await self.exchange.create_order(row.symbol, kind, side, amount, price, params)
        except Exception as exc:
            if is_ban(exc):
                raise self._banned(exc) from None
            if is_rate_limit(exc):
                return Submitted("rate_limited", message=_short(exc))
            if isinstance(exc, cx.NetworkError) or _unreadable(exc):
                # the venue may hold the order; it is looked up by its client id
                return Submitted("ambiguous", message=_short(exc))
            if isinstance(exc, cx.AuthenticationError):
                raise LiveError(
                    f"create_order: the venue refused the API key: {_short(exc)}"
                ) from None
            if isinstance(exc, cx.ExchangeError):
                return Submitted("rejected", message=_short(exc))
            raise
        try:
            order = self._order(answer, trigger=row.is_trigger)
        except MalformedAnswer as exc:
            return Submitted("ambiguous", message=str(exc))
        return Submitted("accepted", order)

    async def rate_limit_pause(self, attempt: int) -> None:
        """Wait before trying a rate-limited request again (the ``attempt``-th time)."""
        schedule = self.policy.rate_limit
        scheduled = schedule[min(attempt, len(schedule) - 1)]
        await self._pause_rate_limit("create_order", RuntimeError("429"), scheduled)

    async def find(self, row: OrderRow, *, patient: bool = False) -> VenueOrder | None:
        """The venue's order with ``row``'s client id, or None when the venue has none
        (``patient``: ask a few times, a fresh order can be briefly unknown)."""
        pauses = list(self.policy.lookups) if patient else []
        while True:
            found = await self._find_once(row.symbol, row.client_id, row.is_trigger)
            if found is not None or not pauses:
                return found
            await self._sleep(pauses.pop(0))

    async def _find_once(self, symbol: str, client_id: str, trigger: bool) -> VenueOrder | None:
        params = self.dialect.client_id_params(client_id, trigger=trigger)
        try:
            answer = await self.read(
                f"fetch_order {client_id}",
                lambda: self.exchange.fetch_order(None, symbol, params),
            )
        except cx.OrderNotFound:
            return None
        order = self._order(answer, trigger=trigger)
        if trigger and self.dialect.name == "binance":
            order = await self._triggered(order)
        return order

    async def order_by_id(self, symbol: str, venue_order_id: str) -> VenueOrder | None:
        try:
            answer = await self.read(
                f"fetch_order {venue_order_id}",
                lambda: self.exchange.fetch_order(venue_order_id, symbol),
            )
        except cx.OrderNotFound:
            return None
        return self._order(answer, trigger=False)

    async def _triggered(self, algo: VenueOrder) -> VenueOrder:
        """A Binance algo order that triggered, with what its actual order filled."""
        actual = (algo.info or {}).get("actualOrderId")
        if algo.state != "filled" or not actual or str(actual) == "0":
            return algo
        order = await self.order_by_id(algo.symbol, str(actual))
        if order is None:
            return algo
        state = order.state if order.state != "open" or order.filled == 0 else "partially_filled"
        return VenueOrder(
            venue_order_id=algo.venue_order_id,
            client_id=algo.client_id,
            symbol=algo.symbol,
            side=algo.side,
            type=algo.type,
            amount=order.amount,
            state=state,
            filled=order.filled,
            average=order.average,
            price=algo.price,
            trigger_price=algo.trigger_price,
            reduce_only=algo.reduce_only,
            trigger=True,
            time=algo.time,
            leg=algo.leg,
            info={**(algo.info or {}), "actualOrder": order.venue_order_id},
        )

    async def open_orders(self, symbols: Sequence[str]) -> list[VenueOrder]:
        """Every open order of ``symbols``: plain and conditional."""
        found: list[VenueOrder] = []
        params = dict(self.dialect.trigger_params)
        for symbol in symbols:
            plain: list[dict[str, Any]] = await self.read(
                f"fetch_open_orders {symbol}", partial(self.exchange.fetch_open_orders, symbol)
            )
            found.extend(self._order(o, trigger=False) for o in plain)
            if params:
                conditional: list[dict[str, Any]] = await self.read(
                    f"fetch_open_orders {symbol} (trigger)",
                    partial(self.exchange.fetch_open_orders, symbol, None, None, params),
                )
                found.extend(self._order(o, trigger=True) for o in conditional)
        return found

    async def cancel(self, symbol: str, venue_order_id: str, *, trigger: bool) -> str:
        """Cancel an order: ``cancelled``, or ``gone`` when the venue no longer has it open
        (it filled or was cancelled meanwhile: ask it with :meth:`find`)."""
        params = dict(self.dialect.trigger_params) if trigger else {}
        try:
            await self.read(
                f"cancel_order {venue_order_id}",
                lambda: self.exchange.cancel_order(venue_order_id, symbol, params),
            )
        except cx.OrderNotFound:
            return "gone"
        return "cancelled"

    # -- fills and income -----------------------------------------------------------------------
    async def fills(self, symbol: str, since: int, until: int) -> list[VenueFill]:
        """Every execution of ``symbol`` from ``since`` to ``until`` (7-day windows)."""
        found: dict[str, VenueFill] = {}
        start = since
        while start <= until:
            end = min(start + WEEK_MS - 1, until)
            window_start = start
            while True:
                rows: list[dict[str, Any]] = await self.read(
                    f"fetch_my_trades {symbol}",
                    partial(self.exchange.fetch_my_trades, symbol, window_start, 1000,
                            {"endTime": end}),
                )  # fmt: skip
                page = [_fill(row, self.dialect.realized_field) for row in rows]
                found.update(unique_by([*found.values(), *page], _trade_id, "fetch_my_trades"))
                if len(rows) < 1000:
                    break
                window_start = max(f.time for f in page)
            start = end + 1
        return sorted(found.values(), key=lambda f: (f.time, _numeric(f.venue_trade_id)))

    async def income(self, currency: str, since: int, until: int) -> list[IncomeItem]:
        """Funding, clearances and transfers from ``since`` to ``until``."""
        found: dict[str, IncomeItem] = {}
        start = since
        while True:
            rows: list[dict[str, Any]] = await self.read(
                "fetch_ledger",
                partial(self.exchange.fetch_ledger, currency, start, 1000,
                        {"endTime": until, "subType": "linear"}),
            )  # fmt: skip
            page = []
            for raw in rows:
                kind = self.dialect.income_kind(raw)
                if kind is None:
                    continue
                ident = str(raw.get("id")) if isinstance(raw, dict) else None
                row = Row(raw, "fetch_ledger", ident)
                info = row.get("info") or {}
                symbol = self._unified(str(info.get("symbol") or ""))
                sign = -1.0 if row.get("direction") == "out" else 1.0
                amount = row.number("amount", signed=True) * sign
                page.append(IncomeItem(row.text("id"), kind, symbol, amount, row.time()))
            found.update(unique_by([*found.values(), *page], _income_id, "fetch_ledger"))
            if len(rows) < 1000:
                break
            start = max((Row(r, "fetch_ledger").time() for r in rows), default=start)
        if self.dialect.funding_from == "funding_history":
            history = await self.funding_history(since, until)
            found.update(unique_by([*found.values(), *history], _income_id, "funding history"))
        return sorted(found.values(), key=lambda i: (i.time, _numeric(i.venue_id)))

    async def funding_history(self, since: int, until: int) -> list[IncomeItem]:
        """Funding payments where the venue reports them apart from its ledger."""
        rows: list[dict[str, Any]] = await self.read(
            "fetch_funding_history",
            partial(self.exchange.fetch_funding_history, None, since, 1000, {"until": until}),
        )
        return [self.funding_item(row) for row in rows]

    def funding_item(self, row: dict[str, Any]) -> IncomeItem:
        """A ccxt funding-history entry as an income item."""
        venue_id = self.dialect.funding_id(row)
        answer = Row(row, "fetch_funding_history", venue_id)
        return IncomeItem(
            venue_id=venue_id,
            kind="funding",
            symbol=answer.text("symbol"),
            amount=answer.number("amount", signed=True),
            time=answer.time(),
        )

    def _unified(self, venue_symbol: str) -> str:
        if not venue_symbol:
            return ""
        try:
            return str(self.exchange.safe_symbol(venue_symbol, None, None, "swap"))
        except Exception:
            return venue_symbol

    # -- parsing --------------------------------------------------------------------------------
    def _order(self, answer: dict[str, Any], *, trigger: bool) -> VenueOrder:
        ident = answer.get("id") if isinstance(answer, dict) else None
        row = Row(answer, "order", None if ident is None else str(ident))
        status = str(row.get("status") or "open")
        filled = row.number("filled", default=0.0)
        state = _STATES.get(status, "open")
        if state == "open" and filled > 0:
            state = "partially_filled"
        info = row.mapping("info")
        leg = str(info.get("positionSide") or "BOTH").upper()
        stamp = row.get("timestamp")
        return VenueOrder(
            venue_order_id=row.text("id"),
            client_id=self.dialect.client_id_of(answer),
            symbol=row.text("symbol"),
            side=row.choice("side", ("buy", "sell")),
            type=str(row.get("type")),
            amount=row.number("amount", default=0.0),
            state=state,
            filled=filled,
            average=row.optional_price("average"),
            price=row.optional_price("price"),
            trigger_price=Row(
                {"trigger": answer.get("triggerPrice") or answer.get("stopPrice")},
                "order",
                row.text("id"),
            ).optional_price("trigger"),
            reduce_only=bool(row.get("reduceOnly")),
            trigger=trigger,
            time=0 if stamp is None else row.time(),
            leg=leg if leg in ("LONG", "SHORT") else "BOTH",
            info=dict(info),
        )


def _market(symbol: str, market: dict[str, Any]) -> Market:
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    cost = limits.get("cost") or {}
    what = f"load_markets {symbol}"
    spec = Row(
        {
            "precision.price": precision.get("price"),
            "precision.amount": precision.get("amount"),
            "limits.cost.min": cost.get("min"),
            "contractSize": market.get("contractSize"),
            "maker": market.get("maker"),
            "taker": market.get("taker"),
        },
        what,
    )
    return Market(
        symbol=symbol,
        tick_size=spec.number("precision.price", default=0.0),
        lot_size=spec.number("precision.amount", default=0.0),
        min_notional=spec.number("limits.cost.min", default=0.0),
        contract_size=spec.number("contractSize", default=1.0, zero=False),
        maker_fee=_fee(spec, "maker"),
        taker_fee=_fee(spec, "taker"),
    )


def _fee(spec: Row, name: str) -> float | None:
    """A fee rate the venue may leave out (None); a rebate is negative."""
    value = spec.get(name)
    if value is None or value == "":
        return None
    rate = spec.number(name, signed=True, high=0.1)
    return rate if rate != 0.0 else None


def _fill(raw: dict[str, Any], realized_field: str | None) -> VenueFill:
    ident = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") is not None else None
    row = Row(raw, "fetch_my_trades", ident)
    info = row.mapping("info")
    leg = str(info.get("positionSide") or "BOTH").upper()
    extra = Row(
        {
            "fee.cost": (row.get("fee") or {}).get("cost"),
            "realized": info.get(realized_field) if realized_field else None,
        },
        "fetch_my_trades",
        ident,
    )
    return VenueFill(
        venue_trade_id=row.text("id"),
        venue_order_id=row.text("order"),
        symbol=row.text("symbol"),
        side=row.choice("side", ("buy", "sell")),
        amount=row.number("amount", zero=False),
        price=row.price("price"),
        fee=extra.number("fee.cost", signed=True, default=0.0),
        realized_pnl=extra.number("realized", signed=True, default=0.0),
        time=row.time(),
        leg=leg if leg in ("LONG", "SHORT") else "BOTH",
        info=dict(info),
    )


def _trade_id(fill: VenueFill) -> str:
    return fill.venue_trade_id


def _income_id(item: IncomeItem) -> str:
    return item.venue_id


def _refuse_incomplete_answers(exchange: Any) -> None:
    """Make ``exchange`` raise ``BadResponse`` for a 2xx answer whose body is not complete JSON
    (cut off in transit, or a proxy's page): ccxt would otherwise hand the broken text to its
    parsers, which build orders and balances out of it. The check is per request, in ccxt's
    own response hook."""
    inner = exchange.on_rest_response

    def checked(
        code: Any, reason: Any, url: str, method: str, headers: Any, body: Any, *rest: Any
    ) -> Any:
        text = inner(code, reason, url, method, headers, body, *rest)
        if isinstance(text, str) and text.strip() and 200 <= int(code) < 300:
            try:
                json.loads(text)
            except ValueError:
                raise cx.BadResponse(
                    f"{method} {url}: the venue's answer is not complete JSON "
                    f"({len(text)} characters)"
                ) from None
        return text

    exchange.on_rest_response = checked


def _unreadable(exc: BaseException) -> bool:
    """An answer ccxt could not make sense of: a body that is not the JSON it expects (cut off
    in transit, or a proxy's page with status 200) surfaces as ``BadResponse`` or as an error
    inside ccxt's parser."""
    return isinstance(exc, cx.BadResponse | TypeError | KeyError | ValueError | AttributeError)


def _numeric(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300]
