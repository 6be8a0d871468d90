"""The engine walked in steps (``run_until``) as a venue drives it, and the order features a
venue needs: time in force (IOC, FOK, GTX), stops on the mark price path, take-profit-market
orders. Every expected number is worked out in the comment above it."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from backtest_helpers import config, flat, market

from levtrade.backtest.engine import Engine
from levtrade.backtest.event_driver import EventDriver
from levtrade.data import demo_market
from levtrade.model.orders import Order, OrderStatus, OrderType, Trade
from levtrade.strategy.base import Strategy


class _Idle:
    """A driver that decides nothing: orders come from the test between bars."""

    no_before_path = True

    def start(self, engine: Engine) -> None: ...
    def before_path(self, i: int) -> None: ...
    def on_order(self, order: Order) -> None: ...
    def on_trade(self, trade: Trade) -> None: ...
    def trail(self, order: Order, price: float) -> None: ...
    def on_close(self, i: int) -> None: ...
    def finish(self) -> None: ...


class _Flip(Strategy):
    """Long 0.1 for 10 bars, short 0.1 for 10 bars, and so on."""

    params: ClassVar[dict[str, Any]] = {}

    def next(self) -> None:
        if len(self) % 10 == 0:
            if self.position.size <= 0:
                self.close()
                self.buy(size=0.1)
            else:
                self.close()
                self.sell(size=0.1)


def test_walking_in_steps_is_the_whole_run() -> None:
    data = demo_market(bars=600, timeframe="1h")
    settings = config(leverage=5, taker_fee=0.0005, slippage_bps=3)
    whole = Engine(data, settings, EventDriver(_Flip, None))
    whole.run()
    stepped = Engine(data, settings, EventDriver(_Flip, None))
    for bar in range(0, 600, 7):
        stepped.run_until(bar)
        assert stepped.next_bar == bar
    stepped.finish()
    assert len(whole.trades) > 20
    assert [t.pnl for t in stepped.trades] == [t.pnl for t in whole.trades]
    assert stepped.account.ledger.to_frame().equals(whole.account.ledger.to_frame())


def _engine(bars: list[tuple[float, float, float, float]], **fields: Any) -> Engine:
    return Engine(market(bars, **fields), config(maker_fee=0.0002, taker_fee=0.0005), _Idle())


def _limit(engine: Engine, side: str, price: float, tif: str, size: float = 1.0) -> Order:
    order = engine.make_order(
        engine.symbols[0], side, OrderType.LIMIT, size, price, time_in_force=tif
    )
    return engine.submit(order)


def test_ioc_fills_as_a_taker_at_the_open_or_expires() -> None:
    # bar 1 opens at 100: an IOC buy at 101 fills there (taker fee 100 × 0.0005 = 0.05);
    # one at 99 is not reached at the open and expires, though the bar trades down to 98
    engine = _engine([flat(102), (100.0, 100.0, 98.0, 99.0), flat(99)])
    engine.run_until(1)
    filled = _limit(engine, "buy", 101.0, "IOC")
    expired = _limit(engine, "buy", 99.0, "FOK")
    engine.run_until(2)
    assert filled.status is OrderStatus.FILLED and filled.fill_price == 100.0
    assert filled.fee == pytest.approx(0.05)
    assert expired.status is OrderStatus.EXPIRED and expired.reason == "not_reached"


def test_post_only_expires_where_the_open_would_fill_it_else_rests() -> None:
    # bar 1 opens at 100 and trades down to 94: a post-only buy at 101 would fill at the
    # open (expires); one at 95 rests and fills at 95 on the way down (maker 95 × 0.0002)
    engine = _engine([flat(102), (100.0, 100.0, 94.0, 96.0), flat(96)])
    engine.run_until(1)
    taker = _limit(engine, "buy", 101.0, "GTX")
    maker = _limit(engine, "buy", 95.0, "GTX")
    engine.run_until(2)
    assert taker.status is OrderStatus.EXPIRED and taker.reason == "post_only"
    assert maker.status is OrderStatus.FILLED and maker.fill_price == 95.0
    assert maker.fee == pytest.approx(0.019)


def test_stop_on_the_mark_path_fills_at_the_trade_price_there() -> None:
    # bar 2 (down bar, O→H→L→C): trade 100 → 100 → 90 → 92, mark 100 → 100 → 94 → 95.
    # A sell stop at 95 on the contract price triggers at 95; on the mark it triggers where
    # the mark's leg 100 → 94 reaches 95, 5/6 of the way, where the trade leg 100 → 90 is
    # at 100 − 10 × 5/6 = 91.6667
    bars = [flat(100), flat(100), (100.0, 100.0, 90.0, 92.0), flat(92)]
    marks = [flat(100), flat(100), (100.0, 100.0, 94.0, 95.0), flat(95)]
    engine = _engine(bars, mark=marks)
    engine.run_until(1)
    engine.submit(engine.make_order(engine.symbols[0], "buy", OrderType.MARKET, 2.0, float("nan")))
    engine.run_until(2)
    symbol = engine.symbols[0]
    contract = engine.submit(engine.make_order(symbol, "sell", OrderType.STOP, 1.0, 95.0))
    mark = engine.submit(
        engine.make_order(symbol, "sell", OrderType.STOP, 1.0, 95.0, mark_trigger=True)
    )
    engine.run_until(3)
    assert contract.fill_price == 95.0
    assert mark.fill_price == pytest.approx(100.0 - 10.0 * 5.0 / 6.0, rel=1e-12)


def test_take_profit_market_fills_as_a_taker_with_slippage() -> None:
    # a long's take-profit-market sell at 105; bar 2 reaches 106: a market sell at 105
    # with 10 bps of adverse slippage, 105 × 0.999 = 104.895, taker fee 104.895 × 0.0005
    engine = Engine(
        market([flat(100), flat(100), (100.0, 106.0, 99.0, 104.0), flat(104)]),
        config(maker_fee=0.0002, taker_fee=0.0005, slippage_bps=10),
        _Idle(),
    )
    symbol = engine.symbols[0]
    engine.run_until(1)
    engine.submit(engine.make_order(symbol, "buy", OrderType.MARKET, 1.0, float("nan")))
    engine.run_until(2)
    target = engine.submit(
        engine.make_order(
            symbol, "sell", OrderType.TAKE_PROFIT_MARKET, 1.0, 105.0, reduce_only=True
        )
    )
    engine.run_until(3)
    assert target.status is OrderStatus.FILLED
    assert target.fill_price == pytest.approx(104.895)
    assert target.fee == pytest.approx(104.895 * 0.0005)


def test_stop_limit_rests_as_a_limit_once_triggered() -> None:
    # sell stop-limits triggered at 95 on a fall. Bar 1 (down bar, O→H→L→C) goes 100 → 100
    # → 94 → 97. With limit 94 the sell is marketable at the trigger point (95 ≥ 94): it
    # fills at once at 95. With limit 96 it rests from 95 on, and the path's last leg
    # 94 → 97 reaches 96: it fills at 96
    engine = _engine([flat(100), (100.0, 100.0, 94.0, 97.0), flat(97)])
    symbol = engine.symbols[0]
    engine.run_until(1)
    engine.submit(engine.make_order(symbol, "buy", OrderType.MARKET, 2.0, float("nan")))
    engine.run_until(1)
    orders = [
        engine.submit(
            engine.make_order(
                symbol, "sell", OrderType.LIMIT, 1.0, level, trigger_price=95.0,
                trigger_direction=-1,
            )
        )
        for level in (94.0, 96.0)
    ]  # fmt: skip
    engine.run_until(2)
    assert [o.fill_price for o in orders] == [95.0, 96.0]
    assert all(o.trigger_direction == 0 for o in orders)


def test_limit_orders_fill_by_a_share_of_each_bar_volume() -> None:
    # participation 10 %: a buy limit of 5 at 95 in bars trading 20 (2 per bar at most).
    # Bar 1 and bar 2 reach 95: 2 + 2 filled at 95; bar 3 does not reach it; bar 4 does and
    # fills the last 1. The order's fill price is the parts' average, its fee their sum
    bars = [flat(100), (100.0, 100.0, 94.0, 96.0), (96.0, 96.0, 94.5, 95.5), flat(97),
            (97.0, 97.0, 93.0, 94.0), flat(94)]  # fmt: skip
    engine = Engine(
        market(bars, volume=20.0),
        config(maker_fee=0.0002, taker_fee=0.0005, participation=0.1),
        _Idle(),
    )
    engine.run_until(1)
    order = _limit(engine, "buy", 95.0, "GTC", size=5.0)
    filled = []
    for bar in range(2, 6):
        engine.run_until(bar)
        filled.append(order.filled_size)
    assert filled == [2.0, 4.0, 4.0, 5.0]
    assert order.status is OrderStatus.FILLED
    assert order.fill_price == 95.0  # every part at the limit (no bar opened below it)
    assert order.fee == pytest.approx(5 * 95.0 * 0.0002)
    assert engine.account.position((engine.symbols[0], "BOTH")).size == 5.0
