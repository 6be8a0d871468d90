"""The bot: the loop that runs a strategy on a venue, crash-safe and reconciled.

:meth:`Bot.start` opens the store (migrating it), connects to the venue (or starts the paper
venue), loads the candles, runs the preflight, and reconciles. Each :meth:`Bot.step` looks for
closed candles; for a new one it reconciles (the fills, funding and liquidations of the bar),
then decides at its close:

1. the strategy's ``next()`` runs on the broker; its orders become intents (nothing is sent);
2. the decision's intents and the "decided" cursor are committed in one transaction;
3. each intent is sent with its client id; the answer is committed. An ambiguous answer is
   resolved by asking the venue for the client id — never by sending again blindly — and
   followed by a reconciliation;
4. the protective stops are brought to one per position.

A crash anywhere is repaired at the next start: intents the venue never saw are sent (if their
bar is still the last closed one) or abandoned; orders it has are read back by client id; what
happened while the bot was down is booked. :meth:`Bot.run` loops until SIGINT/SIGTERM, then
stops gracefully (with ``flatten``: cancels the bot's orders and closes every position
reduce-only first). HTTP 418 halts the bot with the venue's message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import time as _time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from levtrade.errors import LevtradeError
from levtrade.live import failpoints
from levtrade.live.adapter import VenueAdapter
from levtrade.live.broker import Decision, LiveBroker, Sizing
from levtrade.live.dialects import Dialect, dialect_for
from levtrade.live.errors import LiveError, VenueBanned
from levtrade.live.feed import MarketFeed
from levtrade.live.host import StrategyHost
from levtrade.live.ids import ClientIds
from levtrade.live.paper import PaperVenue
from levtrade.live.preflight import preflight
from levtrade.live.protect import plan_stops
from levtrade.live.reconcile import Reconciler, Report
from levtrade.live.settings import TradeSettings
from levtrade.live.signal_host import SignalHost
from levtrade.live.store import OPEN_STATES, OrderRow, OrderSpec, Store
from levtrade.live.streams import Doorbell, user_stream
from levtrade.margin.tiers import TierTable
from levtrade.risk import MarginMonitor, RiskContext, log_alert
from levtrade.spec import BacktestConfig, RunSpec, resolve
from levtrade.strategy.base import Strategy
from levtrade.strategy.signal_strategy import SignalStrategy

logger = logging.getLogger("levtrade.live")
_T = TypeVar("_T")

SEND_ATTEMPTS = 5
"""Sends of one intent (the same client id) before it is left to the next reconciliation."""


class Bot:
    """One trading bot: a strategy, a venue account, a store (module docstring)."""

    def __init__(
        self,
        settings: TradeSettings,
        strategy: type[Strategy] | SignalStrategy,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.strategy = strategy
        self.params = params
        self.dialect: Dialect = dialect_for(settings.exchange)
        self.store: Store | None = None
        self.adapter: VenueAdapter | None = None
        self.market: VenueAdapter | None = None
        self.paper: PaperVenue | None = None
        self.feed: MarketFeed | None = None
        self.broker: LiveBroker | None = None
        self.host: StrategyHost | SignalHost | None = None
        self.reconciler: Reconciler | None = None
        self.ids: ClientIds | None = None
        self.run_id: int | None = None
        self.spec: RunSpec | None = None
        self.tiers: dict[str, TierTable] = {}
        self.monitor = MarginMonitor(
            margin_call_level=settings.margin_call_level, alerts=[log_alert(logger)]
        )
        self.last_report: Report | None = None
        self._stop = asyncio.Event()
        self._flatten = False
        self._last_reconcile = 0.0
        self.doorbell: Doorbell | None = None

    # -- life cycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        """Connect, preflight, reconcile, arm the protective stops, and decide at the last
        closed candle if that is not done yet (module docstring)."""
        store = await self.connect()
        self.run_id = store.start_run(
            mode=self.settings.mode,
            exchange=self.dialect.name,
            strategy=self.settings.strategy_name or _name(self.strategy),
            pid=os.getpid(),
        )
        self.need(self.reconciler).run_id = self.run_id
        logger.info("run %d started (%s on %s)", self.run_id, self.settings.mode, self.dialect.name)
        await preflight(
            self.need(self.adapter),
            self.settings.symbols,
            hedge=self.settings.hedge,
            margin_mode=self.settings.account.margin_mode,
            leverage=self.need(self.broker).leverage,
            tiers=self.tiers,
        )
        await self.reconcile("start", adopt=self.settings.adopt)
        await self.protect()
        last = self.need(self.feed).last_closed
        if last is not None:
            await self.decide(last)

    async def connect(self) -> Store:
        """Open the store (migrating it), connect to the venue (starting the paper venue on a
        paper run), load the markets, the tiers and the candles. Nothing is sent."""
        settings = self.settings
        store = self.store = Store.open(settings.db_url)
        self.ids = ClientIds(store.bot_tag())
        self.market = VenueAdapter.connect(
            self.dialect,
            key=settings.key if not settings.dry_run else None,
            secret=settings.secret if not settings.dry_run else None,
            password=settings.password,
            venue_url=settings.venue_url,
            ccxt_config=dict(settings.ccxt_config),
            policy=settings.retry,
        )
        markets = await self.market.load_markets(settings.symbols)
        history_start = settings.history_start
        if settings.dry_run:
            self.paper = PaperVenue(
                store,
                wallet=settings.account.wallet,
                config=self._paper_config(markets),
                key=settings.paper_key,
                secret=settings.paper_secret,
            )
            if self.paper.start is not None:
                history_start = self.paper.start
        self.feed = MarketFeed(
            self.market,
            settings.symbols,
            settings.timeframe,
            history=settings.startup_candle_count,
            start=history_start,
        )
        await self.feed.update()
        if settings.dry_run:
            assert self.paper is not None
            url = self.paper.open(self.feed)
            self.adapter = VenueAdapter.connect(
                self.dialect,
                key=settings.paper_key,
                secret=settings.paper_secret,
                venue_url=url,
                policy=settings.retry,
            )
            await self.adapter.load_markets(settings.symbols)
        else:
            self.adapter = self.market
        tiers = self.tiers = await self.adapter.tiers(settings.symbols)
        self.spec = self._spec(tiers)
        leverage = {s: settings.account.leverage for s in settings.symbols}
        self.broker = LiveBroker(
            self.spec,
            hedge=settings.hedge,
            ids=self.ids,
            dialect=self.dialect,
            leverage=leverage,
            margin_mode=settings.account.margin_mode,
            sizing=Sizing(
                settings.account.stake_amount,
                settings.account.tradable_balance_ratio,
                settings.account.max_open_trades,
            ),
            rules=settings.rules,
            liquidation_buffer=settings.account.liquidation_buffer,
        )
        if isinstance(self.strategy, SignalStrategy):
            self.host = SignalHost(
                self.strategy,
                self.broker,
                self.spec,
                lambda: store.trades(open_only=True),
                stop_on_venue=settings.protective_stop is not None,
            )
        else:
            self.host = StrategyHost(self.strategy, self.params, self.broker, self.spec.config)
        self.reconciler = Reconciler(
            store,
            self.adapter,
            self.ids,
            settings.symbols,
            currency=settings.currency,
            timeframe_ms=self.feed.timeframe_ms,
            run_id=self.run_id,
        )
        return store

    async def step(self) -> list[int]:
        """One look at the venue: for each closed candle, reconcile and decide; otherwise a
        periodic reconciliation when it is due. Returns the open times of the bars closed."""
        feed = self.need(self.feed)
        closed = await feed.update()
        if self.paper is not None and closed:
            self.paper.update(feed)
        if closed:
            await self.reconcile("bar")
            await self.decide(closed[-1])
        elif _time.monotonic() - self._last_reconcile >= self.settings.reconcile_interval:
            await self.reconcile("periodic")
            await self.protect()
        return closed

    async def run(
        self, *, signals: bool = True, on_step: Callable[[Bot], None] | None = None
    ) -> None:
        """Start, then step until stopped (SIGINT/SIGTERM or :meth:`request_stop`);
        ``on_step`` is called after each step (a status view)."""
        status, message = "stopped", ""
        try:
            if signals:
                loop = asyncio.get_running_loop()
                for sig in (signal.SIGINT, signal.SIGTERM):
                    with contextlib.suppress(NotImplementedError, RuntimeError):
                        loop.add_signal_handler(sig, self.request_stop)
            await self.start()
            self._open_stream()
            while not self._stop.is_set():
                rang = self.doorbell is not None and self.doorbell.rang.is_set()
                if rang and self.doorbell is not None:
                    self.doorbell.rang.clear()
                closed = await self.step()
                if rang and not closed:
                    await self.reconcile("stream")
                    await self.protect()
                if on_step is not None:
                    on_step(self)
                await self._pause()
            if self._flatten or self._flatten_requested():
                await self.flatten()
        except VenueBanned as exc:
            status, message = "halted", str(exc)
            logger.error("halted: %s", exc)
            raise
        except LevtradeError as exc:
            status, message = "failed", str(exc)
            raise
        finally:
            await self.close(status, message)

    def _open_stream(self) -> None:
        """Listen to the account's user stream (module :mod:`levtrade.live.streams`)."""
        settings = self.settings
        if not settings.streams:
            return
        paper = self.paper
        try:
            exchange = user_stream(
                self.dialect,
                key=settings.paper_key if paper else settings.key,
                secret=settings.paper_secret if paper else settings.secret,
                password=None if paper else settings.password,
                venue_url=paper.url if paper is not None else settings.venue_url,
                ccxt_config=None if paper else dict(settings.ccxt_config),
            )
        except Exception as exc:
            logger.warning("no user stream (%s): polling", exc)
            return
        if exchange is not None:
            self.doorbell = Doorbell(exchange, settings.symbols)
            self.doorbell.start()

    async def _pause(self) -> None:
        """Wait for the next poll, a stop, or the stream's doorbell."""
        waits = [asyncio.ensure_future(self._stop.wait())]
        if self.doorbell is not None:
            waits.append(asyncio.ensure_future(self.doorbell.rang.wait()))
        _, pending = await asyncio.wait(
            waits, timeout=self.settings.poll_interval, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()

    def request_stop(self, *, flatten: bool = False) -> None:
        self._flatten = self._flatten or flatten
        self._stop.set()

    def _flatten_requested(self) -> bool:
        store = self.store
        return store is not None and store.cursor("stop:flatten") == "requested"

    async def close(self, status: str = "stopped", message: str = "") -> None:
        """End the run: the strategy's ``stop()``, the run's status, connections closed."""
        if self.host is not None:
            with contextlib.suppress(Exception):
                self.host.stop()
        if self.store is not None and self.run_id is not None:
            self.store.end_run(self.run_id, status, message)
            if self._flatten_requested() and status == "stopped":
                self.store.set_cursor("stop:flatten", "done")
        await self.close_connections()
        logger.info("run %s %s %s", self.run_id, status, message)

    async def close_connections(self) -> None:
        """Close the venue's clients, the paper venue and the store."""
        if self.doorbell is not None:
            await self.doorbell.close()
            self.doorbell = None
        for adapter in {id(a): a for a in (self.adapter, self.market) if a is not None}.values():
            with contextlib.suppress(Exception):
                await adapter.close()
        self.adapter = self.market = None
        if self.paper is not None:
            self.paper.close()
            self.paper = None
        if self.store is not None:
            self.store.close()

    # -- reconciliation ---------------------------------------------------------------------------
    async def reconcile(self, trigger: str, *, adopt: bool = False) -> Report:
        """Reconcile, then tell the broker and the strategy what it found, and send the
        intents the venue never saw that are still current."""
        reconciler = self.need(self.reconciler)
        feed = self.need(self.feed)
        store = self.need(self.store)
        broker = self.need(self.broker)
        now = feed.now
        if now is None:
            raise LiveError("the venue shows no candle: cannot tell its time")
        report = await reconciler.run(trigger, now, adopt=adopt)
        self.last_report = report
        self._last_reconcile = _time.monotonic()
        marks = {s: feed.last_mark(s) for s in self.settings.symbols}
        closes = {s: feed.last_close(s) for s in self.settings.symbols}
        broker.load(report.positions, report.wallet, marks, closes)
        to_send: list[OrderRow] = []
        decided = int(store.cursor("decided") or 0)
        for row in report.unsent:
            current = (
                row.origin == "strategy"
                and row.decision_time == decided
                and feed.last_closed == row.decision_time
            )
            if current:
                to_send.append(row)
            else:
                done = store.update_order(
                    row.client_id,
                    "abandoned",
                    message="decided before a restart and never sent; the market has moved on",
                )
                if done is not None and row.origin == "strategy":
                    broker.apply(done)
        changed = [*report.updated, *report.adopted_orders]
        for row in changed:
            current_row = store.order(row.client_id)
            if current_row is not None and current_row.origin in ("strategy", "external"):
                fee, realized = self._order_money(current_row)
                broker.apply(current_row, fee, realized)
        for client_id in report.vanished:
            vanished = store.order(client_id)
            if vanished is not None and vanished.origin == "strategy":
                broker.apply(vanished)
        for trade in [*report.booked.opened_trades, *report.booked.closed_trades]:
            broker.trade_event(trade, broker.leverage.get(trade.symbol, 1.0))
        for row in to_send:
            await self.send(row)
        return report

    def _order_money(self, row: OrderRow) -> tuple[float, float]:
        return self.need(self.store).order_money(row.id)

    # -- deciding and sending ---------------------------------------------------------------------
    async def decide(self, bar_time: int) -> None:
        """The strategy decides at the close of the bar opening at ``bar_time`` (once)."""
        store = self.need(self.store)
        broker = self.need(self.broker)
        host = self.host
        if host is None:
            raise LiveError("the bot is not started")
        feed = self.need(self.feed)
        if int(store.cursor("decided") or 0) >= bar_time:
            return
        decision = Decision(bar_time)
        broker.decision = decision
        try:
            host.decide(feed.portfolio(upto=bar_time))
            self._risk(decision)
        finally:
            broker.decision = None
        failpoints.reach("before_intent_commit")
        rows = store.record_intents(
            decision.intents, self.run_id, cursor=("decided", str(bar_time))
        )
        failpoints.reach("after_intent_commit")
        ambiguous = False
        for row in rows:
            if row.state == "intent":
                ambiguous |= not await self.send(row)
        for client_id in decision.cancels:
            await self.cancel(client_id)
        if ambiguous:
            await self.reconcile("ambiguous")
        await self.protect()

    def _risk(self, decision: Decision) -> None:
        """The margin monitor and the emergency protocol at the close."""
        broker = self.need(self.broker)
        account = broker.marks_at_close()
        self.monitor.update(account, time=decision.time)
        protocol = self.settings.emergency
        if protocol is None or not account.positions:
            return
        orders = protocol.check(account, RiskContext(time=decision.time))
        ids = self.need(self.ids)
        for k, order in enumerate(orders):
            leg = order.leg
            size = self._signed(order.instrument.symbol, leg)
            if size == 0.0:
                continue
            amount = min(abs(order.size), abs(size))
            client_id = self.dialect.encode_client_id(ids.own(decision.time, k))
            decision.intents.append(
                OrderSpec(
                    client_id=client_id,
                    symbol=order.instrument.symbol,
                    side="sell" if size > 0 else "buy",
                    type="market",
                    amount=amount,
                    origin="emergency",
                    decision_time=decision.time,
                    reduce_only=True,
                    leg=leg,
                    purpose="emergency",
                    message=order.reason,
                )
            )
            logger.warning(
                "emergency: %s %s %g (%s)", order.kind, order.symbol, amount, order.reason
            )

    def _signed(self, symbol: str, leg: str) -> float:
        broker = self.need(self.broker)
        return broker.sizes[broker.spec.column(symbol)].get(leg, 0.0)

    async def send(self, row: OrderRow) -> bool:
        """Send one recorded intent with its client id and record the answer. False when the
        answer stays ambiguous (the next reconciliation resolves it)."""
        adapter = self.need(self.adapter)
        store = self.need(self.store)
        broker = self.need(self.broker)
        opens = not (row.reduce_only or row.close_position)
        wanted = row.leverage
        if opens and wanted is not None and broker.leverage.get(row.symbol) != math.floor(wanted):
            broker.leverage[row.symbol] = await adapter.set_leverage(row.symbol, wanted)
        rate_limited = 0
        for _ in range(SEND_ATTEMPTS + len(adapter.policy.rate_limit)):
            result = await adapter.submit(row)
            failpoints.reach("after_send")
            if result.outcome == "accepted":
                assert result.order is not None
                store.update_order(
                    row.client_id,
                    result.order.state,
                    venue_order_id=result.order.venue_order_id,
                    filled=result.order.filled,
                    average=result.order.average,
                )
                logger.info("sent %s %s %s %g: %s", row.client_id, row.side, row.type, row.amount,
                            result.order.state)  # fmt: skip
                return True
            if result.outcome == "rejected":
                done = store.update_order(row.client_id, "rejected", message=result.message)
                logger.warning("venue refused %s: %s", row.client_id, result.message)
                if done is not None and done.origin == "strategy":
                    broker.apply(done)
                return True
            if result.outcome == "rate_limited":
                await adapter.rate_limit_pause(rate_limited)
                rate_limited += 1
            else:
                store.update_order(row.client_id, "ambiguous", message=result.message)
                logger.warning(
                    "no answer to %s (%s): asking the venue", row.client_id, result.message
                )
            found = await adapter.find(row, patient=result.outcome == "ambiguous")
            if found is not None:
                store.update_order(
                    row.client_id,
                    found.state,
                    venue_order_id=found.venue_order_id,
                    filled=found.filled,
                    average=found.average,
                )
                logger.info("%s found on the venue: %s", row.client_id, found.state)
                return result.outcome != "ambiguous"
            logger.info("%s is not on the venue: sending it again (same id)", row.client_id)
        return False

    async def cancel(self, client_id: str) -> None:
        adapter = self.need(self.adapter)
        store = self.need(self.store)
        row = store.order(client_id)
        if row is None or not row.is_open:
            return
        if row.venue_order_id is None:
            found = await adapter.find(row)
            if found is None:
                store.update_order(client_id, "abandoned", message="cancelled before it was sent")
                return
            row = replace(row, venue_order_id=found.venue_order_id)
        assert row.venue_order_id is not None
        outcome = await adapter.cancel(row.symbol, row.venue_order_id, trigger=row.is_trigger)
        found = await adapter.find(row)
        state = "cancelled" if found is None else found.state
        if (
            outcome == "cancelled"
            and found is not None
            and found.state in ("open", "partially_filled")
        ):
            state = "cancelled"
        done = store.update_order(
            client_id,
            state,
            venue_order_id=row.venue_order_id,
            filled=None if found is None else found.filled,
            average=None if found is None else found.average,
        )
        broker = self.need(self.broker)
        if done is not None and done.origin == "strategy":
            fee, realized = self._order_money(done)
            broker.apply(done, fee, realized)

    async def protect(self) -> None:
        """Exactly one protective stop per open position (see :mod:`levtrade.live.protect`)."""
        stop = self.settings.protective_stop
        if stop is None:
            return
        store = self.need(self.store)
        broker = self.need(self.broker)
        ids = self.need(self.ids)
        feed = self.need(self.feed)
        protective = store.orders(OPEN_STATES, origin="protective")
        names = {
            f"protective:{s}:{leg}"
            for s in self.settings.symbols
            for leg in ("BOTH", "LONG", "SHORT")
        }
        generations = {n: int(store.cursor(n) or 0) for n in names}
        plan = plan_stops(
            store.positions(),
            [r for r in protective if r.state not in ("intent", "ambiguous")],
            stop=stop,
            leverage=broker.leverage,
            instruments={i.symbol: i for i in broker.instruments},
            columns={s: j for j, s in enumerate(broker.symbols)},
            generations=generations,
            client_id=lambda column, generation: self.dialect.encode_client_id(
                ids.protective(column, generation)
            ),
            time=feed.now or 0,
        )
        for spec, cursor in plan.place:
            (row,) = store.record_intents([spec], self.run_id, cursor=cursor)
            await self.send(row)
        for client_id in plan.cancel:
            await self.cancel(client_id)

    async def flatten(self) -> None:
        """Cancel the bot's open orders and close every position reduce-only (at market)."""
        store = self.need(self.store)
        ids = self.need(self.ids)
        feed = self.need(self.feed)
        await self.reconcile("flatten")
        for row in store.orders(OPEN_STATES):
            if row.origin != "external":
                await self.cancel(row.client_id)
        now = feed.now or 0
        specs = []
        for k, position in enumerate(store.positions()):
            specs.append(
                OrderSpec(
                    client_id=self.dialect.encode_client_id(ids.own(now, k)),
                    symbol=position.symbol,
                    side="sell" if position.size > 0 else "buy",
                    type="market",
                    amount=abs(position.size),
                    origin="flatten",
                    decision_time=now,
                    reduce_only=True,
                    leg=position.leg,
                    purpose="flatten",
                )
            )
        for row in store.record_intents(specs, self.run_id):
            if row.state == "intent":
                await self.send(row)
        logger.info("flatten: %d position(s) closing reduce-only", len(specs))

    # -- settings ---------------------------------------------------------------------------------
    def _spec(self, tiers: dict[str, Any]) -> RunSpec:
        account = self.settings.account
        assert self.adapter is not None
        instruments: dict[str, dict[str, float]] = {}
        for symbol, market in self.adapter.markets.items():
            given = account.instruments.get(symbol)
            values = {
                "tick_size": market.tick_size,
                "lot_size": market.lot_size,
                "min_notional": market.min_notional,
                "contract_size": market.contract_size,
            }
            if given is not None:
                values.update(given.model_dump(exclude_none=True))
            instruments[symbol] = values
        rows = {s: t.to_rows() for s, t in tiers.items()}
        rows.update(account.tiers)
        document = account.model_dump()
        document.update(instruments=instruments, tiers=rows)
        return resolve(BacktestConfig(**document), self.settings.symbols)

    def _paper_config(self, markets: Mapping[str, Any]) -> dict[str, Any]:
        """The paper venue's fill settings: the account's fees and slippage, the markets'
        contract specifications."""
        account = self.settings.account
        config: dict[str, Any] = {
            "slippage_bps": account.slippage_bps,
            "volume_slippage_bps": account.volume_slippage_bps,
            "instruments": {
                s: {
                    "tick_size": m.tick_size,
                    "lot_size": m.lot_size,
                    "min_notional": m.min_notional,
                }
                for s, m in markets.items()
            },
        }
        if account.maker_fee is not None:
            config["maker_fee"] = account.maker_fee
        if account.taker_fee is not None:
            config["taker_fee"] = account.taker_fee
        if account.funding_rate is not None:
            config["funding_rate"] = account.funding_rate
        if account.participation is not None:
            config["participation"] = account.participation
        if account.tiers:
            config["tiers"] = dict(account.tiers)
        return config

    @staticmethod
    def need(value: _T | None) -> _T:
        """``value`` (a part the bot builds when it connects), or an error before that."""
        if value is None:
            raise LiveError("the bot is not started")
        return value


def _name(strategy: type[Strategy] | SignalStrategy) -> str:
    return strategy.__name__ if isinstance(strategy, type) else type(strategy).__name__
