"""The venue over HTTP and websockets (aiohttp): Binance USDⓈ-M's REST routes, its market and
user-data streams, and the control API ``/_venue/...`` (loopback clients only).

Every route runs on the server's event loop, one at a time, so the venue core needs no locks.
Signed routes check the API key, the HMAC signature and the timestamp before anything else
(:mod:`levtrade.localvenue.signing`); errors answer with Binance's code and HTTP status.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl

import numpy as np
from aiohttp import WSMsgType, web

from levtrade.data import parse_timeframe
from levtrade.localvenue import binance_shapes as shapes
from levtrade.localvenue import errors, signing
from levtrade.localvenue.clock import Clock
from levtrade.localvenue.errors import VenueError
from levtrade.localvenue.exchange import Venue, VenueAccount, VenueEvent
from levtrade.localvenue.faults import Fault, Faults
from levtrade.venues.binance import to_venue_symbol

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_T = TypeVar("_T")
TICK_SECONDS = 0.05
"""How often a self-driven clock (replay, realtime) is looked at."""
MAX_KLINES = 1500


def _json(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(body, separators=(",", ":")),
        status=status,
        content_type="application/json",
        headers=headers,
    )


class VenueServer:
    """The venue behind an aiohttp application; start it in a loop or in a thread."""

    def __init__(
        self, venue: Venue, clock: Clock, *, host: str = "127.0.0.1", port: int = 8765
    ) -> None:
        self.venue = venue
        self.clock = clock
        self.host = host
        self.port = port
        self.faults = Faults()
        self.listen_keys: dict[str, str] = {}
        """listen key → API key."""
        self._streams: dict[web.WebSocketResponse, _Stream] = {}
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.app = self._build()
        venue.listeners.append(self._on_event)

    # -- life cycle ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            server = site._server
            assert server is not None
            sockets = getattr(server, "sockets", None) or []
            self.port = int(sockets[0].getsockname()[1])
        if self.clock.mode != "manual":
            self._ticker = asyncio.create_task(self._tick())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        for ws in list(self._streams):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def start_in_thread(self) -> None:
        """Run the server on its own event loop in a daemon thread (tests, notebooks)."""
        started = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:  # reported to the starting thread
                failure.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="levtrade-venue", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            raise failure[0]

    def stop_thread(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def replace_venue(self, venue: Venue) -> None:
        """Serve ``venue`` from now on (a venue rebuilt on more data: a paper venue fed bar by
        bar). Call it on the server's loop (:meth:`call`), between requests."""
        if self._on_event in self.venue.listeners:
            self.venue.listeners.remove(self._on_event)
        self.venue = venue
        venue.listeners.append(self._on_event)

    def call(self, func: Callable[[], _T]) -> _T:
        """Run ``func`` on the server's loop (from another thread) and return its result."""
        assert self._loop is not None

        async def run() -> _T:
            return func()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=60)

    async def _tick(self) -> None:
        while True:
            due = self.clock.due_time()
            if due is not None:
                target = self.venue.bar_at(due)
                if target > self.venue.cursor:
                    self.venue.advance(to=due)
            await asyncio.sleep(TICK_SECONDS)

    # -- routing ---------------------------------------------------------------------------------
    def _build(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        public: dict[str, Callable[[web.Request, dict[str, str]], Any]] = {
            "/fapi/v1/ping": lambda r, p: {},
            "/fapi/v1/time": lambda r, p: {"serverTime": self.clock.server_ms()},
            "/fapi/v1/exchangeInfo": lambda r, p: shapes.exchange_info(self.venue),
            "/fapi/v1/klines": lambda r, p: self._klines(p, "trade"),
            "/fapi/v1/continuousKlines": lambda r, p: self._klines(p, "trade"),
            "/fapi/v1/markPriceKlines": lambda r, p: self._klines(p, "mark"),
            "/fapi/v1/indexPriceKlines": lambda r, p: self._klines(p, "mark"),
            "/fapi/v1/premiumIndexKlines": lambda r, p: self._klines(p, "premium"),
            "/fapi/v1/premiumIndex": self._premium_index,
            "/fapi/v1/fundingRate": self._funding_rate,
            "/fapi/v1/fundingInfo": self._funding_info,
            "/fapi/v1/ticker/price": self._ticker_price,
            "/fapi/v2/ticker/price": self._ticker_price,
            "/fapi/v1/ticker/bookTicker": self._book_ticker,
            "/fapi/v1/ticker/24hr": self._ticker_24h,
            "/fapi/v1/depth": self._depth,
        }
        for path, query in public.items():
            app.router.add_get(path, self._public(query))
        signed: list[tuple[str, str, Callable[[VenueAccount, dict[str, str]], Any]]] = [
            ("GET", "/fapi/v1/leverageBracket", self._brackets),
            ("GET", "/fapi/v2/account", lambda a, p: shapes.account_info(a, 2)),
            ("GET", "/fapi/v3/account", lambda a, p: shapes.account_info(a, 3)),
            ("GET", "/fapi/v2/balance", lambda a, p: shapes.balances(a)),
            ("GET", "/fapi/v3/balance", lambda a, p: shapes.balances(a)),
            ("GET", "/fapi/v2/positionRisk", lambda a, p: self._position_risk(a, p, 2)),
            ("GET", "/fapi/v3/positionRisk", lambda a, p: self._position_risk(a, p, 3)),
            ("POST", "/fapi/v1/leverage", lambda a, p: self._command("leverage", a, p)),
            ("POST", "/fapi/v1/marginType", lambda a, p: self._command("margin_type", a, p)),
            ("GET", "/fapi/v1/positionSide/dual", lambda a, p: {"dualSidePosition": a.dual}),
            (
                "POST",
                "/fapi/v1/positionSide/dual",
                lambda a, p: self._command("position_mode", a, p),
            ),
            ("GET", "/fapi/v1/multiAssetsMargin", lambda a, p: {"multiAssetsMargin": False}),
            (
                "POST",
                "/fapi/v1/multiAssetsMargin",
                lambda a, p: self._command("multi_assets", a, p),
            ),
            (
                "POST",
                "/fapi/v1/positionMargin",
                lambda a, p: self._command("position_margin", a, p),
            ),
            ("POST", "/fapi/v1/order", lambda a, p: self._order(a, p, algo=False)),
            ("POST", "/fapi/v1/algoOrder", lambda a, p: self._order(a, p, algo=True)),
            ("GET", "/fapi/v1/order", lambda a, p: self._query(a, p, algo=False)),
            ("GET", "/fapi/v1/algoOrder", lambda a, p: self._query(a, p, algo=True)),
            ("DELETE", "/fapi/v1/order", lambda a, p: self._cancel(a, p, algo=False)),
            ("DELETE", "/fapi/v1/algoOrder", lambda a, p: self._cancel(a, p, algo=True)),
            ("GET", "/fapi/v1/openOrders", lambda a, p: self._open_orders(a, p, algo=False)),
            ("GET", "/fapi/v1/openAlgoOrders", lambda a, p: self._open_orders(a, p, algo=True)),
            ("GET", "/fapi/v1/openOrder", lambda a, p: self._query(a, p, algo=False, live=True)),
            ("GET", "/fapi/v1/allOrders", lambda a, p: self._all_orders(a, p, algo=False)),
            ("GET", "/fapi/v1/allAlgoOrders", lambda a, p: self._all_orders(a, p, algo=True)),
            ("DELETE", "/fapi/v1/allOpenOrders", lambda a, p: self._cancel_all(a, p, None)),
            ("DELETE", "/fapi/v1/algoOpenOrders", lambda a, p: self._cancel_all(a, p, True)),
            ("GET", "/fapi/v1/userTrades", self._user_trades),
            ("GET", "/fapi/v1/income", self._income),
            ("GET", "/fapi/v1/forceOrders", self._force_orders),
            ("GET", "/fapi/v1/adlQuantile", self._adl_quantile),
        ]
        for method, path, func in signed:
            app.router.add_route(method, path, self._signed(func))
        for method in ("POST", "PUT", "DELETE"):
            app.router.add_route(method, "/fapi/v1/listenKey", self._listen_key)
        for path in ("/ws", "/market/ws", "/public/ws", "/private/ws", "/stream"):
            app.router.add_get(path, self._websocket)
            app.router.add_get(path + "/{key}", self._websocket)
        control = [
            ("GET", "/_venue/status", self._status),
            ("POST", "/_venue/advance", self._advance),
            ("POST", "/_venue/faults", self._add_fault),
            ("DELETE", "/_venue/faults", self._clear_faults),
            ("POST", "/_venue/skew", self._skew),
            ("POST", "/_venue/liquidate", self._control_command("force_liquidation")),
            ("POST", "/_venue/adl", self._control_command("adl")),
            ("POST", "/_venue/order", self._manual_order),
        ]
        for method, path, handler in control:
            app.router.add_route(method, path, handler)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_venue"):
            remote = request.remote or ""
            try:
                loopback = ipaddress.ip_address(remote).is_loopback
            except ValueError:
                loopback = False
            if not loopback:
                return _json({"code": -1002, "msg": "the control API answers loopback only"}, 403)
            try:
                return await handler(request)
            except VenueError as exc:
                return _json(exc.body(), exc.status)
        faults = self.faults.take(request.method, request.path)
        dropped = None
        for fault in faults:
            if fault.kind == "latency":
                await asyncio.sleep(fault.ms / 1000)
            elif fault.kind == "error":  # a gateway's page, not Binance's JSON
                return web.Response(
                    status=fault.status or 503,
                    text="<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>",
                    content_type="text/html",
                )
            elif fault.kind in ("rate_limit", "ban"):
                error = (
                    errors.too_many_requests()
                    if fault.kind == "rate_limit"
                    else errors.ip_banned(self.clock.server_ms() + fault.retry_after * 1000)
                )
                return _json(
                    error.body(),
                    fault.status or error.status,
                    {"Retry-After": str(fault.retry_after)},
                )
            elif fault.kind == "drop":
                dropped = fault
        try:
            response = await handler(request)
        except VenueError as exc:
            response = _json(exc.body(), exc.status)
        except web.HTTPException:
            raise
        if any(f.kind == "truncate" for f in faults) and isinstance(response, web.Response):
            body = response.body if isinstance(response.body, bytes) else b""
            return web.Response(
                body=body[: len(body) // 2], status=200, content_type="application/json"
            )
        if dropped is not None:
            await asyncio.sleep((dropped.ms or 30_000) / 1000)
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError
        return response

    @staticmethod
    async def _params(request: web.Request) -> tuple[dict[str, str], str, str]:
        query = request.query_string
        body = (await request.text()) if request.can_read_body else ""
        params = dict(parse_qsl(query, keep_blank_values=True))
        if body:
            params.update(parse_qsl(body, keep_blank_values=True))
        return params, query, body

    def _public(self, func: Callable[[web.Request, dict[str, str]], Any]) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            params, _, _ = await self._params(request)
            return _json(func(request, params))

        return handle

    def _signed(self, func: Callable[[VenueAccount, dict[str, str]], Any]) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            params, query, body = await self._params(request)
            account = self.venue.account(request.headers.get("X-MBX-APIKEY"))
            signing.verify(query, body, account.secret, self.clock.server_ms())
            for name in ("signature", "timestamp", "recvWindow"):
                params.pop(name, None)
            return _json(func(account, params))

        return handle

    # -- market data -----------------------------------------------------------------------------
    def _klines(self, params: dict[str, str], kind: str) -> list[list[Any]]:
        venue = self.venue
        symbol = venue.symbol(params.get("symbol") or params.get("pair"))
        interval = params.get("interval")
        if not interval:
            raise errors.missing("interval")
        if interval != venue.timeframe:
            try:
                ms = parse_timeframe(interval)
            except Exception:
                raise errors.bad_value("interval", interval) from None
            if ms != venue.timeframe_ms:
                raise VenueError(
                    -1120, f"Invalid interval {interval}: this venue serves {venue.timeframe} bars."
                )
        limit = min(int(params.get("limit", 500)), MAX_KLINES)
        j = venue.column(symbol)
        rd = venue._run_data
        last = venue.cursor + 1 if venue.cursor < venue.n else venue.n
        times = venue.timestamps[:last]
        start = params.get("startTime")
        end = params.get("endTime")
        lo, hi = 0, last
        if start is not None:
            lo = int(np.searchsorted(times, int(start) - venue.shift_ms, side="left"))
        if end is not None:
            hi = int(np.searchsorted(times, int(end) - venue.shift_ms, side="right"))
        if start is not None:
            hi = min(hi, lo + limit)
        else:
            lo = max(lo, hi - limit)
        rows = []
        for bar in range(lo, hi):
            if not rd.active[bar, j]:
                continue
            if bar == venue.cursor:  # the bar now opening: its open only
                price = float(rd.open[bar, j] if kind == "trade" else rd.mark_open[bar, j])
                rows.append(shapes.kline_row(venue, (price,) * 4, int(times[bar]), 0.0))
                continue
            values: tuple[float, ...]
            if kind == "trade":
                values = (rd.open[bar, j], rd.high[bar, j], rd.low[bar, j], rd.close[bar, j])
                volume = float(rd.volume[bar, j])
            elif kind == "mark":
                values = (rd.mark_open[bar, j], rd.mark_high[bar, j], rd.mark_low[bar, j],
                          rd.mark_close[bar, j])  # fmt: skip
                volume = 0.0
            else:
                premium = [
                    float(m / t - 1.0) if t else 0.0
                    for m, t in zip(
                        (rd.mark_open[bar, j], rd.mark_high[bar, j], rd.mark_low[bar, j],
                         rd.mark_close[bar, j]),
                        (rd.open[bar, j], rd.high[bar, j], rd.low[bar, j], rd.close[bar, j]),
                        strict=True,
                    )
                ]  # fmt: skip
                values = tuple(premium)
                volume = 0.0
            rows.append(
                shapes.kline_row(venue, tuple(float(v) for v in values), int(times[bar]), volume)
            )
        return rows

    def _premium_index(self, request: web.Request, params: dict[str, str]) -> Any:
        if params.get("symbol"):
            return shapes.premium_index(self.venue, self.venue.symbol(params["symbol"]))
        return [shapes.premium_index(self.venue, s) for s in self.venue.symbols]

    def _funding_rate(self, request: web.Request, params: dict[str, str]) -> Any:
        venue = self.venue
        symbols = [venue.symbol(params["symbol"])] if params.get("symbol") else venue.symbols
        rows = [row for s in symbols for row in shapes.funding_history(venue, s)]
        rows.sort(key=lambda r: r["fundingTime"])
        if params.get("startTime"):
            rows = [r for r in rows if r["fundingTime"] >= int(params["startTime"])]
        if params.get("endTime"):
            rows = [r for r in rows if r["fundingTime"] <= int(params["endTime"])]
        limit = min(int(params.get("limit", 100)), 1000)
        return rows[:limit] if params.get("startTime") else rows[-limit:]

    def _funding_info(self, request: web.Request, params: dict[str, str]) -> Any:
        venue = self.venue
        profile = venue.config.venue_profile()
        return [
            {
                "symbol": to_venue_symbol(s),
                "adjustedFundingRateCap": shapes.num(profile.funding_rate_cap_for(s) or 0.03),
                "adjustedFundingRateFloor": shapes.num(-(profile.funding_rate_cap_for(s) or 0.03)),
                "fundingIntervalHours": int(venue.instruments[s].funding_interval_hours),
                "disclaimer": False,
            }
            for s in venue.symbols
        ]

    def _ticker_price(self, request: web.Request, params: dict[str, str]) -> Any:
        venue = self.venue

        def row(symbol: str) -> dict[str, Any]:
            return {
                "symbol": to_venue_symbol(symbol),
                "price": shapes.num(venue.last_price(symbol)),
                "time": venue.shown(venue.now()),
            }

        if params.get("symbol"):
            return row(venue.symbol(params["symbol"]))
        return [row(s) for s in venue.symbols]

    def _book_ticker(self, request: web.Request, params: dict[str, str]) -> Any:
        """The best bid and ask: both at the last price (the venue has no order book; fills
        follow the bars, docs/localvenue.md)."""
        venue = self.venue

        def row(symbol: str) -> dict[str, Any]:
            price = shapes.num(venue.last_price(symbol))
            size = shapes.num(self._last_volume(symbol))
            return {
                "symbol": to_venue_symbol(symbol),
                "bidPrice": price,
                "bidQty": size,
                "askPrice": price,
                "askQty": size,
                "time": venue.shown(venue.now()),
            }

        if params.get("symbol"):
            return row(venue.symbol(params["symbol"]))
        return [row(s) for s in venue.symbols]

    def _depth(self, request: web.Request, params: dict[str, str]) -> Any:
        """One level each side at the last price, the last bar's volume deep (no book)."""
        venue = self.venue
        symbol = venue.symbol(params.get("symbol"))
        level = [shapes.num(venue.last_price(symbol)), shapes.num(self._last_volume(symbol))]
        now = venue.shown(venue.now())
        return {"lastUpdateId": venue.cursor, "E": now, "T": now, "bids": [level], "asks": [level]}

    def _last_volume(self, symbol: str) -> float:
        venue = self.venue
        if venue.cursor == 0:
            return 0.0
        value = float(venue._run_data.volume[venue.cursor - 1, venue.column(symbol)])
        return value if np.isfinite(value) else 0.0

    def _ticker_24h(self, request: web.Request, params: dict[str, str]) -> Any:
        """The last 24 hours of closed bars."""
        venue = self.venue
        rd = venue._run_data
        day = max(1, 86_400_000 // venue.timeframe_ms)

        def row(symbol: str) -> dict[str, Any]:
            j = venue.column(symbol)
            lo = max(0, venue.cursor - day)
            hi = max(venue.cursor, 1)
            window = slice(lo, hi)
            opened = float(rd.open[lo, j])
            last = venue.last_price(symbol)
            volume = float(np.nansum(rd.volume[window, j]))
            return {
                "symbol": to_venue_symbol(symbol),
                "priceChange": shapes.num(last - opened),
                "priceChangePercent": shapes.num(round((last / opened - 1) * 100, 3)),
                "weightedAvgPrice": shapes.num(last),
                "lastPrice": shapes.num(last),
                "lastQty": "0",
                "openPrice": shapes.num(opened),
                "highPrice": shapes.num(float(np.nanmax(rd.high[window, j]))),
                "lowPrice": shapes.num(float(np.nanmin(rd.low[window, j]))),
                "volume": shapes.num(volume),
                "quoteVolume": shapes.num(volume * last),
                "openTime": venue.shown(int(venue.timestamps[lo])),
                "closeTime": venue.shown(venue.now()) - 1,
                "firstId": 0,
                "lastId": 0,
                "count": 0,
            }

        if params.get("symbol"):
            return row(venue.symbol(params["symbol"]))
        return [row(s) for s in venue.symbols]

    # -- account ---------------------------------------------------------------------------------
    def _brackets(self, account: VenueAccount, params: dict[str, str]) -> Any:
        if params.get("symbol"):
            return [shapes.brackets(account, self.venue.symbol(params["symbol"]))]
        return [shapes.brackets(account, s) for s in self.venue.symbols]

    def _position_risk(self, account: VenueAccount, params: dict[str, str], version: int) -> Any:
        symbol = self.venue.symbol(params["symbol"]) if params.get("symbol") else None
        rows = shapes.position_risk(account, version, symbol)
        if version == 3:
            rows = [r for r in rows if r["positionAmt"] != "0"]
        return rows

    def _command(self, kind: str, account: VenueAccount, params: dict[str, str]) -> Any:
        return self.venue.execute(kind, {"key": account.key, "params": params})

    def _order(self, account: VenueAccount, params: dict[str, str], *, algo: bool) -> Any:
        record = self.venue.execute("order", {"key": account.key, "params": params, "algo": algo})
        return shapes.order(self.venue, record)

    def _query(
        self, account: VenueAccount, params: dict[str, str], *, algo: bool, live: bool = False
    ) -> Any:
        from levtrade.localvenue.exchange import _find

        symbol = (
            self.venue.symbol(params.get("symbol")) if params.get("symbol") or not algo else None
        )
        record = _find(account, params, algo=algo, symbol=symbol)
        if live and not record.is_open:
            raise VenueError(-2013, "Order does not exist.")
        return shapes.order(self.venue, record)

    def _cancel(self, account: VenueAccount, params: dict[str, str], *, algo: bool) -> Any:
        record = self.venue.execute("cancel", {"key": account.key, "params": params, "algo": algo})
        if algo:
            return {
                "algoId": record.order_id,
                "clientAlgoId": record.client_id,
                "code": "200",
                "msg": "success",
            }
        return shapes.order(self.venue, record)

    def _cancel_all(self, account: VenueAccount, params: dict[str, str], algo: bool | None) -> Any:
        self.venue.execute("cancel_all", {"key": account.key, "params": params, "algo": algo})
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def _open_orders(self, account: VenueAccount, params: dict[str, str], *, algo: bool) -> Any:
        symbol = self.venue.symbol(params["symbol"]) if params.get("symbol") else None
        return [shapes.order(self.venue, o) for o in account.open_orders(symbol, algo=algo)]

    def _all_orders(self, account: VenueAccount, params: dict[str, str], *, algo: bool) -> Any:
        venue = self.venue
        symbol = venue.symbol(params.get("symbol")) if params.get("symbol") else None
        book = account.algo_orders if algo else account.orders
        records = [o for o in book.values() if symbol is None or o.symbol == symbol]
        if params.get("orderId"):
            records = [o for o in records if o.order_id >= int(params["orderId"])]
        records = self._window(records, params, lambda o: venue.shown(o.time))
        limit = min(int(params.get("limit", 500)), 1000)
        return [shapes.order(venue, o) for o in records[:limit]]

    @staticmethod
    def _window(items: list[Any], params: dict[str, str], when: Callable[[Any], int]) -> list[Any]:
        start = params.get("startTime")
        end = params.get("endTime")
        if start is not None:
            items = [x for x in items if when(x) >= int(start)]
        if end is not None:
            items = [x for x in items if when(x) <= int(end)]
        return items

    def _user_trades(self, account: VenueAccount, params: dict[str, str]) -> Any:
        venue = self.venue
        symbol = venue.symbol(params.get("symbol"))
        start, end = params.get("startTime"), params.get("endTime")
        week = 7 * 24 * 3_600_000
        if start is not None and end is not None and int(end) - int(start) > week:
            raise VenueError(-4166, "Search window is restricted to recent 7 days only.")
        fills = [f for f in account.fills if f.symbol == symbol]
        if params.get("orderId"):
            fills = [f for f in fills if f.order_id == int(params["orderId"])]
        if params.get("fromId"):
            fills = [f for f in fills if f.trade_id >= int(params["fromId"])]
        if start is not None and end is None:
            params = {**params, "endTime": str(int(start) + week)}
        elif end is not None and start is None:
            params = {**params, "startTime": str(int(end) - week)}
        fills = self._window(fills, params, lambda f: venue.shown(f.time))
        limit = min(int(params.get("limit", 500)), 1000)
        if start is None and not params.get("fromId"):
            fills = fills[-limit:]
        return [shapes.user_trade(venue, f) for f in fills[:limit]]

    def _income(self, account: VenueAccount, params: dict[str, str]) -> Any:
        venue = self.venue
        items = list(account.income)
        if params.get("symbol"):
            wanted = to_venue_symbol(venue.symbol(params["symbol"]))
            items = [x for x in items if x.symbol == wanted]
        if params.get("incomeType"):
            items = [x for x in items if x.income_type == params["incomeType"]]
        items = self._window(items, params, lambda x: venue.shown(x.time))
        limit = min(int(params.get("limit", 100)), 1000)
        items = items[:limit] if params.get("startTime") else items[-limit:]
        return [shapes.income(venue, x) for x in items]

    def _force_orders(self, account: VenueAccount, params: dict[str, str]) -> Any:
        venue = self.venue
        records = list(account.force_orders)
        if params.get("symbol"):
            symbol = venue.symbol(params["symbol"])
            records = [o for o in records if o.symbol == symbol]
        kind = params.get("autoCloseType")
        if kind == "LIQUIDATION":
            records = [o for o in records if o.origin == "liquidation"]
        elif kind == "ADL":
            records = [o for o in records if o.origin == "adl"]
        records = self._window(records, params, lambda o: venue.shown(o.time))
        limit = min(int(params.get("limit", 50)), 100)
        return [shapes.force_order(venue, o) for o in records[-limit:]]

    def _adl_quantile(self, account: VenueAccount, params: dict[str, str]) -> Any:
        rows = []
        for symbol in self.venue.symbols:
            if params.get("symbol") and self.venue.symbol(params["symbol"]) != symbol:
                continue
            held = [p for p in account.account.positions if p.symbol == symbol]
            if not held:
                continue
            quantile = {"LONG": 0, "SHORT": 0, "BOTH": 0, "HEDGE": 0}
            for p in held:
                quantile[p.leg.value] = 2
            rows.append({"symbol": to_venue_symbol(symbol), "adlQuantile": quantile})
        return rows

    async def _listen_key(self, request: web.Request) -> web.StreamResponse:
        account = self.venue.account(request.headers.get("X-MBX-APIKEY"))
        if request.method == "POST":
            existing = [k for k, v in self.listen_keys.items() if v == account.key]
            key = existing[0] if existing else secrets.token_hex(32)
            self.listen_keys[key] = account.key
            return _json({"listenKey": key})
        if request.method == "DELETE":
            for key in [k for k, v in self.listen_keys.items() if v == account.key]:
                del self.listen_keys[key]
        return _json({})

    # -- websockets ------------------------------------------------------------------------------
    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None, autoping=True)
        listen = request.query.get("listenKey")
        if listen is None and request.match_info.get("key") in self.listen_keys:
            listen = request.match_info["key"]  # Binance's /ws/<listenKey>
        account_key = None
        if listen is not None:
            account_key = self.listen_keys.get(listen)
            if account_key is None:
                raise web.HTTPBadRequest(
                    text='{"code":-1125,"msg":"This listenKey does not exist."}'
                )
        await ws.prepare(request)
        stream = _Stream(ws, account_key)
        for name in request.query.get("streams", "").split("/"):
            if name:
                stream.topics.add(name)
        self._streams[ws] = stream
        writer = asyncio.create_task(stream.write())
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(message.data)
                except ValueError:
                    continue
                method = data.get("method")
                topics = [str(t) for t in data.get("params") or []]
                if method == "SUBSCRIBE":
                    stream.topics.update(topics)
                elif method == "UNSUBSCRIBE":
                    stream.topics.difference_update(topics)
                stream.queue.put_nowait({"result": None, "id": data.get("id")})
        finally:
            self._streams.pop(ws, None)
            writer.cancel()
        return ws

    def _on_event(self, event: VenueEvent) -> None:
        """A venue event as Binance's stream messages, to the connections that want it."""
        if not self._streams:
            return
        if event.kind == "bar":
            self._market_event(event.bar)
            return
        account = event.account
        assert account is not None
        listening = [s for s in self._streams.values() if s.account == account.key]
        if not listening:
            return
        if event.kind == "order":
            assert event.order is not None
            message = shapes.order_update(account, event.order, event.detail)
        else:
            message = shapes.account_update(account, event.detail)
        for stream in listening:
            stream.queue.put_nowait(message)

    def _market_event(self, bar: int) -> None:
        venue = self.venue
        for stream in self._streams.values():
            for topic in list(stream.topics):
                name, _, channel = topic.partition("@")
                symbol = venue.venue_symbols.get(name.upper())
                if symbol is None and name.lower() != "!markprice":
                    continue
                if channel.startswith("kline_") and symbol is not None:
                    if channel[6:] == venue.timeframe:
                        event = shapes.kline_event(venue, symbol, venue.timeframe, bar)
                        stream.queue.put_nowait(event)
                elif channel.startswith("markPrice") and symbol is not None:
                    stream.queue.put_nowait(shapes.mark_price_event(venue, symbol))
                elif name.lower() == "!markprice":
                    marks = [shapes.mark_price_event(venue, s) for s in venue.symbols]
                    stream.queue.put_nowait(marks)

    # -- control API -----------------------------------------------------------------------------
    async def _body(self, request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        text = await request.text()
        if not text:
            return {}
        try:
            data = json.loads(text)
        except ValueError:
            raise VenueError(-1130, "the control API takes a JSON object") from None
        if not isinstance(data, dict):
            raise VenueError(-1130, "the control API takes a JSON object")
        return data

    def status(self) -> dict[str, Any]:
        venue = self.venue
        return {
            "bar": venue.cursor,
            "bars": venue.n,
            "time": venue.shown(venue.now()),
            "timeframe": venue.timeframe,
            "clock": self.clock.mode,
            "symbols": list(venue.symbols),
            "ended": venue.cursor >= venue.n,
        }

    async def _status(self, request: web.Request) -> web.StreamResponse:
        return _json(self.status())

    async def _advance(self, request: web.Request) -> web.StreamResponse:
        data = await self._body(request)
        if "to" in data:
            result = self.venue.advance(to=int(data["to"]) - self.venue.shift_ms)
        else:
            result = self.venue.advance(bars=int(data.get("bars", 1)))
        return _json({**result, **self.status()})

    async def _add_fault(self, request: web.Request) -> web.StreamResponse:
        fault = Fault.from_dict(await self._body(request))
        self.faults.add(fault)
        return _json({"faults": len(self.faults.pending)})

    async def _clear_faults(self, request: web.Request) -> web.StreamResponse:
        self.faults.clear()
        self.clock.skew_ms = 0
        return _json({"faults": 0})

    async def _skew(self, request: web.Request) -> web.StreamResponse:
        data = await self._body(request)
        self.clock.skew_ms = int(data.get("ms", 0))
        return _json({"skew_ms": self.clock.skew_ms})

    def _control_command(self, kind: str) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            data = await self._body(request)
            if data.get("key") not in self.venue.accounts:
                raise errors.bad_api_key()
            return _json(self.venue.execute(kind, data))

        return handle

    async def _manual_order(self, request: web.Request) -> web.StreamResponse:
        """An order placed "by hand" (as in the venue's app, not by the bot)."""
        data = await self._body(request)
        key = data.get("key")
        params = {str(k): str(v) for k, v in (data.get("params") or {}).items()}
        params.setdefault("newClientOrderId", f"web_{secrets.token_hex(8)}")
        record = self.venue.execute(
            "order", {"key": key, "params": params, "algo": False, "origin": "manual"}
        )
        return _json(shapes.order(self.venue, record))


class _Stream:
    """One websocket connection: its topics (market streams) or its account (user data)."""

    def __init__(self, ws: web.WebSocketResponse, account: str | None) -> None:
        self.ws = ws
        self.account = account
        self.topics: set[str] = set()
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    async def write(self) -> None:
        while True:
            message = await self.queue.get()
            if self.ws.closed:
                return
            await self.ws.send_str(json.dumps(message, separators=(",", ":")))
