"""Event-driven ``Strategy`` classes in spot and spot-margin runs: the class that runs on
futures, through the same trading port, with ``trading_mode`` changed.

Hand-made hourly bars (backtest_helpers) with every expected number worked out beside its
assertion: Binance's 0.1 % fee taken in the asset received, hourly simple interest charged at
the borrow and at the start of every later hour (a repayment on the hour settles before that
hour's charge; MARGIN_SPEC.md §11.1), Binance's cross 3x levels (borrow 1.5, liquidation 1.1)
and 2 % liquidation fee.
"""

from __future__ import annotations

from typing import Any

import pytest
from backtest_helpers import BTC, HOUR, T0, config, flat, market

from levtrade.backtest import BacktestConfig, run
from levtrade.backtest.lookahead import check_lookahead
from levtrade.errors import ConfigError
from levtrade.margin.spot import MarginStatus
from levtrade.strategy import Strategy
from levtrade.strategy.accounts import SpotAccountView

BTC_SPOT = "BTC/USDT"


class Script(Strategy):
    """Runs ``script[bar]`` (callables taking the strategy) at each close and records what
    ``look`` returns there (the same reads in every trading mode)."""

    params = (("script", {}), ("look", None))

    def __init__(self) -> None:
        self.seen: list[Any] = []

    def next(self) -> None:
        bar = len(self) - 1
        for action in self.p.script.get(bar, ()):
            action(self)
        if self.p.look is not None:
            self.seen.append(self.p.look(self))


def run_script(
    data: Any, script: dict[int, list[Any]], cfg: BacktestConfig, look: Any = None
) -> tuple[Any, Script]:
    """Run :class:`Script`, returning the result and the strategy instance."""
    made: list[Script] = []

    class Kept(Script):
        def start(self) -> None:
            made.append(self)

    result = run(Kept, data, cfg, params={"script": script, "look": look})
    return result, made[0]


def views(s: Strategy) -> tuple[float, float, float, float]:
    return s.position.size, s.position.price, s.broker.get_value(), s.broker.get_cash()


# -- spot ------------------------------------------------------------------------------------


def test_a_spot_strategy_buys_and_sells_with_the_fee_in_the_asset_received() -> None:
    closes = [100.0, 100.0, 110.0, 120.0, 120.0]
    data = market([flat(c) for c in closes], symbol=BTC_SPOT)
    script = {
        0: [lambda s: s.buy(size=10)],
        2: [lambda s: s.sell(size=4)],
        3: [lambda s: s.close()],
    }
    cfg = config(trading_mode="spot", maker_fee=0.001, taker_fee=0.001)
    result, strategy = run_script(data, script, cfg, views)
    # bar 1's open: 10 BTC for 1,000 USDT, the fee 0.1 % of the BTC received: 9.99 held
    # bar 3's open: 4 sold at 120 = 480, less 0.48 USDT; bar 4's open: 5.99 × 120 = 718.80
    # less 0.7188
    assert result.metrics["final_equity"] == pytest.approx(
        10_000.0 - 1000.0 + 479.52 + 718.0812, rel=1e-12
    )
    (trade,) = result.trades.itertuples()
    assert (trade.side, trade.size, trade.leverage) == ("long", pytest.approx(9.99), 1.0)
    assert trade.entry_price == 100.0 and trade.exit_price == pytest.approx(120.0, rel=1e-12)
    # fees: 0.01 BTC × 100 + 0.48 + 0.7188
    assert trade.fees == pytest.approx(2.1988, rel=1e-12)
    # 9.99 × (120 − 100) − 2.1988: the trade's PnL is the wallet's change
    assert trade.pnl == pytest.approx(197.6012, rel=1e-12)
    assert trade.interest == 0.0
    # at bar 1's close: 9.99 held at 100, 9,000 USDT left: value 9,000 + 999, cash 9,000
    assert strategy.seen[1] == pytest.approx((9.99, 100.0, 9999.0, 9000.0))
    assert strategy.seen[2][0] == pytest.approx(9.99)  # the sell fills at bar 3's open
    assert strategy.seen[3][:2] == pytest.approx((5.99, 100.0))  # a reduction keeps the cost
    assert strategy.seen[4][0] == 0.0
    orders = result.orders
    assert list(orders["fee"]) == pytest.approx([0.01, 0.48, 0.7188])
    assert result.spot_account is not None and result.spot_account.books_balance()


def test_a_spot_bracket_takes_profit_as_maker_and_cancels_its_stop() -> None:
    # bar 2 closes above its open: O→L→H→C = 100 → 99 → 116 → 112; the take-profit at 115 is
    # reached, the stop at 90 is not
    data = market(
        [flat(100.0), flat(100.0), (100.0, 116.0, 99.0, 112.0), flat(112.0)], symbol=BTC_SPOT
    )
    script = {0: [lambda s: s.buy_bracket(size=10, stopprice=90.0, limitprice=115.0)]}
    cfg = config(trading_mode="spot", maker_fee=0.0002, taker_fee=0.001)
    result, _ = run_script(data, script, cfg)
    (trade,) = result.trades.itertuples()
    assert trade.exit_reason == "take_profit" and trade.exit_time == T0 + 2 * HOUR
    # 9.99 held (taker 0.1 % in BTC); the take-profit sells 9.99 at 115 = 1,148.85 at the
    # maker 0.02 %: 0.22977
    assert trade.fees == pytest.approx(1.0 + 0.22977, rel=1e-12)
    assert trade.pnl == pytest.approx(9.99 * 15.0 - 1.22977, rel=1e-12)
    statuses = dict(zip(result.orders["type"], result.orders["status"], strict=True))
    assert statuses == {"market": "filled", "take_profit": "filled", "stop": "cancelled"}


def test_spot_holds_what_it_bought_and_never_shorts() -> None:
    data = market([flat(100.0)] * 4, symbol=BTC_SPOT)
    script = {
        0: [lambda s: s.sell(size=1)],
        1: [lambda s: s.buy(size=2)],
        2: [lambda s: s.sell(size=3)],
    }
    result, _ = run_script(data, script, config(trading_mode="spot"))
    rejected = result.orders[result.orders["status"] == "rejected"]
    assert list(rejected["message"]) == [
        "side: spot is long only (BTC/USDT)",
        "size: sell 3 is more than the BTC/USDT position (2); a spot position closes before it "
        "turns (close it, then enter)",
    ]


def test_selling_what_was_bought_closes_what_the_fee_left() -> None:
    # buy 10 at 100 (0.1 % in BTC: 9.99 held), then sell 10: the 9.99 is sold at 110; a sell
    # of 10.1 asks for more than a buy of 10 ever delivers, and is refused
    data = market([flat(100.0), flat(100.0), flat(110.0), flat(110.0)], symbol=BTC_SPOT)
    cfg = config(trading_mode="spot", maker_fee=0.001, taker_fee=0.001)
    script = {0: [lambda s: s.buy(size=10)], 1: [lambda s: s.sell(size=10)]}
    result, _ = run_script(data, script, cfg)
    (trade,) = result.trades.itertuples()
    assert (trade.exit_reason, trade.size) == ("order", pytest.approx(9.99))
    assert result.orders["filled_size"].iloc[-1] == pytest.approx(-9.99)
    script = {0: [lambda s: s.buy(size=10)], 1: [lambda s: s.sell(size=10.1)]}
    result, _ = run_script(data, script, cfg)
    assert result.orders["status"].iloc[1] == "rejected"


def test_a_spot_trailing_stop_follows_the_path() -> None:
    # bar 2: O→L→H→C = 100 → 100 → 120 → 120 moves the stop to 120 × 0.9 = 108; bar 3:
    # O→H→L→C = 120 → 120 → 100 → 105 falls through it
    data = market(
        [flat(100.0), flat(100.0), (100.0, 120.0, 100.0, 120.0), (120.0, 120.0, 100.0, 105.0)],
        symbol=BTC_SPOT,
    )
    script = {
        0: [
            lambda s: s.buy(size=10),
            lambda s: s.sell(size=10, exectype="trailing_stop", trailpercent=0.1),
        ]
    }
    result, _ = run_script(data, script, config(trading_mode="spot"))
    (trade,) = result.trades.itertuples()
    assert trade.exit_reason == "trailing_stop"
    assert trade.exit_price == pytest.approx(108.0, rel=1e-12)
    assert trade.pnl == pytest.approx(80.0, rel=1e-12)


# -- margin ----------------------------------------------------------------------------------


def margin_look(s: Strategy) -> tuple[Any, ...]:
    account = s.account
    assert isinstance(account, SpotAccountView)
    return (
        s.position.size,
        account.margin_level,
        account.margin_ratio,
        s.liquidation_price(),
        account.total_equity,
        account.liabilities,
        account.status,
    )


def test_a_margin_long_pays_interest_by_the_hour_and_is_liquidated_by_hand() -> None:
    # the account: 1,000 USDT, 0.06 BTC bought at 50,000 with 3x: 2,000 borrowed.
    # Bar 3 (O→H→L→C = 50,000 → 50,000 → 36,000 → 37,000) falls through the liquidation
    data = market(
        [flat(50_000.0)] * 3 + [(50_000.0, 50_000.0, 36_000.0, 37_000.0), flat(37_000.0)],
        symbol=BTC_SPOT,
    )
    cfg = config(trading_mode="margin", leverage=3, wallet=1000.0, interest_rates={"USDT": 0.0001})
    result, strategy = run_script(data, {0: [lambda s: s.buy(size=0.06)]}, cfg, margin_look)
    # interest 2,000 × 0.01 % = 0.20 an hour: at the borrow (01:00), 02:00, 03:00
    ledger = result.ledger
    charges = ledger[(ledger["kind"] == "interest") & (ledger["debit"] == "interest")]
    assert list(charges["time"]) == [T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR]
    assert list(charges["amount"]) == pytest.approx([0.2, 0.2, 0.2])
    # bar 1's close: level 3,000 / 2,000.2; the equity at liquidation (1.1 − 1) × 2,000.2 over
    # the equity 3,000 − 2,000.2; liquidation where 0.06·P = 1.1 × 2,000.2
    size, level, ratio, liquidation, equity, owed, status = strategy.seen[1]
    assert size == pytest.approx(0.06, rel=1e-12)
    assert level == pytest.approx(3000.0 / 2000.2, rel=1e-12)
    assert ratio == pytest.approx(0.1 * 2000.2 / 999.8, rel=1e-12)
    assert liquidation == pytest.approx(1.1 * 2000.2 / 0.06, rel=1e-12)
    assert (equity, owed) == (pytest.approx(999.8), pytest.approx(2000.2))
    assert status is MarginStatus.NO_BORROW  # at or below Binance's borrow level 1.5
    assert strategy.seen[2][3] == pytest.approx(1.1 * 2000.4 / 0.06, rel=1e-12)
    # bar 3's path: with 0.60 owed, 0.06·P = 1.1 × 2,000.6 at P = 36,677.67; the BTC sells
    # for 2,200.66, the fee is 2 % of it (44.0132), 2,000.60 is repaid: 156.0468 is left
    (trade,) = result.trades.itertuples()
    assert trade.exit_reason == "liquidation" and trade.exit_time == T0 + 3 * HOUR
    assert trade.exit_price == pytest.approx(1.1 * 2000.6 / 0.06, rel=1e-12)
    assert trade.interest == pytest.approx(0.6, rel=1e-12)
    assert result.metrics["liquidation_fees"] == pytest.approx(44.0132, rel=1e-12)
    assert result.metrics["final_equity"] == pytest.approx(156.0468, rel=1e-9)
    assert trade.pnl == pytest.approx(156.0468 - 1000.0, rel=1e-9)
    assert strategy.seen[3][0] == 0.0 and strategy.seen[3][3] is None
    assert result.spot_account is not None and result.spot_account.books_balance()
    assert result.spot_account.loans() == {}


def test_a_margin_short_owes_its_interest_in_the_base() -> None:
    data = market([flat(100.0)] * 4 + [flat(90.0)], symbol=BTC_SPOT)
    script = {
        0: [lambda s: s.sell(size=1)],
        2: [lambda s: s.buy(size=0.4, reduce_only=True)],
        3: [lambda s: s.close()],
    }
    cfg = config(trading_mode="margin", leverage=3, interest_rates={"USDT": 0.0, "BTC": 0.0001})
    result, strategy = run_script(data, script, cfg, margin_look)
    # 1 BTC borrowed at 01:00 and sold for 100; 0.0001 BTC of interest at 01:00 and 02:00.
    # Bar 3's open (03:00) buys back 0.4 at 100 before that hour's charge: it repays the
    # 0.0002 of interest, then 0.3998 of the loan; 03:00 charges 0.6002 × 0.01 % = 0.00006002
    ledger = result.ledger
    charges = ledger[(ledger["kind"] == "interest") & (ledger["debit"] == "interest")]
    assert list(charges["currency"]) == ["BTC"] * 3
    assert list(charges["amount"]) == pytest.approx([0.0001, 0.0001, 0.00006002], rel=1e-9)
    # bar 4's open buys back everything owed, 0.6002 + 0.00006002 BTC, at 90
    closing = result.orders.iloc[-1]
    assert closing["filled_size"] == pytest.approx(0.60026002, rel=1e-12)
    cash = 10_000.0 + 100.0 - 40.0 - 0.60026002 * 90.0
    assert result.metrics["final_equity"] == pytest.approx(cash, rel=1e-12)
    (trade,) = result.trades.itertuples()
    assert trade.side == "short" and trade.size == 1.0
    # interest valued when charged (BTC at 100): 0.026002; the 0.00026002 BTC owed was
    # bought back at 90, so 0.0026002 of it is PnL: 0.6 × 10 + 0.0026002 − 0.026002
    assert trade.interest == pytest.approx(0.026002, rel=1e-9)
    assert trade.pnl == pytest.approx(6.0 + 0.0026002 - 0.026002, rel=1e-9)
    assert trade.pnl == pytest.approx(cash - 10_000.0, rel=1e-9)
    assert trade.exit_price == pytest.approx((0.4 * 100.0 + 0.6 * 90.0) / 1.0, rel=1e-12)
    # the strategy's view: −1 at bar 1's close, −0.6 after the cover; the margin level of the
    # cross pool (10,100 USDT against 1.0001 BTC at 100)
    assert strategy.seen[1][0] == -1.0 and strategy.seen[3][0] == pytest.approx(-0.6)
    assert strategy.seen[1][1] == pytest.approx(10_100.0 / 100.01, rel=1e-12)
    # liquidation where 10,100 = 1.1 × 1.0001 × P
    assert strategy.seen[1][3] == pytest.approx(10_100.0 / (1.1 * 1.0001), rel=1e-12)


def test_an_isolated_long_moves_its_own_part_into_the_pair() -> None:
    # 0.06 BTC at 50,000 with 3x: 1,000 of collateral moves from the spot wallet, 2,000 is
    # borrowed; the figures: level 1.5, liquidation at 1.1 × 2,000 / 0.06
    data = market([flat(50_000.0)] * 3, symbol=BTC_SPOT)
    cfg = config(
        trading_mode="margin", margin_mode="isolated", leverage=3, interest_rates={"USDT": 0}
    )
    result, strategy = run_script(data, {0: [lambda s: s.buy(size=0.06)]}, cfg, margin_look)
    size, level, ratio, liquidation, equity, owed, status = strategy.seen[1]
    assert (size, level, owed) == (pytest.approx(0.06), pytest.approx(1.5), pytest.approx(2000.0))
    assert liquidation == pytest.approx(36_666.666_666_67, rel=1e-12)
    # the pair's pool: 1,000 of equity, (1.1 − 1) × 2,000 of it at liquidation
    assert ratio == pytest.approx(0.2, rel=1e-12) and status is MarginStatus.NO_BORROW
    assert equity == pytest.approx(10_000.0)
    assert result.spot_account is not None
    assert result.spot_account.balances("spot") == {"USDT": pytest.approx(10_000.0)}


def test_a_margin_position_grows_and_closes_before_it_turns() -> None:
    data = market([flat(100.0), flat(100.0), flat(120.0), flat(120.0)], symbol=BTC_SPOT)
    script = {
        0: [lambda s: s.buy(size=1)],
        1: [lambda s: s.buy(size=1)],
        2: [lambda s: s.sell(size=3)],
    }
    cfg = config(trading_mode="margin", leverage=2, interest_rates={"USDT": 0.0})
    result, strategy = run_script(data, script, cfg, views)
    # 1 at 100, 1 more at 120: 2 held at an average cost of 110
    assert strategy.seen[2][:2] == pytest.approx((2.0, 110.0))
    (rejected,) = result.orders[result.orders["status"] == "rejected"].itertuples()
    assert rejected.message.startswith("size: sell 3 is more than the BTC/USDT position (2)")
    (trade,) = result.trades.itertuples()  # closed at the end of the data, at 120
    assert trade.exit_reason == "end_of_data" and trade.pnl == pytest.approx(20.0)


def test_an_event_strategy_is_refused_by_the_compiled_kernel_in_spot() -> None:
    data = market([flat(100.0)] * 3, symbol=BTC_SPOT)
    with pytest.raises(ConfigError, match="compiled kernel trades futures"):
        run(Script, data, config(trading_mode="spot"), engine="compiled")


# -- one strategy class, three trading modes -------------------------------------------------


class Trend(Strategy):
    """Long ``size`` at the first close with a reduce-only stop 10 % under it; out after
    ``hold`` bars. It reads equity, leverage, margin ratio and liquidation price the same way
    in every trading mode."""

    params = (("size", 10.0), ("hold", 3))

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []

    def next(self) -> None:
        bar = len(self) - 1
        if bar == 0:
            self.buy(size=self.p.size)
            self.sell(size=self.p.size, price=self.data.close[0] * 0.9, exectype="stop",
                      reduce_only=True)  # fmt: skip
        elif bar == self.p.hold and self.position:
            self.close()
        self.seen.append(
            (
                self.position.size,
                self.broker.get_value(),
                self.effective_leverage,
                self.account.margin_ratio,
                self.liquidation_price(),
            )
        )


MADE: list[Trend] = []


class KeptTrend(Trend):
    def start(self) -> None:
        MADE.append(self)


CLOSES = [100.0, 100.0, 105.0, 110.0, 110.0]


@pytest.mark.parametrize(
    ("mode", "symbol", "fields", "final", "held", "value"),
    [
        # entry fee 0.1 % × 1,000 = 1.0, exit fee 0.1 % × 1,100 = 1.1: 100 − 2.1
        ("futures", BTC, {}, 10_097.9, 10.0, 9_999.0),
        # 9.99 BTC held; the exit sells 9.99 × 110 = 1,098.9 less 1.0989: 99.9 − 1.0 − 1.0989
        ("spot", BTC_SPOT, {}, 10_097.8011, 9.99, 9_999.0),
        # 3x: 1,000 / 3 of its own, 666.67 borrowed at 0.01 % an hour, 0.0667 at 01:00, 02:00
        # and 03:00 (the exit at 04:00 repays before that hour's charge): 97.8011 − 0.2
        (
            "margin",
            BTC_SPOT,
            {"leverage": 3, "interest_rates": {"USDT": 0.0001}},
            10_097.6011,
            9.99,
            10_000.0 - 1.0 - 2000.0 / 3.0 * 0.0001,
        ),
    ],
)
def test_one_strategy_class_runs_in_every_trading_mode(
    mode: str, symbol: str, fields: dict[str, Any], final: float, held: float, value: float
) -> None:
    data = market([flat(c) for c in CLOSES], symbol=symbol)
    cfg = config(trading_mode=mode, maker_fee=0.001, taker_fee=0.001, **fields)
    MADE.clear()
    result = run(KeptTrend, data, cfg)
    (strategy,) = MADE
    (trade,) = result.trades.itertuples()
    assert (trade.entry_price, trade.exit_price, trade.exit_reason) == (100.0, 110.0, "close")
    assert result.metrics["final_equity"] == pytest.approx(final, rel=1e-12)
    assert trade.pnl == pytest.approx(final - 10_000.0, rel=1e-9)
    size, equity, leverage, ratio, liquidation = strategy.seen[1]
    assert size == pytest.approx(held, rel=1e-12)
    assert equity == pytest.approx(value, rel=1e-12)
    # notional ÷ equity: 1,000 (futures) or 999 (9.99 BTC) at 100
    assert leverage == pytest.approx(held * 100.0 / value, rel=1e-12)
    assert ratio < 0.01 and (liquidation is None or liquidation < 10.0)
    stop = result.orders[result.orders["type"] == "stop"].iloc[0]
    assert (stop["status"], stop["reason"]) == ("cancelled", "position_closed")
    assert strategy.seen[-1][0] == 0.0


class ReadsTomorrowsArray(Strategy):
    """Buys when the raw array says the next bar closes higher: look-ahead."""

    def next(self) -> None:
        i = len(self) - 1
        array = self.data.close.array
        if not self.position and i + 1 < len(array) and array[i + 1] > array[i]:
            self.buy(size=1)


def test_the_look_ahead_check_runs_spot_and_margin_strategies() -> None:
    # bar 3 closes above bar 2: cut after bar 3 (no bar 3 in the cut run: nothing is bought at
    # bar 2's close), the full run buys there
    closes = [100.0, 100.0, 100.0, 110.0, 110.0, 110.0]
    data = market([flat(c) for c in closes], symbol=BTC_SPOT)
    margin = config(trading_mode="margin", leverage=3, interest_rates={"USDT": 0.0001})
    for cfg in (config(trading_mode="spot"), margin):
        report = check_lookahead(ReadsTomorrowsArray, data, cfg, cuts=[3])
        assert not report.ok and report.bar == 2
        assert check_lookahead(Trend, data, cfg, cuts=[2, 4]).ok
