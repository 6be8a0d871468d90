"""Orders and fills of the event engine: types, fees, slippage, rounding, rejections, OCO.

Every expected number is worked out in the comment above it. Fees are 0 unless set.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from backtest_helpers import ETH, flat, market, portfolio, run_script

from levtrade.errors import StrategyError


def orders_by_id(result: Any) -> Any:
    return result.orders.set_index("id")


def test_market_order_fills_at_the_next_open_with_slippage_and_taker_fee() -> None:
    # buy 10 at bar 1's open 200 with 10 bps: 200 × 1.001 = 200.2; fee 10 × 200.2 × 0.0005
    # = 1.001. End of data: sell at the last close 210 × 0.999 = 209.79, fee
    # 10 × 209.79 × 0.0005 = 1.04895. PnL 10 × (209.79 − 200.2) = 95.9 − fees = 93.85005.
    data = market([flat(190), (200.0, 212.0, 199.0, 210.0), flat(210)])
    result = run_script(data, {0: [lambda s: s.buy(size=10)]}, slippage_bps=10, taker_fee=0.0005)
    entry = orders_by_id(result).loc[1]
    assert entry.fill_price == pytest.approx(200.2)
    assert entry.fee == pytest.approx(1.001)
    trade = result.trades.iloc[0]
    assert trade.exit_price == pytest.approx(209.79)
    assert trade.fees == pytest.approx(1.001 + 1.04895)
    assert trade.pnl == pytest.approx(93.85005)
    assert result.series["equity"].iloc[-1] == pytest.approx(10_000 + 93.85005)
    assert result.metrics["fees"] == pytest.approx(2.04995)


def test_participation_slippage_grows_with_the_share_of_volume() -> None:
    # buy 2 in a bar trading 20: share 0.1; 100 bps × 0.1 = 10 bps -> 100 × 1.001 = 100.1
    data = market([flat(100), flat(100), flat(100)], volume=20.0)
    result = run_script(data, {0: [lambda s: s.buy(size=2)]}, volume_slippage_bps=100)
    assert orders_by_id(result).loc[1].fill_price == pytest.approx(100.1)


def test_limit_order_fills_at_its_price_with_the_maker_fee() -> None:
    # limit buy 5 at 95; bar 1 goes O100 -> H101 -> L94 (down bar): reached on the way down.
    # Fill 95, maker fee 5 × 95 × 0.0002 = 0.095
    data = market([flat(100), (100.0, 101.0, 94.0, 96.0), flat(96)])
    result = run_script(
        data,
        {0: [lambda s: s.buy(size=5, price=95)]},
        maker_fee=0.0002,
        taker_fee=0.0005,
        slippage_bps=10,
    )
    order = orders_by_id(result).loc[1]
    assert order.type == "limit"
    assert order.fill_price == 95.0
    assert order.fee == pytest.approx(0.095)


def test_limit_order_the_open_is_already_beyond_fills_at_the_open() -> None:
    # a buy limit at 105 with bar 1 opening at 100: the leg opens beyond it -> 100 (better)
    data = market([flat(100), flat(100), flat(100)])
    result = run_script(data, {0: [lambda s: s.buy(size=1, price=105)]})
    assert orders_by_id(result).loc[1].fill_price == 100.0


def test_stop_entry_fills_at_the_stop_with_slippage() -> None:
    # buy stop at 105; bar 1 O100 -> L99 -> H108 (up bar) reaches 105 on L -> H:
    # 105 × 1.001 = 105.105, taker fee 1 × 105.105 × 0.0005
    data = market([flat(100), (100.0, 108.0, 99.0, 107.0), flat(107)])
    result = run_script(
        data,
        {0: [lambda s: s.buy(size=1, price=105, exectype="stop")]},
        slippage_bps=10,
        taker_fee=0.0005,
    )
    order = orders_by_id(result).loc[1]
    assert order.fill_price == pytest.approx(105.105)
    assert order.fee == pytest.approx(105.105 * 0.0005)


def test_stop_gapped_through_fills_at_the_open_with_slippage() -> None:
    # long 1 at 100; sell stop 95; bar 2 opens at 90: 90 × (1 − 0.001) = 89.91
    data = market([flat(100), flat(100), (90.0, 91.0, 89.0, 90.0), flat(90)])
    result = run_script(
        data,
        {
            0: [lambda s: s.buy(size=1)],
            1: [lambda s: s.sell(size=1, price=95, exectype="stop", reduce_only=True)],
        },
        slippage_bps=10,
    )
    trade = result.trades.iloc[0]
    # entry 100 × 1.001 = 100.1; pnl 89.91 − 100.1 = −10.19
    assert trade.exit_price == pytest.approx(89.91)
    assert trade.pnl == pytest.approx(-10.19)
    assert trade.exit_reason == "stop_loss"


def test_take_profit_fills_at_its_price_as_maker() -> None:
    # long 1 at 100; take-profit 110; bar 2 reaches 112: fill 110, maker fee 110 × 0.0002
    data = market([flat(100), flat(100), (100.0, 112.0, 99.0, 111.0), flat(111)])
    result = run_script(
        data,
        {
            0: [lambda s: s.buy(size=1)],
            1: [lambda s: s.sell(size=1, price=110, exectype="take_profit", reduce_only=True)],
        },
        maker_fee=0.0002,
    )
    trade = result.trades.iloc[0]
    assert trade.exit_reason == "take_profit"
    assert trade.exit_price == 110.0
    assert trade.pnl == pytest.approx(10.0 - 0.022)


def test_reduce_only_that_would_open_is_rejected() -> None:
    data = market([flat(100)] * 3)
    result = run_script(data, {0: [lambda s: s.sell(size=1, reduce_only=True)]})
    order = orders_by_id(result).loc[1]
    assert (order.status, order.reason) == ("rejected", "reduce_only")
    assert "would not reduce" in order.message
    assert result.trades.empty


def test_reduce_only_larger_than_the_position_is_cut_to_it() -> None:
    # long 1; reduce-only sell 3 -> sells 1, leaving flat (not short 2)
    data = market([flat(100), flat(100), flat(100), flat(100)])
    result = run_script(
        data, {0: [lambda s: s.buy(size=1)], 1: [lambda s: s.sell(size=3, reduce_only=True)]}
    )
    assert orders_by_id(result).loc[2].filled_size == -1.0
    assert len(result.trades) == 1
    assert result.trades.iloc[0].exit_time == result.series["time"].iloc[2]


def test_bracket_target_fills_and_cancels_the_stop() -> None:
    # market entry at 100 (bar 1), stop 95 and target 110; bar 2 reaches 111 -> target at 110
    data = market([flat(100), flat(100), (100.0, 111.0, 99.0, 109.0), flat(109)])
    result = run_script(data, {0: [lambda s: s.buy_bracket(size=1, stopprice=95, limitprice=110)]})
    orders = orders_by_id(result)
    assert orders.loc[3].status == "filled" and orders.loc[3].fill_price == 110.0
    assert orders.loc[2].status == "cancelled"
    assert orders.loc[2].parent == 1 and orders.loc[3].parent == 1
    assert result.trades.iloc[0].exit_reason == "take_profit"


def test_bracket_exits_wait_for_the_entry() -> None:
    # the entry is a limit at 90 that never fills; bar 2 crosses both exits (95 and 110),
    # which must not fill while the entry has not; at the end all are cancelled
    data = market([flat(100), flat(100), (100.0, 111.0, 94.0, 100.0), flat(100)])
    result = run_script(
        data,
        {0: [lambda s: s.buy_bracket(size=1, price=90, stopprice=95, limitprice=110)]},
    )
    orders = orders_by_id(result)
    assert list(orders["status"]) == ["cancelled"] * 3
    assert orders.loc[1].reason == "end_of_data"
    assert result.trades.empty


def test_bracket_exits_activate_on_the_entry_bar() -> None:
    # limit entry at 98 fills on bar 1's way down (O100 -> H100 -> L94): the stop at 95 is then
    # active on the rest of that leg and fills at 95 in the same bar: 95 − 98 = −3
    data = market([flat(100), (100.0, 100.0, 94.0, 96.0), flat(96)])
    result = run_script(
        data, {0: [lambda s: s.buy_bracket(size=1, price=98, stopprice=95, limitprice=110)]}
    )
    trade = result.trades.iloc[0]
    assert (trade.entry_price, trade.exit_price, trade.exit_reason) == (98.0, 95.0, "stop_loss")


def test_trailing_stop_by_ratio_follows_the_high() -> None:
    # long 1 at 100; trailing sell 5 % placed at bar 1's close 100 -> 95.
    # Bar 2 up O100 -> L99 -> H120 -> C118: the stop moves to 120 × 0.95 = 114 at the high;
    # 118 stays above it. Bar 3 O117 -> H117 -> L110: reaches 114 -> exit 114 (+14).
    bars = [flat(100), flat(100), (100.0, 120.0, 99.0, 118.0), (117.0, 117.0, 110.0, 112.0)]
    result = run_script(
        market([*bars, flat(112)]),
        {
            0: [lambda s: s.buy(size=1)],
            1: [
                lambda s: s.sell(
                    size=1, exectype="trailing_stop", trailpercent=0.05, reduce_only=True
                )
            ],
        },
    )
    trade = result.trades.iloc[0]
    assert trade.exit_reason == "trailing_stop"
    assert trade.exit_price == pytest.approx(114.0)
    assert trade.pnl == pytest.approx(14.0)


def test_trailing_stop_by_amount() -> None:
    # short 1 at 100; trailing buy stop 3 above: 103. Bar 2 down O100 -> H100 -> L90 -> C92:
    # the stop moves to 93 at the low; the close 92 stays below. Bar 3 rises to 95: exit at 93.
    bars = [flat(100), flat(100), (100.0, 100.0, 90.0, 92.0), (92.0, 95.0, 92.0, 94.0)]
    result = run_script(
        market([*bars, flat(94)]),
        {
            0: [lambda s: s.sell(size=1)],
            1: [
                lambda s: s.buy(size=1, exectype="trailing_stop", trailamount=3.0, reduce_only=True)
            ],
        },
    )
    trade = result.trades.iloc[0]
    assert trade.exit_price == pytest.approx(93.0)
    assert trade.pnl == pytest.approx(7.0)


def test_sizes_round_down_to_the_lot_and_prices_to_the_tick() -> None:
    # lot 0.001: 1.23456 -> 1.234; tick 0.5: limit 95.3 -> 95.5 (nearest)
    spec = {"BTC/USDT:USDT": {"lot_size": 0.001, "tick_size": 0.5}}
    data = market([flat(100), (100.0, 100.0, 90.0, 92.0), flat(92)])
    result = run_script(data, {0: [lambda s: s.buy(size=1.23456, price=95.3)]}, instruments=spec)
    order = orders_by_id(result).loc[1]
    assert order["size"] == pytest.approx(1.234)
    assert order.price == 95.5
    assert order.fill_price == 95.5


def test_a_size_below_one_lot_is_rejected_at_submission() -> None:
    spec = {"BTC/USDT:USDT": {"lot_size": 0.001}}
    data = market([flat(100)] * 3)
    result = run_script(data, {0: [lambda s: s.buy(size=0.0004)]}, instruments=spec)
    order = orders_by_id(result).loc[1]
    assert (order.status, order.reason) == ("rejected", "size_below_lot")


def test_below_the_minimum_notional_is_rejected_but_a_reduction_is_not() -> None:
    # minimum 5: buy 0.04 at 100 = 4 < 5 -> rejected; buy 0.06 = 6 fills, and reducing it by
    # 0.02 (notional 2) is allowed
    spec = {"BTC/USDT:USDT": {"min_notional": 5.0}}
    data = market([flat(100)] * 4)
    result = run_script(
        data,
        {
            0: [lambda s: s.buy(size=0.04), lambda s: s.buy(size=0.06)],
            1: [lambda s: s.sell(size=0.02, reduce_only=True)],
        },
        instruments=spec,
    )
    orders = orders_by_id(result)
    assert (orders.loc[1].status, orders.loc[1].reason) == ("rejected", "min_notional")
    assert orders.loc[2].status == "filled"
    assert orders.loc[3].status == "filled" and orders.loc[3].filled_size == -0.02


def test_insufficient_margin_is_rejected_with_its_reason() -> None:
    # wallet 100 at 1x: buying 2 at 100 needs 200 of initial margin
    data = market([flat(100)] * 3)
    result = run_script(data, {0: [lambda s: s.buy(size=2)]}, wallet=100.0)
    order = orders_by_id(result).loc[1]
    assert (order.status, order.reason) == ("rejected", "insufficient_margin")
    assert "available balance" in order.message


def test_stake_sized_order() -> None:
    # size None: stake 100 × leverage 5 / fill price 100 = 5 contracts
    data = market([flat(100)] * 3)
    result = run_script(data, {0: [lambda s: s.buy()]}, stake_amount=100.0, leverage=5)
    assert orders_by_id(result).loc[1].filled_size == pytest.approx(5.0)


def test_max_open_trades_rejects_a_new_position() -> None:
    btc = market([flat(100)] * 3)
    eth = market([flat(100)] * 3, symbol=ETH)
    result = run_script(
        portfolio(btc, eth),
        {0: [lambda s: s.buy(size=1), lambda s: s.buy(data=s.datas[1], size=1)]},
        max_open_trades=1,
    )
    orders = orders_by_id(result)
    assert (orders.loc[2].status, orders.loc[2].reason) == ("rejected", "max_open_trades")


def test_cancel_and_notifications() -> None:
    # a resting limit cancelled at bar 1; a market order that fills at bar 1 and its trade
    def watch(strategy: Any) -> Any:
        return [o.status for o in strategy.notified_orders]

    keep: dict[str, Any] = {}

    def place(strategy: Any) -> None:
        keep["limit"] = strategy.buy(size=1, price=50)
        strategy.buy(size=1)

    def cancel(strategy: Any) -> None:
        strategy.cancel(keep["limit"])
        keep["strategy"] = strategy

    data = market([flat(100)] * 4)
    result = run_script(data, {0: [place], 1: [cancel]}, watch=watch)
    orders = orders_by_id(result)
    assert (orders.loc[1].status, orders.loc[1].reason) == ("cancelled", "cancelled")
    strategy = keep["strategy"]
    # submitted #1, submitted #2, filled #2, cancelled #1, then the end-of-data close
    statuses = [(o.id, str(o.status)) for o in strategy.notified_orders]
    assert statuses[:4] == [(1, "submitted"), (2, "submitted"), (2, "filled"), (1, "cancelled")]
    trades = [(t.side, t.open) for t in strategy.notified_trades]
    assert trades == [("long", True), ("long", False)]
    # each snapshot keeps the state it was sent with: #2 unfilled, then filled at 100
    assert math.isnan(strategy.notified_orders[1].fill_price)
    assert strategy.notified_orders[2].fill_price == 100.0


def test_order_arguments_are_checked() -> None:
    data = market([flat(100)] * 2)
    with pytest.raises(StrategyError, match="size: must be a number > 0"):
        run_script(data, {0: [lambda s: s.buy(size=-1)]})
    with pytest.raises(StrategyError, match="exectype"):
        run_script(data, {0: [lambda s: s.buy(size=1, exectype="iceberg")]})
    with pytest.raises(StrategyError, match="trailpercent"):
        run_script(data, {0: [lambda s: s.sell(size=1, exectype="trailing_stop")]})
    with pytest.raises(StrategyError, match="price: a stop order needs a price"):
        run_script(data, {0: [lambda s: s.sell(size=1, exectype="stop")]})


def test_stake_all_spends_the_available_balance_on_margin_and_fee() -> None:
    # 3x, taker 0.05 %, fill at 100 (mark = trade): q = 10,000 × 3 / (100 × (1 + 3 × 0.0005))
    # = 30,000/100.15 = 299.5507; IM 99.8502... × 100 / 3 + fee = the whole 10,000
    data = market([flat(100)] * 3)
    seen: list[float] = []
    run_script(
        data,
        {0: [lambda s: s.buy(stake="all")]},
        watch=lambda s: seen.append(s.account.available_balance),
        leverage=3,
        taker_fee=0.0005,
    )
    assert seen[1] == pytest.approx(0.0, abs=1e-6)
    result = run_script(data, {0: [lambda s: s.buy(stake="all")]}, leverage=3, taker_fee=0.0005)
    assert orders_by_id(result).loc[1].filled_size == pytest.approx(30_000 / 100.15, rel=1e-9)


def test_stake_all_in_cross_counts_the_mark() -> None:
    # fill at 100 with the mark at 101 (cross, 3x, taker 0.05 %): per contract the IM at the
    # mark 101/3, the fee 0.05, less the uPnL at the mark (101 − 100 = 1):
    # 33.6667 + 0.05 − 1 = 32.71667 -> q = 10,000 / 32.71667 = 305.654
    data = market([flat(100)] * 3, mark=[flat(101)] * 3)
    seen: list[float] = []
    result = run_script(
        data,
        {0: [lambda s: s.buy(stake="all")]},
        watch=lambda s: seen.append(s.account.available_balance),
        leverage=3,
        taker_fee=0.0005,
    )
    cost = 101 / 3 + 0.05 - 1.0
    assert orders_by_id(result).loc[1].filled_size == pytest.approx(10_000 / cost, rel=1e-9)
    assert seen[1] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(StrategyError, match="stake: must be a margin > 0 or 'all'"):
        run_script(data, {0: [lambda s: s.buy(stake="most")]})
