"""Hand-computed scenarios of the event engine (docs/backtest.md), arithmetic in comments.

Binance BTC/ETH tier 1 (MARGIN_SPEC §1.1, the shipped table): notional < 300,000, MMR 0.4 %,
maintenance amount 0, max leverage 150; tier 2: up to 800,000, MMR 0.5 %, amount 300, max
leverage 100. Fees and the clearance fee are 0 unless a test sets them (``config`` helper).
"""

from __future__ import annotations

import math

import pytest
from backtest_helpers import (
    BTC,
    ETH,
    HOUR,
    T0,
    Scripted,
    at,
    config,
    flat,
    market,
    portfolio,
    run_script,
    signals,
)

from levtrade.backtest import run
from levtrade.backtest.engine import run_signals
from levtrade.strategy.signals import SignalRules

LIQ = "liq:BTC/USDT:USDT"


def buy(size: float, **kw: object) -> object:
    return lambda s: s.buy(size=size, **kw)


def sell(size: float, **kw: object) -> object:
    return lambda s: s.sell(size=size, **kw)


# --------------------------------------------------------------------------------------------
# Stop and liquidation in one bar
# --------------------------------------------------------------------------------------------

# Isolated long 1 BTC-contract at 100, 10x: margin = 100/10 = 10.
# Liquidation: 10 + (P − 100) = 0.004·P  ->  P = 90 / 0.996 = 90.36144578...
ISO_LP = 90 / 0.996
DOWN_BAR = (100.0, 101.0, 85.0, 88.0)  # closes below its open: O -> H -> L -> C


def test_isolated_liquidation_price_is_recorded() -> None:
    result = run_script(
        market([flat(100), flat(100), flat(100)]),
        {0: [buy(1)]},
        leverage=10,
        margin_mode="isolated",
    )
    assert result.series[LIQ].iloc[1] == pytest.approx(ISO_LP, rel=1e-12)
    assert math.isnan(result.series[LIQ].iloc[0])


def test_stop_reached_before_liquidation_wins() -> None:
    # leg H -> L = 101 -> 85: stop 95 at (95 − 101)/(85 − 101) = 0.375,
    # liquidation 90.3614 at (90.3614 − 101)/(85 − 101) = 0.665 -> the stop fills at 95
    result = run_script(
        market([flat(100), flat(100), DOWN_BAR, flat(88)]),
        {0: [buy(1)], 1: [sell(1, price=95, exectype="stop", reduce_only=True)]},
        leverage=10,
        margin_mode="isolated",
    )
    trade = result.trades.iloc[0]
    assert trade.exit_reason == "stop_loss"
    assert trade.exit_price == 95.0
    # loss 1 × (95 − 100) = −5
    assert trade.pnl == pytest.approx(-5.0)
    assert result.series["equity"].iloc[-1] == pytest.approx(9_995.0)


def test_stop_beyond_the_liquidation_price_never_loses_more_than_the_margin() -> None:
    # stop 88 at (88 − 101)/(85 − 101) = 0.8125 comes after the liquidation at 0.665:
    # the position is liquidated (Binance: closed at bankruptcy), losing its margin of 10
    result = run_script(
        market([flat(100), flat(100), DOWN_BAR, flat(88)]),
        {0: [buy(1)], 1: [sell(1, price=88, exectype="stop", reduce_only=True)]},
        leverage=10,
        margin_mode="isolated",
    )
    trade = result.trades.iloc[0]
    assert trade.exit_reason == "liquidation"
    assert trade.exit_price == pytest.approx(ISO_LP, rel=1e-9)
    assert trade.pnl == pytest.approx(-10.0)
    assert result.series["wallet"].iloc[-1] == pytest.approx(9_990.0)
    orders = result.orders.set_index("id")
    assert orders.loc[2, "status"] == "cancelled"
    assert orders.loc[2, "reason"] == "liquidation"


@pytest.mark.parametrize(
    ("mark_low", "expected"),
    [
        # mark leg 100.5 -> 90: liquidation at (90.3614 − 100.5)/(90 − 100.5) = 0.9656;
        # trade leg 101 -> 85: stop 92 at (92 − 101)/(85 − 101) = 0.5625 -> stop first
        (90.0, "stop_loss"),
        # mark leg 100.5 -> 80: liquidation at (90.3614 − 100.5)/(80 − 100.5) = 0.4946 -> first
        (80.0, "liquidation"),
    ],
)
def test_liquidation_is_tested_on_the_mark_path(mark_low: float, expected: str) -> None:
    mark = [flat(100), flat(100), (100.0, 100.5, mark_low, 89.0), flat(89)]
    result = run_script(
        market([flat(100), flat(100), DOWN_BAR, flat(88)], mark=mark),
        {0: [buy(1)], 1: [sell(1, price=92, exectype="stop", reduce_only=True)]},
        leverage=10,
        margin_mode="isolated",
    )
    assert result.trades.iloc[0].exit_reason == expected


def test_a_tie_goes_to_liquidation() -> None:
    # trade leg 101 -> 85 and mark leg 101 -> 85 are the same; a stop exactly at the
    # liquidation price is reached at the same fraction: liquidation wins
    result = run_script(
        market([flat(100), flat(100), DOWN_BAR, flat(88)]),
        {0: [buy(1)], 1: [sell(1, price=ISO_LP, exectype="stop", reduce_only=True)]},
        leverage=10,
        margin_mode="isolated",
    )
    assert result.trades.iloc[0].exit_reason == "liquidation"


# --------------------------------------------------------------------------------------------
# Gaps through the bankruptcy price
# --------------------------------------------------------------------------------------------

GAP = [flat(100), flat(100), (80.0, 82.0, 79.0, 81.0), flat(81)]


def test_isolated_gap_loses_only_the_margin_and_the_fund_pays_the_rest() -> None:
    # bar 2 opens at 80, below the liquidation price 90.36: liquidated at the open (80).
    # PnL at 80 = 1 × (80 − 100) = −20 against a margin of 10: the trader loses 10 (the
    # margin), the insurance fund covers the shortfall of 10.
    result = run_script(market(GAP), {0: [buy(1)]}, leverage=10, margin_mode="isolated")
    trade = result.trades.iloc[0]
    assert trade.exit_reason == "liquidation"
    assert trade.exit_price == 80.0
    assert trade.exit_time == T0 + 2 * HOUR
    assert trade.pnl == pytest.approx(-10.0)
    assert result.series["equity"].iloc[-1] == pytest.approx(9_990.0)
    assert result.metrics["insurance_fund"] == pytest.approx(-10.0)
    assert result.metrics["liquidations"] == 1
    fund = result.ledger[result.ledger["kind"] == "insurance_fund"]
    assert fund["amount"].sum() == pytest.approx(10.0)


def test_cross_gap_loses_the_wallet_and_no_more() -> None:
    # cross wallet 12, long 1 at 100 (10x): bankruptcy at 12 + (P − 100) = 0 -> 88.
    # The gap to 80 would cost 20: the wallet ends at 0, the fund pays 8.
    result = run_script(market(GAP), {0: [buy(1)]}, leverage=10, wallet=12.0)
    assert result.trades.iloc[0].pnl == pytest.approx(-12.0)
    assert result.series["wallet"].iloc[-1] == pytest.approx(0.0)
    assert result.metrics["insurance_fund"] == pytest.approx(-8.0)
    assert result.metrics["total_return"] == pytest.approx(-1.0)


def test_an_exit_pending_at_a_gapped_open_comes_after_the_liquidation() -> None:
    # the strategy decided to close at bar 1's close, but bar 2 opens past the liquidation
    # price: the liquidation comes first (the path's first point), the exit has nothing left
    result = run_script(
        market(GAP),
        {0: [buy(1)], 1: [lambda s: s.close()]},
        leverage=10,
        margin_mode="isolated",
    )
    assert result.trades.iloc[0].exit_reason == "liquidation"
    closing = result.orders.set_index("id").loc[2]
    assert (closing.status, closing.reason) == ("cancelled", "position_closed")


# --------------------------------------------------------------------------------------------
# Funding at the funding time: settled before the open's fills
# --------------------------------------------------------------------------------------------


def test_funding_at_the_open_is_paid_by_the_position_closed_there_not_the_one_opened() -> None:
    # rate 0.1 % at bar 2's open (a funding time); mark open 100.
    # Trade A (long 1, bars 1..2) still holds at bar 2's open: pays 1 × 100 × 0.001 = 0.1.
    # Trade B opens at that open after funding settled: pays nothing. Counted once.
    data = market([flat(100)] * 5, funding={2: 0.001})
    result = run_script(data, {0: [buy(1)], 1: [lambda s: s.close(), buy(1)]})
    a, b = result.trades.iloc[0], result.trades.iloc[1]
    assert (a.entry_time, a.exit_time) == (T0 + HOUR, T0 + 2 * HOUR)
    assert a.funding == pytest.approx(-0.1)
    assert b.entry_time == T0 + 2 * HOUR
    assert b.funding == 0.0
    assert result.metrics["funding_paid"] == pytest.approx(0.1)
    assert result.series["equity"].iloc[-1] == pytest.approx(10_000.0 - 0.1)


def test_funding_timing_is_the_same_for_signal_strategies() -> None:
    # enter at bar 0 (fills bar 1), exit_long at bar 1 (exit at bar 2's open, after
    # funding), enter_long at bar 2 (fills bar 3): only the first trade pays 0.1
    data = market([flat(100)] * 5, funding={2: 0.001})
    n = len(data)
    table = signals(data, BTC={"enter_long": at(n, 0, 2), "exit_long": at(n, 1)})
    result = run_signals(data, table, config(stake_amount=100.0))
    assert list(result.trades["funding"]) == pytest.approx([-0.1, 0.0])


def test_funding_uses_the_mark_open_and_the_short_receives() -> None:
    # short 2 contracts; funding 0.05 % at bar 2; mark open 200 (trade open 201):
    # received = −(−2) × 200 × 0.0005 = 0.2
    bars = [flat(201), flat(201), (201.0, 202.0, 200.0, 201.0), flat(201)]
    mark = [flat(200)] * 4
    data = market(bars, mark=mark, funding={2: 0.0005})
    result = run_script(data, {0: [sell(2)]})
    assert result.trades.iloc[0].funding == pytest.approx(0.2)
    assert result.metrics["funding_received"] == pytest.approx(0.2)


def test_constant_funding_fills_in_where_the_data_has_none() -> None:
    # no funding data, constant 0.01 % every 8 h: the long held over bars 1..16 (closed at
    # bar 17's open) pays at the opens of bars 8 and 16 (00:00 + 8 h, + 16 h):
    # 2 × 1 × 100 × 0.0001 = 0.02
    data = market([flat(100)] * 20)
    result = run_script(data, {0: [buy(1)], 16: [lambda s: s.close()]}, funding_rate=0.0001)
    assert result.trades.iloc[0].funding == pytest.approx(-0.02)
    assert result.metadata["funding_constant"] == [BTC]


def test_funding_data_wins_over_the_constant() -> None:
    # the data has one event, 0.03 % at bar 8: paid 1 × 100 × 0.0003 = 0.03; the constant
    # is not used for this symbol
    data = market([flat(100)] * 20, funding={8: 0.0003})
    result = run_script(data, {0: [buy(1)], 16: [lambda s: s.close()]}, funding_rate=0.0001)
    assert result.trades.iloc[0].funding == pytest.approx(-0.03)
    assert result.metadata["funding_constant"] == []


def test_constant_funding_on_coarse_bars_sums_the_funding_times_inside() -> None:
    # daily bars, constant 0.01 % every 8 h: three funding times per bar, settled together
    # at each bar's open: a long of 1 at 100 held over bars 1..2 pays 2 × 3 × 0.01 = 0.06
    day = 24 * HOUR
    data = market([flat(100)] * 4, timeframe_ms=day)
    result = run_script(data, {0: [buy(1)], 2: [lambda s: s.close()]}, funding_rate=0.0001)
    assert result.trades.iloc[0].funding == pytest.approx(-0.06)


# --------------------------------------------------------------------------------------------
# Hedge mode, tiers, isolated vs cross
# --------------------------------------------------------------------------------------------


def test_hedge_mode_holds_both_legs() -> None:
    # long 1 and short 1 at 100; the LONG leg closes at 110 (+10); the SHORT leg runs to the
    # end and closes at 105 (−5). Net notional while both are open: 100 − 100 = 0.
    data = market([flat(100), flat(100), flat(110), flat(105)])
    result = run_script(
        data,
        {0: [buy(1), sell(1)], 1: [lambda s: s.close(leg="LONG")]},
        position_mode="hedge",
        leverage=10,
    )
    trades = result.trades.set_index("leg")
    assert trades.loc["LONG", "pnl"] == pytest.approx(10.0)
    assert trades.loc["SHORT", "pnl"] == pytest.approx(-5.0)
    assert trades.loc["SHORT", "exit_reason"] == "end_of_data"
    assert result.series["notional:BTC/USDT:USDT"].iloc[1] == 0.0
    # bar 2: only the short is left, at 110: −110
    assert result.series["notional:BTC/USDT:USDT"].iloc[2] == pytest.approx(-110.0)
    assert result.series["wallet"].iloc[-1] == pytest.approx(10_005.0)
    assert "liq:BTC/USDT:USDT:LONG" in result.series


def test_tier_changes_as_the_position_grows() -> None:
    # 2 at 100,000 = 200,000 notional: tier 1, MM = 200,000 × 0.004 = 800.
    # 2 more: 400,000 notional, tier 2: MM = 400,000 × 0.005 − 300 = 1,700.
    # Cross LP with wallet 10,000: 10,000 + 4(P − 100,000) = 0.005·4P − 300
    #   -> P = (10,000 − 400,000 + 300)/(0.02 − 4) = 97,914.5728...
    data = market([flat(100_000)] * 4)
    result = run_script(data, {0: [buy(2)], 1: [buy(2)]}, leverage=50)
    assert list(result.series["maintenance_margin"].iloc[1:3]) == pytest.approx([800.0, 1_700.0])
    assert result.series[LIQ].iloc[2] == pytest.approx(389_700 / 3.98, rel=1e-12)


def test_leverage_above_the_tier_of_the_grown_position_is_rejected() -> None:
    # 120x is allowed at 200,000 (tier 1 max 150) but not at 400,000 (tier 2 max 100)
    data = market([flat(100_000)] * 4)
    result = run_script(data, {0: [buy(2)], 1: [buy(2)]}, leverage=120)
    second = result.orders.set_index("id").loc[2]
    assert (second.status, second.reason) == ("rejected", "leverage_above_tier")
    assert "120" in second.message and "400000" in second.message
    assert result.trades.iloc[0]["size"] == 2.0


def test_isolated_is_liquidated_where_cross_survives() -> None:
    # long 1 at 100, 10x, bar low 85.
    # isolated: LP 90.36 -> liquidated, losing its margin 10.
    # cross with wallet 20: 20 + (P − 100) = 0.004·P -> LP = 80/0.996 = 80.32 < 85: survives;
    # closes at the end at 88: 20 − 12 = 8.
    data = market([flat(100), flat(100), DOWN_BAR, flat(88)])
    isolated = run_script(data, {0: [buy(1)]}, leverage=10, margin_mode="isolated", wallet=20.0)
    cross = run_script(data, {0: [buy(1)]}, leverage=10, wallet=20.0)
    assert isolated.trades.iloc[0].exit_reason == "liquidation"
    assert isolated.series["equity"].iloc[-1] == pytest.approx(10.0)
    assert cross.trades.iloc[0].exit_reason == "end_of_data"
    assert cross.series[LIQ].iloc[1] == pytest.approx(80 / 0.996, rel=1e-12)
    assert cross.series["equity"].iloc[-1] == pytest.approx(8.0)


# --------------------------------------------------------------------------------------------
# Several symbols in one cross pool: adverse extremes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("wallet", "liquidated"), [(20.5, True), (21.0, False)])
def test_cross_pool_tests_every_symbol_at_its_adverse_extreme(
    wallet: float, liquidated: bool
) -> None:
    # long 1 BTC at 100 and short 1 ETH at 100, 10x each (IM 10 + 10).
    # Bar 2: BTC mark low 90 (the long's adverse extreme), ETH mark high 110 (the short's).
    # Equity there = W − 10 − 10; MM = 0.004 × 90 + 0.004 × 110 = 0.8.
    # W = 20.5: 0.5 ≤ 0.8 -> liquidated; W = 21: 1.0 > 0.8 -> survives.
    btc = market([flat(100), flat(100), (100.0, 101.0, 90.0, 100.0), flat(100)])
    eth = market([flat(100), flat(100), (100.0, 110.0, 99.0, 100.0), flat(100)], symbol=ETH)
    result = run_script(
        portfolio(btc, eth),
        {0: [buy(1), lambda s: s.sell(data=s.datas[1], size=1)]},
        leverage=10,
        wallet=wallet,
    )
    reasons = set(result.trades["exit_reason"])
    if liquidated:
        assert reasons == {"liquidation"}
        # Binance closes the pool at bankruptcy: the whole wallet is lost; what was left at
        # the extremes (20.5 − 20 = 0.5) goes to the insurance fund (clearance fee 0)
        assert result.series["wallet"].iloc[-1] == pytest.approx(0.0)
        assert result.metrics["insurance_fund"] == pytest.approx(0.5)
        # exits at the extremes; the pool's 0.5 split by notional at execution (90 : 110):
        # BTC −10 − 0.5 × 90/200 = −10.225, ETH −10 − 0.5 × 110/200 = −10.275
        trades = result.trades.set_index("symbol")
        assert trades.loc[BTC, "exit_price"] == 90.0
        assert trades.loc[ETH, "exit_price"] == 110.0
        assert trades.loc[BTC, "pnl"] == pytest.approx(-10.225)
        assert trades.loc[ETH, "pnl"] == pytest.approx(-10.275)
    else:
        assert reasons == {"end_of_data"}
        assert result.series["equity"].iloc[-1] == pytest.approx(21.0)


def test_several_symbol_cross_liquidation_prices_move_with_the_other_mark() -> None:
    # long 1 BTC at 100, short 1 ETH at 100, wallet 21. BTC's LP holds ETH at its mark:
    # 21 + (P − 100) + (100 − M_eth) = 0.004·P + 0.004·M_eth.
    # M_eth = 100: P = (21 − 0.4)/... -> 0.996·P = 79.4 -> P = 79.7189;
    # M_eth = 105 (bar 2 close): 0.996·P = 84.42 -> P = 84.7590
    btc = market([flat(100), flat(100), flat(100), flat(100)])
    eth = market([flat(100), flat(100), flat(105), flat(105)], symbol=ETH)
    result = run_script(
        portfolio(btc, eth),
        {0: [buy(1), lambda s: s.sell(data=s.datas[1], size=1)]},
        leverage=10,
        wallet=21.0,
    )
    assert result.series[LIQ].iloc[1] == pytest.approx(79.4 / 0.996, rel=1e-12)
    assert result.series[LIQ].iloc[2] == pytest.approx(84.42 / 0.996, rel=1e-12)


# --------------------------------------------------------------------------------------------
# A finer timeframe defines the path
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("with_fine", "reason"), [(False, "stop_loss"), (True, "take_profit")])
def test_sub_bars_decide_which_exit_comes_first(with_fine: bool, reason: str) -> None:
    # 1 h bar O100 H110 L90 C105 closes up: its own path goes O -> L -> H, so the stop at 92
    # fills before the take-profit at 108. Its 15 m sub-bars rise to 110 first, then fall to
    # 90: with them the take-profit fills first.
    main = market([flat(100), flat(100), (100.0, 110.0, 90.0, 105.0), flat(105)])
    quarter = 15 * 60_000
    sub = [
        (100.0, 110.0, 100.0, 110.0),
        (110.0, 110.0, 95.0, 95.0),
        (95.0, 95.0, 90.0, 92.0),
        (92.0, 105.0, 92.0, 105.0),
    ]
    fine = market([flat(100)] * 8 + sub + [flat(105)] * 4, timeframe_ms=quarter)
    result = run(
        Scripted,
        main,
        config(),
        params={
            "script": {
                0: [buy(1)],
                1: [
                    sell(1, price=92, exectype="stop", reduce_only=True),
                    sell(1, price=108, exectype="take_profit", reduce_only=True),
                ],
            }
        },
        fine=fine if with_fine else None,
    )
    assert result.trades.iloc[0].exit_reason == reason


@pytest.mark.parametrize(
    ("eth_sub", "liquidated"),
    [
        # ETH dips in the third quarter, after BTC recovered: never both down together
        ([flat(100), flat(100), (100.0, 100.0, 85.0, 95.0), (95.0, 100.0, 95.0, 100.0)], False),
        # ETH dips in the first quarter, with BTC: the pool breaks there
        ([(100.0, 100.0, 85.0, 95.0), (95.0, 100.0, 95.0, 100.0), flat(100), flat(100)], True),
    ],
)
def test_sub_bars_refine_the_adverse_test_of_a_cross_pool_over_symbols(
    eth_sub: list[tuple[float, float, float, float]], liquidated: bool
) -> None:
    # Cross, wallet 25, no fees: long 1 BTC and 1 ETH at 100 (10x; bar 1's open). In the 1h
    # bar 2 both trade down to 85 and back to 100. At the bar's adverse extremes together:
    # equity 25 - 15 - 15 = -5 < MM, liquidated. BTC's 15m sub-bars dip to 85 in the first
    # quarter; with one symbol down at 85 and the other at 100, equity is 25 - 15 = 10, far
    # above MM (under 1: 0.4-0.5 % of ~185 of notional), so the pool breaks only when the
    # two dips share a quarter.
    bar = (100.0, 100.0, 85.0, 100.0)
    btc = market([flat(100), flat(100), bar, flat(100)])
    eth = market([flat(100), flat(100), bar, flat(100)], symbol=ETH)
    quarter = 15 * 60_000
    btc_sub = [(100.0, 100.0, 85.0, 95.0), (95.0, 100.0, 95.0, 100.0), flat(100), flat(100)]
    fine = portfolio(
        market([flat(100)] * 8 + btc_sub + [flat(100)] * 4, timeframe_ms=quarter),
        market([flat(100)] * 8 + eth_sub + [flat(100)] * 4, symbol=ETH, timeframe_ms=quarter),
    )
    script = {0: [buy(1), lambda s: s.buy(data=s.datas[1], size=1)]}
    params = {"script": script, "watch": None}
    cfg = config(leverage=10, wallet=25.0)
    coarse = run(Scripted, portfolio(btc, eth), cfg, params=params)
    detailed = run(Scripted, portfolio(btc, eth), cfg, params=params, fine=fine)
    assert list(coarse.trades["exit_reason"]) == ["liquidation", "liquidation"]
    reasons = ["liquidation"] * 2 if liquidated else ["end_of_data"] * 2
    assert list(detailed.trades["exit_reason"]) == reasons
    if not liquidated:
        assert detailed.series["equity"].iloc[-1] == pytest.approx(25.0, abs=1e-9)


# --------------------------------------------------------------------------------------------
# Signal rules reach liquidation the same way
# --------------------------------------------------------------------------------------------


def test_signal_stop_beyond_liquidation_is_pre_empted() -> None:
    # stake 10 at 10x -> 1 contract at 100, isolated margin 10, LP 90.36.
    # stoploss −100 % of the stake -> stop at 100 × (1 − 1/10) = 90 (beyond the LP):
    # the bar down to 85 liquidates first; the loss is the stake of 10.
    data = market([flat(100), flat(100), DOWN_BAR, flat(88)])
    n = len(data)
    table = signals(data, SignalRules(stoploss=-1.0), BTC={"enter_long": at(n, 0)})
    result = run_signals(
        data, table, config(stake_amount=10.0, leverage=10, margin_mode="isolated")
    )
    trade = result.trades.iloc[0]
    assert trade.exit_reason == "liquidation"
    assert trade.pnl == pytest.approx(-10.0)


# --------------------------------------------------------------------------------------------
# Venue outcome models, through the account
# --------------------------------------------------------------------------------------------

HL = "BTC/USDC:USDC"


def test_binance_clearance_fee_takes_what_is_left_at_the_liquidation_price() -> None:
    # isolated 10x long 1 at 100, LP 90.3614; at the LP the equity left equals the MM:
    # 0.004 × 90.3614 = 0.361446; the fee 1 % × 90.3614 = 0.9036 is capped at it.
    # The trader loses the margin of 10 either way; the fund gets nothing.
    result = run_script(
        market([flat(100), flat(100), DOWN_BAR, flat(88)]),
        {0: [buy(1)]},
        leverage=10,
        margin_mode="isolated",
        clearance_fee_rate=0.01,
    )
    assert result.trades.iloc[0].pnl == pytest.approx(-10.0)
    assert result.metrics["liquidation_fees"] == pytest.approx(0.004 * ISO_LP)
    assert result.metrics["insurance_fund"] == pytest.approx(0.0, abs=1e-12)


def test_hyperliquid_market_close_lets_the_trader_keep_the_rest() -> None:
    # Hyperliquid BTC tier 1: MMR 1.25 %. Isolated 10x long 1 at 100: margin 10,
    # LP: 10 + (P − 100) = 0.0125·P -> P = 90/0.9875 = 91.1392. Closed at the LP with no fee:
    # the trader keeps 10 − (100 − 91.1392) = 1.1392 (= the MM there), losing 8.8608
    lp = 90 / 0.9875
    result = run_script(
        market([flat(100), flat(100), DOWN_BAR, flat(88)], symbol=HL),
        {0: [buy(1)]},
        venue="hyperliquid",
        leverage=10,
        margin_mode="isolated",
    )
    trade = result.trades.iloc[0]
    assert trade.exit_reason == "liquidation"
    assert trade.exit_price == pytest.approx(lp, rel=1e-12)
    assert trade.pnl == pytest.approx(lp - 100.0, rel=1e-9)
    assert result.series["equity"].iloc[-1] == pytest.approx(10_000 + lp - 100.0)


def test_hyperliquid_backstop_takes_the_margin_on_a_gap() -> None:
    # the same position gapped to 80: equity at execution 10 − 20 = −10 is below ⅔ of the MM,
    # so the liquidator vault takes the position and the whole margin of 10
    result = run_script(
        market(GAP, symbol=HL),
        {0: [buy(1)]},
        venue="hyperliquid",
        leverage=10,
        margin_mode="isolated",
    )
    assert result.trades.iloc[0].pnl == pytest.approx(-10.0)
    vault = result.ledger[result.ledger["debit"] == "liquidator_vault"]
    assert vault["amount"].sum() == pytest.approx(10.0)
