"""Event-driven strategies (backtrader / Cracktrader style) over the margin account.

Subclass :class:`Strategy`, declare ``params``, build indicators in ``__init__`` (or
``init()``) from ``self.data`` lines, and trade in ``next()``::

    class SmaCross(Strategy):
        params = {"fast": 10, "slow": 30, "size": 0.1}

        def __init__(self):
            self.fast = ind.SMA(self.data.close, self.p.fast)
            self.slow = ind.SMA(self.data.close, self.p.slow)

        def next(self):
            if not self.position and self.fast[0] > self.slow[0]:
                self.buy(size=self.p.size)
            elif self.position and self.fast[0] < self.slow[0]:
                self.close()

``next()`` runs at each bar's close (after ``prenext()`` while an indicator is still warming
up); market orders fill at the next open, the others on a later bar's path
(docs/backtest.md). ``self.data.close[1]`` raises :class:`~levtrade.errors.LookaheadError`.
Besides backtrader's ``position``/``broker`` views a strategy sees its margin: ``account``,
``liquidation_price(data)`` and ``effective_leverage``.

A strategy sees the run only through a :class:`~levtrade.strategy.context.TradingContext`: the
backtest engine, the paper venue and the live broker each implement it, so the same class runs
on all three.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np

from levtrade.errors import StrategyError
from levtrade.margin.formulas import buffered_liquidation_price
from levtrade.model.instrument import Instrument
from levtrade.model.orders import Order, OrderType, Trade, parse_order_type
from levtrade.strategy.accounts import AccountView, SpotAccountView
from levtrade.strategy.context import TradingContext
from levtrade.strategy.lines import Clock, DataFeed, Line


def collect_params(cls: type, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """The class's ``params`` merged along its bases (a dict or ``(name, default)`` pairs),
    then ``overrides``; an override that names no declared parameter is an error."""
    merged: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        declared = klass.__dict__.get("params")
        if declared is None:
            continue
        pairs = declared.items() if isinstance(declared, Mapping) else declared
        try:
            merged.update(dict(pairs))
        except (TypeError, ValueError):
            raise StrategyError(
                f"params: {klass.__name__}.params must be a dict or (name, default) pairs, "
                f"got {declared!r}"
            ) from None
    for name, value in (overrides or {}).items():
        if name not in merged:
            known = ", ".join(sorted(merged)) or "none"
            raise StrategyError(
                f"params: {cls.__name__} has no parameter {name!r} (value {value!r}); "
                f"declared: {known}"
            )
        merged[name] = value
    return merged


class PositionView:
    """A live view of one position (``leg`` None in hedge mode: the net of both legs)."""

    __slots__ = ("_context", "_j", "_leg", "_legs", "_sizes", "size")

    size: float
    """Signed contracts (long > 0). A plain attribute, read by most ``next()`` calls: the
    context brings it up to date (:meth:`sync`) whenever the positions change, before strategy
    code runs again."""

    def __init__(self, context: TradingContext, j: int, legs: tuple[str, ...]) -> None:
        self._context = context
        self._j = j
        self._legs = legs
        self._leg = legs[0] if len(legs) == 1 else None
        self._sizes = context.sizes[j]
        self.sync()
        context.position_views.append(self)

    def sync(self) -> None:
        """Recompute :attr:`size` from the context's sizes."""
        if self._leg is not None:
            self.size = self._sizes.get(self._leg, 0.0)
        else:
            sizes = self._sizes
            self.size = math.fsum(sizes.get(leg, 0.0) for leg in self._legs)

    @property
    def price(self) -> float:
        """Average entry price (0.0 when flat; the open legs' size-weighted mean if net)."""
        context = self._context
        symbol = context.symbols[self._j]
        held = [context.position_entry(symbol, leg) for leg in self._legs if leg in self._sizes]
        total = math.fsum(abs(size) for size, _, _ in held)
        return math.fsum(abs(size) * entry for size, entry, _ in held) / total if total else 0.0

    def __bool__(self) -> bool:
        sizes = self._sizes
        if not sizes:
            return False
        if self._leg is not None:
            return self._leg in sizes
        return any(sizes.get(leg, 0.0) != 0.0 for leg in self._legs)

    def __repr__(self) -> str:
        return f"Position(size={self.size:g}, price={self.price:g})"


class Broker:
    """backtrader's broker view: value and cash of the account (futures or spot)."""

    __slots__ = ("_context",)

    def __init__(self, context: TradingContext) -> None:
        self._context = context

    def get_value(self) -> float:
        """Total equity at the current close: futures, cross equity + isolated margins and
        their uPnL; spot and margin, assets − loans − interest."""
        return self._context.marks_at_close().total_equity

    getvalue = get_value

    def get_cash(self) -> float:
        """Available balance: futures, cross equity not tied up as initial margin; spot and
        margin, the free currency of the main pool (what buys without borrowing)."""
        return self._context.marks_at_close().available_balance

    getcash = get_cash

    def get_wallet(self) -> float:
        """The cross wallet balance (spot and margin: the currency the main pool holds)."""
        return self._context.account.wallet_balance


class Strategy:
    """Base class of event-driven strategies (module docstring)."""

    params: ClassVar[Any] = ()
    """Class attribute: ``{name: default}`` or ``((name, default), ...)``; per run through
    ``run(..., params={...})``. Read them as ``self.p.name``."""

    p: SimpleNamespace
    datas: list[DataFeed]
    data: DataFeed
    broker: Broker
    _context: TradingContext
    _clock: Clock
    _views: dict[tuple[int, str | None], PositionView]
    position: PositionView
    """The position in ``self.data`` (net of both legs in hedge mode): a live view, set before
    ``__init__`` runs (a plain attribute, so reading it in ``next()`` costs no call)."""

    @classmethod
    def bind(
        cls,
        context: TradingContext,
        feeds: list[DataFeed],
        clock: Clock,
        params: Mapping[str, Any] | None,
    ) -> Strategy:
        """Create the strategy bound to a run (for engines and brokers): data, broker and
        params are set before the user's ``__init__`` runs, as in backtrader."""
        strategy = cls.__new__(cls)
        values = collect_params(cls, params)
        strategy.p = SimpleNamespace(**values)
        strategy.datas = feeds
        strategy.data = feeds[0]
        strategy._context = context
        strategy._clock = clock
        strategy.broker = Broker(context)
        strategy._views = {}
        strategy.position = strategy.getposition()
        strategy.__init__()  # type: ignore[misc]
        strategy.init()
        return strategy

    def __init__(self) -> None:
        """Build indicators here (``self.data`` is already set)."""

    # -- hooks ------------------------------------------------------------------------------
    def init(self) -> None:
        """Alternative to ``__init__`` for building indicators."""

    def start(self) -> None:
        """Called once before the first bar."""

    def prenext(self) -> None:
        """Called instead of ``next()`` while an indicator has no value yet."""

    def next(self) -> None:
        """Called at each bar's close once every indicator has a value."""

    def stop(self) -> None:
        """Called once after the last bar (positions closed, notifications delivered)."""

    def notify_order(self, order: Order) -> None:
        """An order was submitted, filled, cancelled or rejected (a snapshot of it)."""

    def notify_trade(self, trade: Trade) -> None:
        """A trade opened or closed (a snapshot of it)."""

    # -- time and data -----------------------------------------------------------------------
    @property
    def now(self) -> int:
        """Open time (ms) of the current bar."""
        return self._context.t

    def __len__(self) -> int:
        return self._clock.i + 1

    def getdatabyname(self, symbol: str) -> DataFeed:
        for feed in self.datas:
            if feed.symbol == symbol:
                return feed
        raise StrategyError(
            f"data: no data named {symbol!r}; have {', '.join(d.symbol for d in self.datas)}"
        )

    def _feed(self, data: DataFeed | str | None) -> DataFeed:
        if data is None:
            return self.data
        if isinstance(data, str):
            return self.getdatabyname(data)
        if isinstance(data, DataFeed) and data in self.datas:
            return data
        raise StrategyError(f"data: {data!r} is not a data feed of this run")

    # -- positions and margin ------------------------------------------------------------------
    def getposition(
        self, data: DataFeed | str | None = None, leg: str | None = None
    ) -> PositionView:
        feed = self._feed(data)
        cache_key = (feed.index, leg)
        view = self._views.get(cache_key)
        if view is None:
            if not self._context.hedge:
                legs: tuple[str, ...] = ("BOTH",)
            elif leg is None:
                legs = ("LONG", "SHORT")
            else:
                legs = (_hedge_leg(leg),)
            view = PositionView(self._context, feed.index, legs)
            self._views[cache_key] = view
        return view

    def instrument(self, data: DataFeed | str | None = None) -> Instrument:
        """The run's instrument for ``data`` (fees, contract size, lot and tick as configured),
        for sizing with the risk toolkit."""
        return self._context.instruments[self._feed(data).index]

    @property
    def account(self) -> AccountView:
        """The account, marked at the current close (read it; trade through orders): the
        futures :class:`~levtrade.margin.Account`, or in spot and margin runs a
        :class:`~levtrade.strategy.accounts.SpotAccountView` (equity, margin level and ratio,
        balances and loans)."""
        return self._context.marks_at_close()

    def liquidation_price(
        self, data: DataFeed | str | None = None, leg: str | None = None, *, buffered: bool = False
    ) -> float | None:
        """Liquidation price of the position in ``data`` (None when flat or there is none);
        ``buffered`` moves it toward the entry by the config's ``liquidation_buffer``."""
        feed = self._feed(data)
        context = self._context
        name = "BOTH" if not context.hedge else _hedge_leg(leg or self._only_leg(feed))
        price = context.liquidation_price(feed.index, name)
        if price is None or not buffered:
            return price
        entry = context.position_entry(feed.symbol, name)[1]
        return buffered_liquidation_price(price, entry, context.liquidation_buffer)

    def _only_leg(self, feed: DataFeed) -> str:
        legs = list(self._context.sizes[feed.index])
        if len(legs) != 1:
            raise StrategyError(
                f"leg: {feed.symbol} has {len(legs)} open legs in hedge mode; name one"
            )
        return legs[0]

    @property
    def effective_leverage(self) -> float:
        """Σ position notional at the marks ÷ total equity (0 when flat, inf at equity ≤ 0)."""
        account = self.account
        if isinstance(account, SpotAccountView):
            notional = account.notional
        else:
            notional = math.fsum(account.notional(p.key) for p in account.positions)
        if notional == 0.0:
            return 0.0
        equity = account.total_equity
        return notional / equity if equity > 0 else math.inf

    # -- orders --------------------------------------------------------------------------------
    def buy(
        self,
        data: DataFeed | str | None = None,
        size: float | None = None,
        price: float | None = None,
        exectype: OrderType | str | None = None,
        **options: Any,
    ) -> Order:
        """Buy ``size`` contracts; None sizes the order at its fill: ``stake`` (default the
        config's ``stake_amount``) × leverage / price, or with ``stake="all"`` the whole
        available balance as initial margin plus the entry fee.

        ``exectype``: market (default without a price), limit (default with one), stop,
        take_profit, trailing_stop (``trailpercent``/``trailamount``). Options:
        ``reduce_only``, ``leg``, ``leverage``, ``stake``, ``tag``.
        """
        return self._order("buy", data, size, price, exectype, options)

    def sell(
        self,
        data: DataFeed | str | None = None,
        size: float | None = None,
        price: float | None = None,
        exectype: OrderType | str | None = None,
        **options: Any,
    ) -> Order:
        """Sell; see :meth:`buy`."""
        return self._order("sell", data, size, price, exectype, options)

    def close(
        self,
        data: DataFeed | str | None = None,
        size: float | None = None,
        price: float | None = None,
        exectype: OrderType | str | None = None,
        **options: Any,
    ) -> Order | None:
        """Close the position in ``data`` (all of it, or ``size`` contracts); None when flat."""
        feed = self.data if data is None else self._feed(data)
        leg = options.pop("leg", None)
        if self._context.hedge:
            leg = _hedge_leg(leg or self._only_leg(feed))
            current = self._context.sizes[feed.index].get(leg, 0.0)
        else:
            current = self._context.sizes[feed.index].get("BOTH", 0.0)
        if current == 0.0:
            return None
        side = "sell" if current > 0 else "buy"
        options.update(reduce_only=True, leg=leg)
        if size is None:
            options["close_position"] = True
            size = abs(current)
        return self._order(
            side,
            None if feed is self.data else feed,
            size,
            price,
            exectype,
            options,
            origin="close",
        )

    def cancel(self, order: Order) -> None:
        """Cancel a live order (a bracket's children go with its entry)."""
        self._context.cancel(order)

    def buy_bracket(
        self,
        data: DataFeed | str | None = None,
        size: float | None = None,
        price: float | None = None,
        *,
        stopprice: float,
        limitprice: float,
        exectype: OrderType | str | None = None,
        **options: Any,
    ) -> tuple[Order, Order, Order]:
        """Entry + protective stop + take-profit; the exits wait for the entry to fill and
        cancel each other (one-cancels-other)."""
        return self._bracket("buy", data, size, price, stopprice, limitprice, exectype, options)

    def sell_bracket(
        self,
        data: DataFeed | str | None = None,
        size: float | None = None,
        price: float | None = None,
        *,
        stopprice: float,
        limitprice: float,
        exectype: OrderType | str | None = None,
        **options: Any,
    ) -> tuple[Order, Order, Order]:
        """Short entry with its stop above and take-profit below; see :meth:`buy_bracket`."""
        return self._bracket("sell", data, size, price, stopprice, limitprice, exectype, options)

    def _bracket(
        self,
        side: str,
        data: DataFeed | str | None,
        size: float | None,
        price: float | None,
        stopprice: float,
        limitprice: float,
        exectype: OrderType | str | None,
        options: dict[str, Any],
    ) -> tuple[Order, Order, Order]:
        feed = self._feed(data)
        exit_side = "sell" if side == "buy" else "buy"
        leg = options.get("leg")
        if self._context.hedge and leg is None:
            leg = "LONG" if side == "buy" else "SHORT"
        entry = self._order(side, feed, size, price, exectype, dict(options), submit=False)
        child: dict[str, Any] = {"reduce_only": True, "leg": leg, "tag": options.get("tag")}
        if size is None:
            child["close_position"] = True
        stop = self._order(
            exit_side, feed, size, stopprice, OrderType.STOP, dict(child), submit=False
        )
        target = self._order(
            exit_side, feed, size, limitprice, OrderType.TAKE_PROFIT, dict(child), submit=False
        )
        for exit_order, other in ((stop, target), (target, stop)):
            exit_order.parent = entry
            exit_order.active = False
            exit_order.oco = (other,)
        entry.children = (stop, target)
        for order in (entry, stop, target):
            self._context.submit(order)
        return entry, stop, target

    def _order(
        self,
        side: str,
        data: DataFeed | str | None,
        size: float | None,
        price: float | None,
        exectype: OrderType | str | None,
        options: dict[str, Any],
        *,
        submit: bool = True,
        origin: str | None = None,
    ) -> Order:
        feed = self.data if data is None else self._feed(data)
        context = self._context
        if exectype is None:
            kind = _MARKET if price is None else _LIMIT
        else:
            kind = parse_order_type(exectype)
        trail_ratio = trail_amount = 0.0
        leg = leverage = stake = None
        if options:
            trail_ratio = float(options.pop("trailpercent", 0.0) or 0.0)
            trail_amount = float(options.pop("trailamount", 0.0) or 0.0)
            leg = options.pop("leg", None)
            if not _OPTIONS.issuperset(options):
                unknown = set(options) - _OPTIONS
                raise StrategyError(f"{side}: unknown option(s) {', '.join(sorted(unknown))}")
            leverage = options.get("leverage")
            stake = options.get("stake")
        if size is not None and not (
            0.0 < size < math.inf
            if type(size) is float
            else isinstance(size, int | float | np.number) and math.isfinite(size) and size > 0
        ):
            raise StrategyError(f"size: must be a number > 0 (contracts), got {size!r}")
        if leverage is not None and not (math.isfinite(leverage) and leverage >= 1):
            raise StrategyError(f"leverage: must be ≥ 1, got {leverage!r}")
        if stake is not None and stake != "all":
            number = isinstance(stake, int | float) and not isinstance(stake, bool)
            if not (number and math.isfinite(stake) and stake > 0):
                raise StrategyError(f"stake: must be a margin > 0 or 'all', got {stake!r}")
            stake = float(stake)
        if kind is _TRAILING:
            if not (trail_ratio > 0 or trail_amount > 0) or trail_ratio >= 1 or trail_amount < 0:
                raise StrategyError(
                    f"trailpercent/trailamount: a trailing stop needs a ratio in (0, 1) or an "
                    f"amount > 0, got {trail_ratio!r}/{trail_amount!r}"
                )
            reference = feed.close[0] if price is None else float(price)
            level = reference * (1.0 - trail_ratio) - trail_amount
            if side == "buy":
                level = reference * (1.0 + trail_ratio) + trail_amount
        elif kind is _MARKET:
            level = math.nan
        else:
            if price is None:
                raise StrategyError(f"price: a {kind} order needs a price")
            level = float(price)
        if context.hedge and leg is not None:
            leg = _hedge_leg(leg)
        order = Order(
            id=context.new_id(),
            symbol=feed.symbol,
            side=side,
            type=kind,
            size=math.nan if size is None else float(size),
            price=level,
            created_time=context.t,
            created_bar=context.i,
            leg=leg,
            reduce_only=bool(options.get("reduce_only", False)) if options else False,
            close_position=bool(options.get("close_position", False)) if options else False,
            leverage=None if leverage is None else float(leverage),
            stake=stake,
            trail_ratio=trail_ratio,
            trail_amount=trail_amount,
            tag=options.get("tag") if options else None,
            origin=_ORIGINS.get(kind, "order") if origin is None else origin,
        )
        if submit:
            context.submit(order)
        return order


_MARKET, _LIMIT, _TRAILING = OrderType.MARKET, OrderType.LIMIT, OrderType.TRAILING_STOP
_OPTIONS = frozenset({"reduce_only", "leverage", "stake", "tag", "close_position"})
"""Options of :meth:`Strategy.buy`/``sell`` besides ``leg``, ``trailpercent``, ``trailamount``."""

_ORIGINS = {
    OrderType.STOP: "stop_loss",
    OrderType.TAKE_PROFIT: "take_profit",
    OrderType.TRAILING_STOP: "trailing_stop",
}
"""Exit reason of a trade closed by an order of each type (others: ``order``; an order of
:meth:`Strategy.close`: ``close``)."""


def _hedge_leg(leg: str) -> str:
    name = str(leg).upper()
    if name not in ("LONG", "SHORT"):
        raise StrategyError(f"leg: hedge mode legs are 'LONG' or 'SHORT', got {leg!r}")
    return name


def _indicator_lines(strategy: Strategy) -> Iterable[Line]:
    """Lines the strategy keeps as attributes (directly, or in tuples/lists such as BBANDS)."""
    for value in vars(strategy).values():
        if isinstance(value, Line):
            yield value
        elif isinstance(value, tuple | list):
            yield from (v for v in value if isinstance(v, Line))


def warmup_bars(strategy: Strategy) -> int:
    """The first bar at which every indicator the strategy keeps has a value: ``next()`` runs
    from there, ``prenext()`` before."""
    return max((line.first_valid for line in _indicator_lines(strategy)), default=0)
