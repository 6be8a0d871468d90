"""The venue core: accounts per API key, markets, orders, the clock's bars — no HTTP.

Each account is a backtest :class:`~levtrade.backtest.engine.Engine` over the venue's market
data, advanced bar by bar with :meth:`Engine.run_until`: the venue's fills, funding and
liquidations are the backtester's, to the bit (docs/backtest.md). Between bars the venue takes
commands (an order, a cancel, a leverage change ...); :meth:`Venue.execute` validates one,
applies it to the accounts' engines and, with a journal, commits it before it is acknowledged,
so that a restarted venue replays its journal through fresh engines to the same state.

"Now" is the boundary between the last walked bar and the next: market orders fill at the next
bar's open (the next price), marks are the last close's. Events (fills, order updates, account
updates, closed candles) go to the listeners, which the server turns into websocket messages.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levtrade.backtest.driver import BarEngine
from levtrade.backtest.engine import Engine
from levtrade.data import Portfolio
from levtrade.errors import InsufficientMargin, LeverageError, LevtradeError, OrderRejected
from levtrade.localvenue import errors
from levtrade.localvenue.errors import VenueError
from levtrade.localvenue.marketdata import DEFAULT_MIN_NOTIONAL, price_tick, quantity_step
from levtrade.margin import Account, LiquidationResult, MarginMode, contracts
from levtrade.margin.ledger import (
    CROSS,
    EXTERNAL,
    FEES,
    INSURANCE_FUND,
    LIQUIDATION_FEES,
    MARKET,
    Entry,
    EntryKind,
)
from levtrade.model.instrument import Instrument
from levtrade.model.orders import Order, OrderStatus, OrderType, Reason, Trade
from levtrade.spec import BacktestConfig, RunSpec, resolve
from levtrade.venues.binance import to_venue_symbol

DEFAULT_LEVERAGE = 20.0
"""Binance's initial leverage of a symbol (capped at the first tier's maximum)."""


@dataclass(frozen=True)
class VenueEvent:
    """Something a listener may tell the outside (the server turns it into websocket
    messages): an order's update (``order``, with Binance's execution type in ``detail``), an
    account update (``account``, with its reason), a closed bar (``bar``)."""

    kind: str
    account: VenueAccount | None = None
    order: VenueOrder | None = None
    detail: str = ""
    bar: int = -1


Listener = Callable[[VenueEvent], None]


def _bool(value: str | None, name: str) -> bool:
    if value is None or value == "":
        return False
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise errors.bad_value(name, value)
    return lowered == "true"


def _number(params: Mapping[str, str], name: str, *, required: bool = False) -> float | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise errors.missing(name)
        return None
    try:
        number = float(value)
    except ValueError:
        raise errors.bad_value(name, value) from None
    if not math.isfinite(number):
        raise errors.bad_value(name, value)
    return number


def _on_grid(value: float, step: float) -> bool:
    units = value / step
    return abs(units - round(units)) < 1e-6


@dataclass
class VenueSettings:
    """How a venue is set up (all of it is part of the state file's identity)."""

    wallet: float = 10_000.0
    api_keys: Mapping[str, str] = field(default_factory=dict)
    """Secret of each API key; one account per key."""
    start: int | None = None
    """Data time the venue starts at (the bar containing it); None: the first bar."""
    config: Mapping[str, Any] = field(default_factory=dict)
    """Backtest settings the fills follow (slippage, fees, funding, tiers, instruments ...)."""
    leverage: float = DEFAULT_LEVERAGE

    def identity(self) -> dict[str, Any]:
        return {
            "wallet": self.wallet,
            "api_keys": sorted(self.api_keys),
            "start": self.start,
            "config": dict(self.config),
            "leverage": self.leverage,
        }


@dataclass
class VenueOrder:
    """An order as the venue reports it (Binance's fields, float-valued)."""

    order_id: int
    client_id: str
    symbol: str
    side: str
    type: str
    position_side: str
    quantity: float
    price: float
    stop_price: float
    time_in_force: str
    reduce_only: bool
    close_position: bool
    working_type: str
    time: int
    algo: bool = False
    callback_rate: float = 0.0
    activation_price: float = 0.0
    status: str = "NEW"
    executed: float = 0.0
    cum_quote: float = 0.0
    commission: float = 0.0
    realized_pnl: float = 0.0
    update_time: int = 0
    origin: str = "api"
    """``api``, ``manual`` (placed by hand), ``liquidation``, ``adl``, ``triggered``."""
    engine_order: Order | None = None
    actual_order_id: int | None = None
    """For an algo order: the order it became when it triggered."""

    @property
    def avg_price(self) -> float:
        return self.cum_quote / self.executed if self.executed else 0.0

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")


@dataclass(frozen=True)
class VenueFill:
    """One execution (a user trade)."""

    trade_id: int
    order_id: int
    symbol: str
    side: str
    price: float
    quantity: float
    realized_pnl: float
    commission: float
    time: int
    position_side: str
    maker: bool


@dataclass(frozen=True)
class Income:
    """One entry of the income history (Binance's income types)."""

    tran_id: int
    symbol: str
    income_type: str
    amount: float
    time: int
    info: str = ""


class VenueAccount:
    """One API key's account: its engine and what the venue reports about it."""

    def __init__(self, venue: Venue, key: str, secret: str) -> None:
        self.venue = venue
        self.key = key
        self.secret = secret
        self.engine = Engine(venue.data, venue.spec, _Driver(self))
        self.account: Account = self.engine.account
        self.orders: dict[int, VenueOrder] = {}
        self.algo_orders: dict[int, VenueOrder] = {}
        self.by_engine: dict[int, VenueOrder] = {}
        self.fills: list[VenueFill] = []
        self.income: list[Income] = []
        self.force_orders: list[VenueOrder] = []
        self.dual = False
        self.margin_types: dict[str, str] = {}
        self.leverages: dict[str, int] = {}
        self._ledger_seen = 0
        self._liquidations_seen = 0
        for instrument in self.engine.instruments:
            leverage = int(min(venue.settings.leverage, self.max_leverage(instrument.symbol, 0.0)))
            self.leverages[instrument.symbol] = leverage
            self.account.set_leverage(instrument.symbol, leverage)
            self.margin_types[instrument.symbol] = "CROSSED"
        self._sync(emit=False)

    # -- figures -----------------------------------------------------------------------------
    def max_leverage(self, symbol: str, notional: float) -> float:
        return self.account.tiers(symbol).tier_at(notional).max_leverage

    def open_orders(
        self, symbol: str | None = None, *, algo: bool | None = None
    ) -> list[VenueOrder]:
        books: list[dict[int, VenueOrder]] = []
        if algo is not True:
            books.append(self.orders)
        if algo is not False:
            books.append(self.algo_orders)
        return [
            o
            for book in books
            for o in book.values()
            if o.is_open and (symbol is None or o.symbol == symbol)
        ]

    def wallet_balance(self) -> float:
        """Cross wallet plus every isolated margin: Binance's ``walletBalance``."""
        return self.account.wallet_balance + math.fsum(
            p.isolated_margin for p in self.account.positions if p.is_isolated
        )

    # -- engine events -----------------------------------------------------------------------
    def on_engine_order(self, order: Order) -> None:
        self._sync()
        record = self.by_engine.get(order.id)
        if record is None:
            if order.status is not OrderStatus.FILLED or order.origin != "adl":
                return
            record = self._adl_record(order)
        if order.status is OrderStatus.FILLED or (
            order.status is OrderStatus.SUBMITTED and order.filled_size != 0.0
        ):
            if record.algo:
                actual = record.actual_order_id
                record = self.orders[actual] if actual else self._triggered(record, order)
            self._record_fill(record, order)
            record.status = "FILLED" if order.status is OrderStatus.FILLED else "PARTIALLY_FILLED"
            record.update_time = self.engine.t
            self.venue.emit(VenueEvent("order", self, record, "TRADE"))
            self.venue.emit(VenueEvent("account", self, detail="ORDER"))
        elif order.status is OrderStatus.CANCELLED:
            record.status = (
                "EXPIRED" if order.reason != str(Reason.CANCELLED_BY_STRATEGY) else ("CANCELED")
            )
            record.update_time = self.engine.t
            self.venue.emit(VenueEvent("order", self, record, record.status))
        elif order.status in (OrderStatus.REJECTED, OrderStatus.EXPIRED):
            record.status = "EXPIRED"
            record.update_time = self.engine.t
            self.venue.emit(VenueEvent("order", self, record, "EXPIRED"))

    def on_engine_trade(self, trade: Trade) -> None:
        self._sync()

    def _adl_record(self, order: Order) -> VenueOrder:
        venue = self.venue
        record = VenueOrder(
            order_id=venue.next_id(),
            client_id="adl_autoclose",
            symbol=order.symbol,
            side=order.side.upper(),
            type="MARKET",
            position_side=order.leg or "BOTH",
            quantity=abs(order.filled_size),
            price=0.0,
            stop_price=0.0,
            time_in_force="IOC",
            reduce_only=True,
            close_position=False,
            working_type="CONTRACT_PRICE",
            time=self.engine.t,
            origin="adl",
            engine_order=order,
        )
        self.orders[record.order_id] = record
        self.force_orders.append(record)
        return record

    def _triggered(self, algo: VenueOrder, order: Order) -> VenueOrder:
        """The order a triggered algo order becomes (Binance's ``actualOrderId``)."""
        algo.status = "FINISHED"
        algo.update_time = self.engine.t
        actual = VenueOrder(
            order_id=self.venue.next_id(),
            client_id=algo.client_id,
            symbol=algo.symbol,
            side=algo.side,
            type=algo.type,
            position_side=algo.position_side,
            quantity=abs(order.filled_size) if algo.close_position else algo.quantity,
            price=algo.price,
            stop_price=algo.stop_price,
            time_in_force=algo.time_in_force,
            reduce_only=algo.reduce_only,
            close_position=algo.close_position,
            working_type=algo.working_type,
            time=self.engine.t,
            origin="triggered",
            engine_order=order,
        )
        algo.actual_order_id = actual.order_id
        self.orders[actual.order_id] = actual
        return actual

    def _record_fill(self, record: VenueOrder, order: Order) -> None:
        """The execution the engine order added since the last one recorded (a partial fill
        adds a part; the order's price is the parts' average)."""
        filled = abs(order.filled_size)
        quantity = filled - record.executed
        if quantity <= 0:
            return
        if record.executed:
            price = (order.fill_price * filled - record.cum_quote) / quantity
            fee = order.fee - record.commission
            pnl = order.realized_pnl - record.realized_pnl
        else:
            price, fee, pnl = order.fill_price, order.fee, order.realized_pnl
        record.executed += quantity
        record.cum_quote += quantity * price
        record.commission += fee
        record.realized_pnl += pnl
        self.fills.append(
            VenueFill(
                trade_id=self.venue.next_trade_id(),
                order_id=record.order_id,
                symbol=record.symbol,
                side=record.side,
                price=price,
                quantity=quantity,
                realized_pnl=pnl,
                commission=fee,
                time=self.engine.t,
                position_side=record.position_side,
                maker=order.type in (OrderType.LIMIT, OrderType.TAKE_PROFIT)
                and order.time_in_force not in ("IOC", "FOK"),
            )
        )

    # -- ledger → income; liquidations → force orders ----------------------------------------
    def _sync(self, *, emit: bool = True) -> None:
        engine = self.engine
        results = engine.liquidations
        while self._liquidations_seen < len(results):
            self._liquidation(results[self._liquidations_seen], emit=emit)
            self._liquidations_seen += 1
        ledger = self.account.ledger
        if self._ledger_seen < len(ledger):  # (the entries are materialized only then)
            entries = ledger.entries
            kinds = set()
            for entry in entries[self._ledger_seen :]:
                kinds.add(entry.kind)
                income = self._income(entry)
                if income is not None:
                    self.income.append(income)
            self._ledger_seen = len(entries)
            if emit and EntryKind.FUNDING in kinds:
                self.venue.emit(VenueEvent("account", self, detail="FUNDING_FEE"))

    def _income(self, entry: Entry) -> Income | None:
        """Binance's income record of a ledger entry (transfers between the cross wallet and
        isolated margins are internal: no income)."""
        kind = entry.kind
        source, destination = entry.source, entry.destination
        mine_in = destination == CROSS or destination.startswith("isolated:")
        mine_out = source == CROSS or source.startswith("isolated:")
        if mine_in == mine_out:
            return None
        amount = entry.amount if mine_in else -entry.amount
        symbol = entry.symbol or _book_symbol(source if mine_out else destination)
        if kind in (EntryKind.DEPOSIT, EntryKind.WITHDRAWAL):
            income_type = "TRANSFER"
        elif kind is EntryKind.FUNDING:
            income_type = "FUNDING_FEE"
        elif kind is EntryKind.REALIZED_PNL:
            income_type = "REALIZED_PNL"
        elif kind is EntryKind.FEE:
            income_type = "COMMISSION"
        elif kind in (EntryKind.LIQUIDATION, EntryKind.LIQUIDATION_FEE, EntryKind.INSURANCE_FUND):
            income_type = "INSURANCE_CLEAR"
        else:
            return None
        other = destination if mine_out else source
        if other not in (EXTERNAL, MARKET, FEES, LIQUIDATION_FEES, INSURANCE_FUND):
            return None
        return Income(
            tran_id=self.venue.next_tran_id(),
            symbol=to_venue_symbol(symbol) if symbol else "",
            income_type=income_type,
            amount=amount,
            time=entry.time,
        )

    def _liquidation(self, result: LiquidationResult, *, emit: bool) -> None:
        """Binance's report of a liquidation: one ``autoclose-`` order per position closed."""
        for leg in result.legs:
            symbol = leg.key.symbol
            size = leg.size_closed
            record = VenueOrder(
                order_id=self.venue.next_id(),
                client_id=f"autoclose-{result.time}{len(self.force_orders) + 1:06d}",
                symbol=symbol,
                side="SELL" if size > 0 else "BUY",
                type="LIQUIDATION",
                position_side=leg.key.leg.value,
                quantity=abs(size),
                price=leg.execution_price,
                stop_price=0.0,
                time_in_force="IOC",
                reduce_only=False,
                close_position=False,
                working_type="CONTRACT_PRICE",
                time=result.time,
                origin="liquidation",
                status="FILLED",
                executed=abs(size),
                cum_quote=abs(size) * leg.execution_price,
                update_time=result.time,
            )
            self.orders[record.order_id] = record
            self.force_orders.append(record)
            self.fills.append(
                VenueFill(
                    trade_id=self.venue.next_trade_id(),
                    order_id=record.order_id,
                    symbol=symbol,
                    side=record.side,
                    price=leg.execution_price,
                    quantity=abs(size),
                    realized_pnl=leg.realized_pnl,
                    commission=0.0,
                    time=result.time,
                    position_side=record.position_side,
                    maker=False,
                )
            )
            if emit:
                self.venue.emit(VenueEvent("order", self, record, "CALCULATED"))
        if emit:
            self.venue.emit(VenueEvent("account", self, detail="ORDER"))


def _book_symbol(book: str) -> str:
    """The symbol of an isolated book (``isolated:<symbol>:<leg>``), else ''."""
    if book.startswith("isolated:"):
        return book.split(":", 1)[1].rsplit(":", 1)[0]
    return ""


class _Driver:
    """The engine's driver: nothing decides at the closes; order and trade events go to the
    account's records."""

    no_before_path = True

    def __init__(self, account: VenueAccount) -> None:
        self.account = account

    def start(self, engine: BarEngine) -> None:
        return None

    def before_path(self, i: int) -> None:
        return None

    def on_order(self, order: Order) -> None:
        self.account.on_engine_order(order)

    def on_trade(self, trade: Trade) -> None:
        self.account.on_engine_trade(trade)

    def trail(self, order: Order, price: float) -> None:
        raise LevtradeError(f"order #{order.id}: the venue manages no trailing level")

    def on_close(self, i: int) -> None:
        return None

    def finish(self) -> None:
        return None


class Venue:
    """The exchange: market data, settings, accounts, the bar "now" is at."""

    def __init__(
        self,
        data: Portfolio,
        settings: VenueSettings,
        *,
        timeframe: str,
        shift_ms: int = 0,
    ) -> None:
        if not settings.api_keys:
            raise VenueError(-2014, "the venue needs at least one API key")
        self.data = data
        self.settings = settings
        self.timeframe = timeframe
        self.shift_ms = shift_ms
        self.config = self._config(data, settings)
        self.spec: RunSpec = resolve(self.config, [m.symbol for m in data.markets])
        self.timestamps = np.asarray(data.timestamps, dtype=np.int64)
        self.n = int(self.timestamps.shape[0])
        self.timeframe_ms = int(self.timestamps[1] - self.timestamps[0]) if self.n > 1 else 60_000
        self.symbols: tuple[str, ...] = tuple(m.symbol for m in data.markets)
        self.venue_symbols = {to_venue_symbol(s): s for s in self.symbols}
        self.start_bar = 0
        if settings.start is not None:
            self.start_bar = int(np.searchsorted(self.timestamps, settings.start, side="right")) - 1
            if not 0 <= self.start_bar < self.n:
                raise VenueError(-1130, f"start: {settings.start} is outside the data")
        self.cursor = self.start_bar
        self.listeners: list[Listener] = []
        self.journal: Any = None
        self._ids = 0
        self._trade_ids = 0
        self._tran_ids = 0
        self.accounts: dict[str, VenueAccount] = {}
        for key, secret in settings.api_keys.items():
            account = VenueAccount(self, key, secret)
            account.engine.run_until(self.cursor)
            self.accounts[key] = account
        self.instruments: dict[str, Instrument] = {
            inst.symbol: inst for inst in next(iter(self.accounts.values())).engine.instruments
        }
        self._run_data = next(iter(self.accounts.values())).engine.run_data

    @staticmethod
    def _config(data: Portfolio, settings: VenueSettings) -> BacktestConfig:
        values = dict(settings.config)
        given = dict(values.pop("instruments", {}) or {})
        instruments: dict[str, dict[str, Any]] = {}
        for market in data.markets:
            candles = market.candles("trade")
            assert candles is not None
            closes = np.asarray(candles.close, dtype=np.float64)
            first = float(closes[np.isfinite(closes)][0])
            spec: dict[str, Any] = {
                "tick_size": price_tick(closes),
                "lot_size": quantity_step(first),
                "min_notional": DEFAULT_MIN_NOTIONAL,
            }
            spec.update(given.get(market.symbol, {}) or {})
            instruments[market.symbol] = spec
        return BacktestConfig(
            venue="binance",
            wallet=settings.wallet,
            leverage=1.0,
            margin_mode="cross",
            position_mode="one_way",
            instruments=instruments,
            **values,
        )

    # -- ids and time --------------------------------------------------------------------------
    def next_id(self) -> int:
        self._ids += 1
        return 8_000_000_000 + self._ids

    def next_trade_id(self) -> int:
        self._trade_ids += 1
        return 500_000_000 + self._trade_ids

    def next_tran_id(self) -> int:
        self._tran_ids += 1
        return 9_000_000_000 + self._tran_ids

    def now(self) -> int:
        """Data time of "now": the open of the next bar (the close of the last walked one)."""
        if self.cursor < self.n:
            return int(self.timestamps[self.cursor])
        return int(self.timestamps[-1]) + self.timeframe_ms

    def shown(self, time: int) -> int:
        """A data time as the venue shows it (shifted in realtime mode)."""
        return time + self.shift_ms

    def account(self, key: str | None) -> VenueAccount:
        if not key:
            raise errors.bad_api_key_format()
        account = self.accounts.get(key)
        if account is None:
            raise errors.bad_api_key()
        return account

    def symbol(self, venue_symbol: str | None) -> str:
        if not venue_symbol:
            raise errors.missing("symbol")
        symbol = self.venue_symbols.get(venue_symbol.upper())
        if symbol is None:
            raise errors.bad_symbol()
        return symbol

    def column(self, symbol: str) -> int:
        return self.symbols.index(symbol)

    def last_price(self, symbol: str) -> float:
        """The last trade price: the close of the last walked bar (the next open before the
        first bar)."""
        j = self.column(symbol)
        rd = self._run_data
        i = self.cursor - 1
        while i >= 0 and not np.isfinite(rd.close[i, j]):
            i -= 1
        return float(rd.close[i, j]) if i >= 0 else float(rd.open[max(self.cursor, 0), j])

    def mark_price(self, symbol: str) -> float:
        j = self.column(symbol)
        rd = self._run_data
        i = self.cursor - 1
        while i >= 0 and not np.isfinite(rd.mark_close[i, j]):
            i -= 1
        return float(rd.mark_close[i, j]) if i >= 0 else float(rd.mark_open[self.cursor, j])

    def next_price(self, symbol: str) -> float | None:
        """The next bar's open: where a market order placed now fills (before slippage)."""
        if self.cursor >= self.n:
            return None
        value = float(self._run_data.open[self.cursor, self.column(symbol)])
        return value if math.isfinite(value) else None

    # -- events --------------------------------------------------------------------------------
    def emit(self, event: VenueEvent) -> None:
        for listener in list(self.listeners):
            listener(event)

    # -- commands --------------------------------------------------------------------------------
    def execute(self, kind: str, payload: Mapping[str, Any]) -> Any:
        """Validate and apply one command; journal it (before the answer goes out)."""
        handler = _COMMANDS.get(kind)
        if handler is None:
            raise VenueError(-1100, f"unknown command {kind!r}")
        result = handler(self, payload)
        if self.journal is not None:
            self.journal.append(kind, payload, self.cursor)
        return result

    def replay(self, commands: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Re-apply journaled commands (a restart): no journaling, no events."""
        listeners, self.listeners = self.listeners, []
        try:
            for kind, payload in commands:
                _COMMANDS[kind](self, payload)
        finally:
            self.listeners = listeners

    # -- the clock -------------------------------------------------------------------------------
    def bar_at(self, time: int) -> int:
        """The cursor at data time ``time``: every bar that has closed by then walked (a bar
        still open at ``time`` is the one "now" is in)."""
        return int(np.searchsorted(self.timestamps, time - self.timeframe_ms, side="right"))

    def _advance(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        target = int(payload["to_bar"])
        target = max(self.cursor, min(target, self.n))
        while self.cursor < target:
            bar = self.cursor
            for account in self.accounts.values():
                account.engine.run_until(bar + 1)
                account._sync()
            self.cursor = bar + 1
            self.emit(VenueEvent("bar", bar=bar))
        return {"bar": self.cursor, "time": self.shown(self.now())}

    def advance(self, *, bars: int | None = None, to: int | None = None) -> dict[str, Any]:
        """Move the clock ``bars`` bars on, or until data time ``to`` is "now"."""
        if to is not None:
            target = self.bar_at(to)
        else:
            target = self.cursor + int(bars if bars is not None else 1)
        return self.execute("advance", {"to_bar": target})  # type: ignore[no-any-return]


# ============================================================================================
# Commands: each validates before it changes anything (a refused command changes nothing)
# ============================================================================================


def _position_side(account: VenueAccount, params: Mapping[str, str]) -> str:
    side = (params.get("positionSide") or "BOTH").upper()
    if side not in ("BOTH", "LONG", "SHORT"):
        raise errors.bad_value("positionSide", side)
    if account.dual == (side == "BOTH"):
        raise errors.position_side_mismatch()
    return side


_TYPES = {
    "MARKET": OrderType.MARKET,
    "LIMIT": OrderType.LIMIT,
    "STOP_MARKET": OrderType.STOP,
    "TAKE_PROFIT_MARKET": OrderType.TAKE_PROFIT_MARKET,
    "TRAILING_STOP_MARKET": OrderType.TRAILING_STOP,
    "STOP": OrderType.LIMIT,
    "TAKE_PROFIT": OrderType.LIMIT,
}
_TRIGGERED = ("STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT")
"""Types with a trigger price (``stopPrice``; ``triggerPrice`` on the algo service)."""


def _place(venue: Venue, payload: Mapping[str, Any]) -> VenueOrder:
    account = venue.account(payload["key"])
    params: Mapping[str, str] = payload["params"]
    algo = bool(payload.get("algo"))
    origin = str(payload.get("origin", "api"))
    symbol = venue.symbol(params.get("symbol"))
    instrument = venue.instruments[symbol]
    side = (params.get("side") or "").upper()
    if side not in ("BUY", "SELL"):
        raise errors.bad_value("side", side) if side else errors.missing("side")
    kind = (params.get("type") or params.get("orderType") or "").upper()
    if kind not in _TYPES:
        raise errors.bad_value("type", kind) if kind else errors.missing("type")
    position_side = _position_side(account, params)
    close_position = _bool(params.get("closePosition"), "closePosition")
    reduce_only = _bool(params.get("reduceOnly"), "reduceOnly")
    if account.dual and reduce_only:
        raise VenueError(-1106, "Parameter 'reduceonly' sent when not required.")
    quantity = _number(params, "quantity", required=not close_position) or 0.0
    if not close_position and quantity <= 0:
        raise errors.bad_value("quantity", str(params.get("quantity")))
    if quantity and not _on_grid(quantity, instrument.lot_size):
        raise errors.bad_precision()
    price = 0.0
    tif = "GTC"
    if kind in ("LIMIT", "STOP", "TAKE_PROFIT"):
        price = _number(params, "price", required=True) or 0.0
        tif = (params.get("timeInForce") or ("GTC" if kind != "LIMIT" else "")).upper()
        if not tif:
            raise errors.missing("timeInForce")
        if tif not in ("GTC", "IOC", "FOK", "GTX") or (kind != "LIMIT" and tif != "GTC"):
            raise errors.bad_value("timeInForce", tif)
        if price <= 0:
            raise errors.bad_value("price", str(params.get("price")))
        if not _on_grid(price, instrument.tick_size):
            raise errors.bad_tick()
    stop_price = 0.0
    if kind in _TRIGGERED:
        stop_price = _number(params, "triggerPrice") or _number(params, "stopPrice") or 0.0
        if stop_price <= 0:
            raise errors.missing("stopPrice")
        if not _on_grid(stop_price, instrument.tick_size):
            raise errors.bad_tick()
    callback = 0.0
    activation = 0.0
    if kind == "TRAILING_STOP_MARKET":
        callback = _number(params, "callbackRate", required=True) or 0.0
        if not 0.1 <= callback <= 10.0:
            raise VenueError(-2007, "Invalid callBack rate.")
        activation = _number(params, "activatePrice") or _number(params, "activationPrice") or 0.0
    working = (params.get("workingType") or "CONTRACT_PRICE").upper()
    if working not in ("CONTRACT_PRICE", "MARK_PRICE"):
        raise errors.bad_value("workingType", working)
    client_id = (
        params.get("clientAlgoId") if algo else params.get("newClientOrderId")
    ) or f"venue-{venue._ids + 1}"
    if not (1 <= len(client_id) <= 36) or not all(c.isalnum() or c in ".:/_-" for c in client_id):
        raise VenueError(-4015, "Client order id is not valid.")
    if any(o.client_id == client_id for o in account.open_orders()):
        raise errors.duplicate_client_id()
    if close_position and kind not in ("STOP_MARKET", "TAKE_PROFIT_MARKET"):
        raise VenueError(-1106, "Parameter 'closePosition' sent when not required.")

    # what the position allows
    leg = position_side
    position = 0.0
    if account.account.has_position(symbol, None if leg == "BOTH" else leg):
        position = account.account.position((symbol, leg)).size
    closes = (
        reduce_only
        or close_position
        or (leg == "LONG" and side == "SELL")
        or (leg == "SHORT" and side == "BUY")
    )
    if reduce_only and (position == 0.0 or (position > 0) == (side == "BUY")):
        raise errors.reduce_only_rejected()
    hedge_exit = (leg == "LONG" and side == "SELL") or (leg == "SHORT" and side == "BUY")
    if hedge_exit and position == 0.0 and kind == "MARKET":
        raise errors.reduce_only_rejected()
    reference = venue.next_price(symbol)
    if reference is None:
        raise VenueError(-1008, "The venue's data has ended: no further trading.", 503)
    if kind == "MARKET" and not closes:
        _precheck(account, instrument, side, quantity, reference, leg)
    elif kind in ("LIMIT", "STOP", "TAKE_PROFIT") and not closes:
        _precheck(account, instrument, side, quantity, price, leg)
    if kind == "TRAILING_STOP_MARKET" and activation <= 0:
        activation = reference

    engine = account.engine
    engine_order = engine.make_order(
        symbol,
        side.lower(),
        _TYPES[kind],
        math.nan if close_position else quantity,
        {
            "MARKET": math.nan,
            "LIMIT": price,
            "STOP_MARKET": stop_price,
            "TAKE_PROFIT_MARKET": stop_price,
            "STOP": price,
            "TAKE_PROFIT": price,
            "TRAILING_STOP_MARKET": (
                activation * (1 - callback / 100)
                if side == "SELL"
                else activation * (1 + callback / 100)
            ),
        }[kind],
        leg=None if leg == "BOTH" else leg,
        reduce_only=reduce_only or (leg != "BOTH" and closes),
        close_position=close_position,
        trail_ratio=callback / 100 if kind == "TRAILING_STOP_MARKET" else 0.0,
        origin=origin,
        client_id=client_id,
        time_in_force=tif if kind == "LIMIT" else "GTC",
        mark_trigger=working == "MARK_PRICE" and kind in _TRIGGERED,
        trigger_price=stop_price if kind in ("STOP", "TAKE_PROFIT") else math.nan,
        trigger_direction=_trigger_direction(kind, side),
    )
    record = VenueOrder(
        order_id=venue.next_id(),
        client_id=client_id,
        symbol=symbol,
        side=side,
        type=kind,
        position_side=position_side,
        quantity=quantity,
        price=price,
        stop_price=stop_price,
        time_in_force=tif,
        reduce_only=reduce_only,
        close_position=close_position,
        working_type=working,
        time=venue.now(),
        algo=algo,
        callback_rate=callback,
        activation_price=activation,
        update_time=venue.now(),
        origin=origin,
        engine_order=engine_order,
    )
    (account.algo_orders if algo else account.orders)[record.order_id] = record
    account.by_engine[engine_order.id] = record
    engine.submit(engine_order)
    if engine_order.status is OrderStatus.REJECTED:  # a size the lot rounds away
        record.status = "REJECTED"
    venue.emit(VenueEvent("order", account, record, "NEW"))
    return record


def _trigger_direction(kind: str, side: str) -> int:
    """Where a stop-limit (``STOP``) or take-profit-limit (``TAKE_PROFIT``) triggers: a buy
    stop on a rise to its stop price, a buy take-profit on a fall to it (sells mirrored)."""
    if kind == "STOP":
        return 1 if side == "BUY" else -1
    if kind == "TAKE_PROFIT":
        return -1 if side == "BUY" else 1
    return 0


def _precheck(
    account: VenueAccount,
    instrument: Instrument,
    side: str,
    quantity: float,
    price: float,
    leg: str,
) -> None:
    """Binance's checks at placement: the minimum notional, the leverage bracket and the
    margin, as the fill at ``price`` would do them (the account is left as it was)."""
    notional = contracts.notional(instrument, quantity, price)
    if notional < instrument.min_notional:
        raise errors.min_notional(instrument.min_notional)
    signed = quantity if side == "BUY" else -quantity
    outcome = account.account.preview_fill(
        instrument, signed, price, leg=None if leg == "BOTH" else leg, time=account.engine.t
    )
    if isinstance(outcome, LeverageError):
        raise errors.above_max_position()
    if isinstance(outcome, InsufficientMargin):
        raise errors.insufficient_margin()
    if isinstance(outcome, OrderRejected):
        raise errors.insufficient_margin()


def _find(
    account: VenueAccount, params: Mapping[str, str], *, algo: bool, symbol: str | None
) -> VenueOrder:
    book = account.algo_orders if algo else account.orders
    id_text = params.get("algoId") if algo else params.get("orderId")
    client = params.get("clientAlgoId") if algo else params.get("origClientOrderId")
    if id_text:
        try:
            record = book.get(int(id_text))
        except ValueError:
            raise errors.bad_value("orderId", id_text) from None
    elif client:
        matches = [o for o in book.values() if o.client_id == client]
        open_ones = [o for o in matches if o.is_open]
        chosen = open_ones or matches
        record = chosen[-1] if chosen else None
    else:
        raise errors.missing("orderId")
    if record is None or (symbol is not None and record.symbol != symbol):
        raise errors.no_such_order()
    return record


def _cancel(venue: Venue, payload: Mapping[str, Any]) -> VenueOrder:
    account = venue.account(payload["key"])
    params: Mapping[str, str] = payload["params"]
    algo = bool(payload.get("algo"))
    symbol = venue.symbol(params.get("symbol")) if params.get("symbol") or not algo else None
    try:
        record = _find(account, params, algo=algo, symbol=symbol)
    except VenueError as exc:
        if exc.code == -2013:
            raise errors.unknown_order() from None
        raise
    if not record.is_open:
        raise errors.unknown_order()
    _cancel_record(venue, account, record)
    return record


def _cancel_record(venue: Venue, account: VenueAccount, record: VenueOrder) -> None:
    order = record.engine_order
    assert order is not None
    account.engine.cancel(order)
    record.status = "CANCELED"
    record.update_time = venue.now()


def _cancel_all(venue: Venue, payload: Mapping[str, Any]) -> list[VenueOrder]:
    account = venue.account(payload["key"])
    symbol = venue.symbol(payload["params"].get("symbol"))
    algo = payload.get("algo")
    records = account.open_orders(symbol, algo=bool(algo) if algo is not None else None)
    for record in records:
        _cancel_record(venue, account, record)
    return records


def _leverage(venue: Venue, payload: Mapping[str, Any]) -> dict[str, Any]:
    account = venue.account(payload["key"])
    params = payload["params"]
    symbol = venue.symbol(params.get("symbol"))
    text = params.get("leverage")
    if not text:
        raise errors.missing("leverage")
    try:
        leverage = int(text)
    except ValueError:
        raise errors.bad_leverage(text) from None
    if not 1 <= leverage <= account.max_leverage(symbol, 0.0):
        raise errors.bad_leverage(text)
    try:
        account.account.set_leverage(symbol, leverage)
    except LeverageError:
        raise errors.above_max_position() from None
    except InsufficientMargin:
        raise VenueError(
            -2028, "Leverage is smaller than permitted: insufficient margin balance"
        ) from None
    except LevtradeError as exc:
        raise errors.bad_leverage(f"{text} ({exc})") from None
    account.leverages[symbol] = leverage
    account.engine.account_changed()
    return {
        "symbol": to_venue_symbol(symbol),
        "leverage": leverage,
        "maxNotionalValue": max_notional_value(account, symbol, leverage),
    }


def max_notional_value(account: VenueAccount, symbol: str, leverage: float) -> str:
    """The largest notional the bracket table allows at ``leverage``."""
    table = account.account.tiers(symbol)
    cap = 0.0
    for tier in table.tiers:
        if tier.max_leverage >= leverage:
            cap = tier.cap
    return "INF" if math.isinf(cap) else f"{cap:.0f}"


def _margin_type(venue: Venue, payload: Mapping[str, Any]) -> dict[str, Any]:
    account = venue.account(payload["key"])
    params = payload["params"]
    symbol = venue.symbol(params.get("symbol"))
    wanted = (params.get("marginType") or "").upper()
    if wanted not in ("ISOLATED", "CROSSED"):
        raise errors.bad_value("marginType", wanted) if wanted else errors.missing("marginType")
    if account.margin_types[symbol] == wanted:
        raise errors.margin_type_unchanged()
    if account.open_orders(symbol):
        raise errors.margin_type_open_orders()
    if account.account.has_position(symbol):
        raise errors.margin_type_position()
    account.account.set_margin_mode(
        symbol, MarginMode.ISOLATED if wanted == "ISOLATED" else MarginMode.CROSS
    )
    account.margin_types[symbol] = wanted
    account.engine.account_changed()
    return {"code": 200, "msg": "success"}


def _position_mode(venue: Venue, payload: Mapping[str, Any]) -> dict[str, Any]:
    account = venue.account(payload["key"])
    dual = _bool(payload["params"].get("dualSidePosition"), "dualSidePosition")
    if dual == account.dual:
        raise errors.position_side_unchanged()
    if account.open_orders():
        raise errors.position_side_open_orders()
    if account.account.positions:
        raise errors.position_side_position()
    account.engine.set_position_mode("hedge" if dual else "one_way")
    account.dual = dual
    for symbol, leverage in account.leverages.items():
        account.account.set_leverage(symbol, leverage)
        mode = (
            MarginMode.ISOLATED if account.margin_types[symbol] == "ISOLATED" else MarginMode.CROSS
        )
        account.account.set_margin_mode(symbol, mode)
    return {"code": 200, "msg": "success"}


def _multi_assets(venue: Venue, payload: Mapping[str, Any]) -> dict[str, Any]:
    venue.account(payload["key"])
    if _bool(payload["params"].get("multiAssetsMargin"), "multiAssetsMargin"):
        raise errors.multi_assets_unsupported()
    return {"code": 200, "msg": "success"}


def _position_margin(venue: Venue, payload: Mapping[str, Any]) -> dict[str, Any]:
    account = venue.account(payload["key"])
    params = payload["params"]
    symbol = venue.symbol(params.get("symbol"))
    amount = _number(params, "amount", required=True) or 0.0
    kind = params.get("type")
    if kind not in ("1", "2"):
        raise errors.bad_value("type", str(kind))
    side = _position_side(account, params)
    if not account.account.has_position(symbol, None if side == "BOTH" else side):
        raise VenueError(-2013, "Position does not exist.")
    key = (symbol, side)
    position = account.account.position(key)
    if not position.is_isolated:
        raise VenueError(-4052, "Cross margin does not support this operation.")
    account.account.set_mark(symbol, venue.mark_price(symbol))
    try:
        if kind == "1":
            account.account.add_margin(key, amount, time=venue.now())
        else:
            account.account.remove_margin(key, amount, time=venue.now())
    except LevtradeError:
        raise (
            errors.cross_balance_insufficient()
            if kind == "1"
            else errors.isolated_balance_insufficient()
        ) from None
    account.engine.account_changed()
    account._sync()
    venue.emit(VenueEvent("account", account, detail="MARGIN_TRANSFER"))
    return {
        "amount": amount,
        "code": 200,
        "msg": "Successfully modify position margin.",
        "type": int(kind),
    }


def _force_liquidation(venue: Venue, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A forced liquidation (a fault): the mark moved to the position's liquidation price (or
    ``mark``), where the account's trigger holds, and the venue's outcome model applied."""
    account = venue.account(payload["key"])
    symbol = venue.symbol(payload["symbol"])
    leg = str(payload.get("positionSide", "BOTH")).upper()
    key = (symbol, leg)
    if not account.account.has_position(symbol, None if leg == "BOTH" else leg):
        raise VenueError(-2013, "Position does not exist.")
    mark = payload.get("mark")
    if mark is None:
        account.engine.marks_at_close()
        lp = account.account.liquidation_price(key)
        if lp is None:
            raise VenueError(-1130, "the position has no liquidation price to move the mark to")
        mark = lp
    result = account.engine.force_liquidation(symbol, leg, float(mark))
    account._sync()
    if result is None:
        raise VenueError(-1130, f"the position is not liquidatable at mark {mark}")
    return {"symbol": to_venue_symbol(symbol), "mark": float(mark), "legs": len(result.legs)}


def _adl(venue: Venue, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Auto-deleveraging (a fault): the position closed at ``price`` (default: the mark),
    without a fee, reported with Binance's ``adl_autoclose`` client id."""
    account = venue.account(payload["key"])
    symbol = venue.symbol(payload["symbol"])
    leg = str(payload.get("positionSide", "BOTH")).upper()
    if not account.account.has_position(symbol, None if leg == "BOTH" else leg):
        raise VenueError(-2013, "Position does not exist.")
    price = float(payload.get("price") or venue.mark_price(symbol))
    account.engine.marks_at_close()
    order = account.engine.close_at(symbol, leg, price, origin="adl", fee_rate=0.0)
    account._sync()
    return {"symbol": to_venue_symbol(symbol), "price": price, "status": str(order.status)}


_COMMANDS: dict[str, Callable[[Venue, Mapping[str, Any]], Any]] = {
    "advance": Venue._advance,
    "order": _place,
    "cancel": _cancel,
    "cancel_all": _cancel_all,
    "leverage": _leverage,
    "margin_type": _margin_type,
    "position_mode": _position_mode,
    "multi_assets": _multi_assets,
    "position_margin": _position_margin,
    "force_liquidation": _force_liquidation,
    "adl": _adl,
}


def describe(venue: Venue) -> str:
    """The data and settings a state file belongs to (it refuses other ones)."""
    return json.dumps(
        {
            "settings": venue.settings.identity(),
            "symbols": list(venue.symbols),
            "timeframe": venue.timeframe,
            "bars": venue.n,
            "first": int(venue.timestamps[0]),
            "last": int(venue.timestamps[-1]),
        },
        sort_keys=True,
    )
