"""The live broker: a :class:`~levtrade.strategy.context.TradingContext` over the venue, so that
a ``Strategy`` runs unchanged on paper and live.

What a strategy reads comes from the last reconciliation: the position sizes and the margin
account (:class:`levtrade.margin.Account` loaded with the venue's positions and wallet, marked
at the last close — every margin figure, the liquidation prices included, from levtrade's
margin engine). What it does is recorded, not sent: :meth:`LiveBroker.submit` turns an order
into an intent with its client id (an order sized by stake is sized here, at the last close);
the runner commits the decision's intents in one transaction and only then sends them. The
venue's answers come back through the store (:meth:`LiveBroker.apply`) as the strategy's
``notify_order`` / ``notify_trade``. An order placed on the venue by hand reaches the strategy
the same way, as an order whose ``origin`` is ``"external"``.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from levtrade.errors import StrategyError
from levtrade.live.dialects import Dialect
from levtrade.live.ids import ClientIds
from levtrade.live.store import OrderRow, OrderSpec, PositionRecord
from levtrade.live.trades import TradeState
from levtrade.margin import Account, contracts
from levtrade.model.instrument import Instrument
from levtrade.model.orders import MAKER_TYPES, Order, OrderStatus, OrderType, Reason, Trade
from levtrade.risk import OrderIntent, RiskRules
from levtrade.spec import RunSpec
from levtrade.strategy.context import PositionSync

logger = logging.getLogger("levtrade.live.broker")

_TYPE_NAMES = {
    OrderType.MARKET: "market",
    OrderType.LIMIT: "limit",
    OrderType.STOP: "stop",
    OrderType.TAKE_PROFIT: "limit",
    OrderType.TAKE_PROFIT_MARKET: "take_profit_market",
    OrderType.TRAILING_STOP: "trailing_stop",
}
_STATUS = {
    "filled": OrderStatus.FILLED,
    "cancelled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
    "abandoned": OrderStatus.CANCELLED,
}


@dataclass
class Decision:
    """What one bar close decided: intents to commit and send, orders to cancel."""

    time: int
    intents: list[OrderSpec] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    """Client ids of orders to cancel."""


@dataclass(frozen=True)
class Sizing:
    """How orders sized by stake are sized (the run's settings)."""

    stake_amount: float | str = "unlimited"
    tradable_balance_ratio: float = 0.99
    max_open_trades: int | None = None


class LiveBroker:
    """The trading context of a strategy on a venue (module docstring)."""

    def __init__(
        self,
        spec: RunSpec,
        *,
        hedge: bool,
        ids: ClientIds,
        dialect: Dialect,
        leverage: dict[str, float],
        margin_mode: str,
        sizing: Sizing,
        rules: RiskRules | None = None,
        liquidation_buffer: float = 0.0,
    ) -> None:
        self.spec = spec
        self._symbols = spec.symbols
        self._instruments = spec.instruments
        self._hedge = hedge
        self.ids = ids
        self.dialect = dialect
        self.leverage = dict(leverage)
        self.margin_mode = margin_mode
        self.sizing = sizing
        self.rules = rules
        self._liquidation_buffer = liquidation_buffer
        self._sizes: list[dict[str, float]] = [{} for _ in self._symbols]
        self._views: list[PositionSync] = []
        self._account = self._empty_account(0.0)
        self._marks: dict[str, float] = {}
        self._closes: dict[str, float] = {}
        self.bar = -1
        self.time = 0
        self._next_id = 1
        self.decision: Decision | None = None
        self.by_client: dict[str, Order] = {}
        self.notifications: list[Order | Trade] = []
        self._trades: dict[int, Trade] = {}

    # -- TradingContext -------------------------------------------------------------------------
    @property
    def symbols(self) -> Sequence[str]:
        return self._symbols

    @property
    def instruments(self) -> Sequence[Instrument]:
        return self._instruments

    @property
    def hedge(self) -> bool:
        return self._hedge

    @property
    def liquidation_buffer(self) -> float:
        return self._liquidation_buffer

    @property
    def sizes(self) -> Sequence[dict[str, float]]:
        return self._sizes

    @property
    def position_views(self) -> list[PositionSync]:
        return self._views

    @property
    def account(self) -> Account:
        return self._account

    @property
    def i(self) -> int:
        return self.bar

    @property
    def t(self) -> int:
        return self.time

    def marks_at_close(self) -> Account:
        for symbol, mark in self._marks.items():
            self._account.set_mark(symbol, mark)
        return self._account

    def liquidation_price(self, column: int, leg: str) -> float | None:
        symbol = self._symbols[column]
        account = self.marks_at_close()
        if not account.has_position(symbol, None if leg == "BOTH" else leg):
            return None
        return account.liquidation_price((symbol, leg))

    def position_entry(self, symbol: str, leg: str) -> tuple[float, float, float]:
        """(signed size, entry price, leverage) of the position the venue reports."""
        position = self._account.position((symbol, leg))
        return position.size, position.entry_price, position.leverage

    def new_id(self) -> int:
        value = self._next_id
        self._next_id += 1
        return value

    def submit(self, order: Order) -> Order:
        """Record ``order`` as an intent of the current decision (module docstring)."""
        decision = self.decision
        if decision is None:
            raise StrategyError(
                f"order #{order.id}: orders are placed in next() or a notification, at a close"
            )
        if order.parent is not None or order.children:
            raise StrategyError(
                f"order #{order.id}: brackets are not placed live; place the exits once the "
                "entry has filled (notify_order)"
            )
        j = self._column(order.symbol)
        instrument = self._instruments[j]
        leg = self._leg(order)
        current = self._sizes[j].get(leg, 0.0)
        amount = order.size
        close_position = order.close_position
        if math.isnan(amount):
            if close_position:
                amount = abs(current)
            else:
                sized = self._stake_size(order, instrument, j, leg)
                if sized is None:
                    return order
                amount = sized
                order.size = amount
        if not close_position:
            amount = instrument.round_size(amount)
            if not amount > 0:
                return self._refuse(order, Reason.SIZE, f"size: {order.size!r} is below one lot")
        if order.reduce_only and current == 0.0 and order.type is OrderType.MARKET:
            return self._refuse(order, Reason.NO_POSITION, f"{order.symbol} {leg} is flat")
        if self.rules is not None and not (order.reduce_only or close_position):
            refused = self._check_rules(order, instrument, amount, leg)
            if refused is not None:
                return self._refuse(order, Reason.REJECTED, refused)
        n = len(decision.intents)
        client_id = self.dialect.encode_client_id(self.ids.decision(decision.time, n))
        spec = self.intent(order, client_id, amount, leg, decision.time)
        decision.intents.append(spec)
        order.client_id = client_id
        self.by_client[client_id] = order
        return order

    def cancel(self, order: Order) -> None:
        decision = self.decision
        client_id = order.client_id
        if client_id is None or not order.alive:
            return
        if decision is not None:
            queued = [i for i in decision.intents if i.client_id == client_id]
            if queued:
                decision.intents.remove(queued[0])
                order.status = OrderStatus.CANCELLED
                order.reason = str(Reason.CANCELLED_BY_STRATEGY)
                self.by_client.pop(client_id, None)
                self.notifications.append(copy.copy(order))
                return
            decision.cancels.append(client_id)

    # -- intents -----------------------------------------------------------------------------------
    def intent(
        self, order: Order, client_id: str, amount: float, leg: str, time: int, *,
        origin: str = "strategy",
    ) -> OrderSpec:  # fmt: skip
        """The store's record of ``order`` (before it is sent)."""
        instrument = self._instruments[self._column(order.symbol)]
        kind = _TYPE_NAMES[order.type]
        price = None
        trigger = None
        if order.type in (OrderType.LIMIT, OrderType.TAKE_PROFIT):
            price = instrument.round_price(order.price)
        elif order.type in (OrderType.STOP, OrderType.TAKE_PROFIT_MARKET):
            trigger = instrument.round_price(order.price)
        elif order.type is OrderType.TRAILING_STOP:
            trigger = instrument.round_price(order.price)
            price = round(order.trail_ratio * 100, 1)
        reduce_only = (
            order.reduce_only or order.close_position or order.type is OrderType.TAKE_PROFIT
        )
        close_position = order.close_position and trigger is not None
        return OrderSpec(
            client_id=client_id,
            symbol=order.symbol,
            side=order.side,
            type=kind,
            amount=0.0 if close_position else float(amount),
            origin=origin,
            decision_time=time,
            price=price,
            trigger_price=trigger,
            time_in_force=order.time_in_force,
            reduce_only=reduce_only,
            close_position=close_position,
            leg=leg,
            leverage=order.leverage,
            purpose=order.origin,
            local_id=order.id,
            tag="mark" if order.mark_trigger else order.tag,
        )

    def _refuse(self, order: Order, reason: Reason, message: str) -> Order:
        order.status = OrderStatus.REJECTED
        order.reason = str(reason)
        order.message = message
        logger.info("order #%d refused before sending: %s", order.id, message)
        self.notifications.append(copy.copy(order))
        return order

    def _check_rules(
        self, order: Order, instrument: Instrument, amount: float, leg: str
    ) -> str | None:
        assert self.rules is not None
        price = order.price if math.isfinite(order.price) else self._closes[order.symbol]
        signed = amount if order.side == "buy" else -amount
        decision = self.rules.check(
            OrderIntent(
                instrument,
                signed,
                price,
                leverage=order.leverage,
                leg=None if leg == "BOTH" else leg,
                time=self.time,
            ),
            self.marks_at_close(),
        )
        return None if decision.accepted else decision.reason

    def _stake_size(self, order: Order, instrument: Instrument, j: int, leg: str) -> float | None:
        """Contracts for an order sized by stake, at submission: ``stake × leverage / price``
        at the last close (the backtester sizes it at the fill's open), rounded down to the
        lot; ``"unlimited"`` shares the available balance among the free slots, ``"all"``
        spends it on margin and the entry fee."""
        sizing = self.sizing
        symbol = order.symbol
        leverage = order.leverage or self.leverage.get(symbol, 1.0)
        price = order.price if math.isfinite(order.price) else self._closes[symbol]
        account = self.marks_at_close()
        stake: float | str = order.stake if order.stake is not None else sizing.stake_amount
        unit = contracts.notional(instrument, 1.0, price)
        if stake == "all":
            rate = instrument.maker_fee if order.type in MAKER_TYPES else instrument.taker_fee
            cost = unit / leverage + rate * unit
            size = instrument.round_size(account.available_balance * (1.0 - 1e-12) / cost)
        else:
            if stake == "unlimited":
                held = sum(len(s) for s in self._sizes)
                total = sizing.max_open_trades or len(self._symbols) * (2 if self._hedge else 1)
                slots = total - held
                if slots <= 0:
                    self._refuse(order, Reason.MAX_OPEN_TRADES, f"no free slot ({held} open)")
                    return None
                stake = account.available_balance * sizing.tradable_balance_ratio / slots
            assert isinstance(stake, float | int)
            size = instrument.round_size(float(stake) * leverage / unit)
        if not size > 0:
            self._refuse(order, Reason.SIZE, f"stake sizes {symbol} below one lot at {price:g}")
            return None
        return size

    # -- the venue's state ------------------------------------------------------------------------
    def load(
        self,
        positions: Sequence[PositionRecord],
        wallet: float,
        marks: dict[str, float],
        closes: dict[str, float],
    ) -> None:
        """Take the venue's positions and wallet (a reconciliation's report): sizes, the margin
        account, the position views."""
        isolated = math.fsum(p.isolated_margin for p in positions if p.margin_mode == "isolated")
        account = self._empty_account(max(wallet - isolated, 0.0))
        for p in positions:
            instrument = self._instruments[self._column(p.symbol)]
            leverage = self.leverage.get(p.symbol) or p.leverage or 1.0
            account.load_position(
                instrument,
                size=p.size,
                entry_price=p.entry_price,
                leverage=leverage,
                margin_mode=p.margin_mode,
                isolated_margin=p.isolated_margin if p.margin_mode == "isolated" else None,
                mark_price=marks.get(p.symbol) or p.mark_price or p.entry_price,
                leg=None if p.leg == "BOTH" else p.leg,
            )
        self._account = account
        self._marks = dict(marks)
        self._closes = dict(closes)
        for j, symbol in enumerate(self._symbols):
            sizes = self._sizes[j]
            sizes.clear()
            for p in positions:
                if p.symbol == symbol:
                    sizes[p.leg] = p.size
        for view in self._views:
            view.sync()

    def _empty_account(self, wallet: float) -> Account:
        account = Account(
            self.spec.venue,
            wallet,
            position_mode="hedge" if self._hedge else "one_way",
            tier_provider=self.spec.tier_table,
            default_leverage=1.0,
            default_margin_mode=self.margin_mode,
        )
        for instrument in self._instruments:
            account.register(instrument)
            leverage = self.leverage.get(instrument.symbol)
            if leverage is not None:
                account.set_leverage(instrument.symbol, leverage)
            account.set_margin_mode(instrument.symbol, self.margin_mode)
        return account

    def apply(self, row: OrderRow, fee: float = 0.0, realized: float = 0.0) -> None:
        """Tell the strategy what became of one of its orders (or of an order placed on the
        venue by hand): a snapshot of the order, once per change."""
        order = self.by_client.get(row.client_id)
        if order is None:
            order = self.order_from_row(row)
            self.by_client[row.client_id] = order
        status = _STATUS.get(row.state)
        filled = row.filled if row.side == "buy" else -row.filled
        changed = filled != order.filled_size or (status is not None and status != order.status)
        if not changed and not (row.origin == "external" and order.id < 0):
            return
        order.filled_size = filled
        if row.average is not None:
            order.fill_price = row.average
        order.fee = fee
        order.realized_pnl = realized
        if status is not None:
            order.status = status
            if status is OrderStatus.FILLED:
                order.fill_time = self.time
                order.fill_bar = self.bar
            elif row.message:
                order.reason = row.message[:80]
                order.message = row.message
        if row.origin == "external" and order.id < 0:
            order.id = -order.id
        self.notifications.append(copy.copy(order))
        if not order.alive:
            self.by_client.pop(row.client_id, None)

    def order_from_row(self, row: OrderRow) -> Order:
        """An order object for a stored order the strategy has none of (decided before a
        restart, or placed on the venue by hand: ``origin="external"``)."""
        kinds = {"market": OrderType.MARKET, "limit": OrderType.LIMIT, "stop": OrderType.STOP,
                 "take_profit_market": OrderType.TAKE_PROFIT_MARKET,
                 "trailing_stop": OrderType.TRAILING_STOP}  # fmt: skip
        level = row.price if row.price is not None else row.trigger_price
        order = Order(
            id=row.local_id if row.local_id is not None else -self.new_id(),
            symbol=row.symbol,
            side=row.side,
            type=kinds.get(row.type, OrderType.MARKET),
            size=row.amount if row.amount else math.nan,
            price=level if level is not None else math.nan,
            created_time=row.decision_time,
            created_bar=self.bar,
            leg=None if row.leg == "BOTH" else row.leg,
            reduce_only=row.reduce_only,
            close_position=row.close_position,
            origin=row.purpose if row.origin == "strategy" else row.origin,
            tag=row.tag,
            client_id=row.client_id,
            time_in_force=row.time_in_force,
        )
        return order

    def trade_event(self, state: TradeState, leverage: float) -> None:
        """Tell the strategy a trade opened or closed."""
        assert state.id is not None
        trade = self._trades.get(state.id)
        if trade is None:
            trade = Trade(
                symbol=state.symbol,
                leg=state.leg,
                side=state.side,
                entry_time=state.opened_at,
                entry_bar=self.bar,
                leverage=leverage,
                margin_mode=self.margin_mode,
            )
            self._trades[state.id] = trade
        trade.size = state.size
        trade.entry_value = state.entry_value
        trade.closed = state.closed
        trade.exit_value = state.exit_value
        trade.realized = state.realized + state.clearance
        trade.fees = state.fees
        trade.funding = state.funding
        trade.exit_time = state.closed_at
        trade.exit_reason = state.exit_reason
        trade.open = state.is_open
        self.notifications.append(copy.copy(trade))
        if not state.is_open:
            self._trades.pop(state.id, None)

    # -- helpers --------------------------------------------------------------------------------
    def _column(self, symbol: str) -> int:
        return self.spec.column(symbol)

    def _leg(self, order: Order) -> str:
        if not self._hedge:
            return "BOTH"
        if order.leg is not None:
            return str(order.leg)
        closes = order.reduce_only or order.close_position
        if order.side == "buy":
            return "SHORT" if closes else "LONG"
        return "LONG" if closes else "SHORT"
