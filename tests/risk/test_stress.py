"""Stress tests: liquidating moves, ladders, historical shocks, crash replay and the bootstrap
probability of liquidation — on accounts whose figures are worked out by hand in the comments,
and on the recorded 2025-10-10 crash."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from risk_helpers import BINANCE, BTC, ETH, HOUR, binance_tier1, cross_btc_eth, one_tier

from levtrade.calculator import Scenario
from levtrade.data import OHLC, MarketData, Portfolio
from levtrade.errors import ConfigError
from levtrade.margin import Account
from levtrade.risk import PriceHistory, StressTest, stress_report

JOINT_LIQ = -8_500 / 148_500  # cross_btc_eth: 10,000 + 150,000 m = 1,500 (1 + m)
BTC_LIQ = -8_500 / 99_000  # BTC alone: 10,000 + 100,000 m = 1,000 (1 + m) + 500
ETH_LIQ = -8_500 / 49_500  # ETH alone: 10,000 + 50,000 m = 500 (1 + m) + 1,000


def mixed() -> Account:
    """BN-03 isolated long 1 BTC @100,000 with 5,000 margin (LP 95,381.53) beside a cross short
    10 ETH @3,000 on a 1,000 wallet at MMR 1 %: 1,000 − 10 (P − 3,000) = 0.1 P →
    P = 31,000/10.1 = 3,069.31, a rise of 2.31 %."""
    acct = Account(
        BINANCE,
        1_000.0,
        tier_provider=lambda i: binance_tier1(i.symbol) if i is BTC else one_tier(i.symbol),
    )
    acct.load_position(
        BTC,
        size=1.0,
        entry_price=100_000.0,
        leverage=20,
        margin_mode="isolated",
        isolated_margin=5_000.0,
    )
    acct.load_position(ETH, size=-10.0, entry_price=3_000.0, leverage=10, margin_mode="cross")
    return acct


def test_liquidating_moves_by_hand() -> None:
    moves = StressTest(cross_btc_eth()).liquidation_moves()
    btc, eth = moves.positions
    assert btc.move == pytest.approx(BTC_LIQ)  # LP 91,414.14
    assert btc.liquidation_price == pytest.approx(100_000 * (1 + BTC_LIQ))
    assert eth.move == pytest.approx(ETH_LIQ)
    # jointly: −8,500/148,500 = −5.724 %, found by scan + bisection on the account's trigger
    assert moves.account_down == pytest.approx(JOINT_LIQ, abs=1e-9)
    assert btc.joint_move == eth.joint_move == moves.account_down
    assert moves.first_down == moves.account_down
    # two longs never liquidate on a rise
    assert moves.account_up is None and moves.first_up is None


def test_scan_agrees_with_the_closed_form_liquidation_price() -> None:
    test = StressTest(cross_btc_eth())
    ladder = test.ladder([BTC_LIQ - 1e-6, BTC_LIQ + 1e-6], ["BTC/USDT:USDT"])
    assert [row.liquidated for row in ladder.rows] == [
        ("BTC/USDT:USDT long", "ETH/USDT:USDT long"),
        (),
    ]


def test_isolated_and_cross_pools() -> None:
    moves = StressTest(mixed()).liquidation_moves()
    btc, eth = moves.positions
    # BN-03: (100,000 − 5,000)/0.996 = 95,381.53 → −4.6185 %
    assert btc.liquidation_price == pytest.approx(95_381.53, abs=0.01)
    assert btc.move == pytest.approx(95_000 / 0.996 / 100_000 - 1)
    assert btc.joint_move == pytest.approx(btc.move, abs=1e-9)
    # the cross short: 31,000/10.1 = 3,069.31 → +2.3102 %
    assert eth.move == pytest.approx(31_000 / 10.1 / 3_000 - 1)
    assert moves.account_up == pytest.approx(eth.move, abs=1e-9)
    assert moves.account_down is None  # the short only gains on a fall
    assert moves.first_down == pytest.approx(btc.move, abs=1e-9)


def test_joint_ladder_by_hand() -> None:
    ladder = StressTest(cross_btc_eth()).ladder([-0.1, -0.05, 0.0, 0.05])
    assert ladder.name == "joint"
    rows = {row.move: row for row in ladder.rows}
    # −10 %: 10,000 − 15,000 = −5,000, both liquidated on the way (at −5.72 %); capped at 0
    assert rows[-0.1].equity == pytest.approx(-5_000.0)
    assert rows[-0.1].capped_equity == 0.0
    assert math.isinf(rows[-0.1].margin_ratio)
    assert rows[-0.1].liquidated == ("BTC/USDT:USDT long", "ETH/USDT:USDT long")
    # −5 %: equity 2,500, MM 1,500·0.95 = 1,425 → 0.57
    assert rows[-0.05].equity == pytest.approx(2_500.0)
    assert rows[-0.05].pnl == pytest.approx(-7_500.0)
    assert rows[-0.05].margin_ratio == pytest.approx(0.57)
    assert rows[-0.05].liquidated == ()
    # now: 1,500/10,000; +5 %: 1,575/17,500 = 0.09
    assert rows[0.0].margin_ratio == pytest.approx(0.15)
    assert rows[0.05].margin_ratio == pytest.approx(0.09)


def test_single_symbol_ladders() -> None:
    ladders = StressTest(cross_btc_eth()).ladders([-0.1, -0.05])
    assert [ladder.name for ladder in ladders] == ["joint", "BTC/USDT:USDT", "ETH/USDT:USDT"]
    btc = ladders[1].rows
    # BTC −10 %: equity 0, past its −8.59 % liquidation: the whole cross pool goes
    assert btc[0].equity == pytest.approx(0.0)
    assert len(btc[0].liquidated) == 2
    # BTC −5 %: equity 5,000, MM 950 + 500 → 0.29
    assert btc[1].equity == pytest.approx(5_000.0)
    assert btc[1].margin_ratio == pytest.approx(0.29)
    # ETH −10 % of 50,000: equity 5,000 (liquidation is at −17.2 %)
    eth = ladders[2].rows
    assert eth[0].equity == pytest.approx(5_000.0)
    assert eth[0].liquidated == ()


def history(
    closes: dict[str, list[float]],
    lows: dict[str, list[float]] | None = None,
    highs: dict[str, list[float]] | None = None,
    start: int = 0,
) -> PriceHistory:
    """Hourly bars: open = previous close (first: the close), high/low = max/min(open, close)
    unless given."""
    symbols = tuple(closes)
    c = np.column_stack([closes[s] for s in symbols]).astype(float)
    o = np.vstack([c[:1], c[:-1]])
    low = np.minimum(o, c) if lows is None else np.column_stack([lows[s] for s in symbols])
    high = np.maximum(o, c) if highs is None else np.column_stack([highs[s] for s in symbols])
    times = start + np.arange(c.shape[0], dtype=np.int64) * HOUR
    return PriceHistory(
        symbols,
        HOUR,
        times,
        o,
        high.astype(float),
        low.astype(float),
        c,
        ("mark",) * 2,
        ("test",) * 2,
    )


SHOCKS = {
    "BTC/USDT:USDT": [100_000.0, 95_000.0, 92_000.0, 99_000.0],
    "ETH/USDT:USDT": [5_000.0, 4_900.0, 4_500.0, 5_000.0],
}


def test_historical_one_bar_shocks() -> None:
    report = StressTest(cross_btc_eth()).historical_shocks(history(SHOCKS), window=1, top=2)
    assert (report.windows, report.liquidating_windows) == (3, 0)
    worst, second = report.worst
    # bar 1 → 2: BTC 92/95 − 1 = −3.158 %, ETH 4,500/4,900 − 1 = −8.163 %:
    # 10,000 − 100,000·0.031579 − 50,000·0.081633 = 2,760.48
    assert worst.start == HOUR and worst.end == 2 * HOUR
    assert worst.moves["BTC/USDT:USDT"] == pytest.approx(92 / 95 - 1)
    expected = 10_000 + 100_000 * (92 / 95 - 1) + 50_000 * (4_500 / 4_900 - 1)
    assert worst.equity == pytest.approx(expected)
    # bar 0 → 1: −5 %, −2 %: 10,000 − 5,000 − 1,000 = 4,000; MM 0.01·(95,000 + 49,000)
    assert second.equity == pytest.approx(4_000.0)
    assert second.margin_ratio == pytest.approx(1_440 / 4_000)


def test_historical_two_bar_shocks_liquidate() -> None:
    report = StressTest(cross_btc_eth()).historical_shocks(history(SHOCKS), window=2, top=5)
    # bars 0 → 2: −8 % and −10 %: 10,000 − 8,000 − 5,000 = −3,000; the other window rises
    assert (report.windows, report.liquidating_windows) == (2, 1)
    assert len(report.worst) == 1  # the two windows overlap: one episode
    assert report.worst[0].equity == pytest.approx(-3_000.0)
    assert report.worst[0].adverse_moves == pytest.approx(
        {"BTC/USDT:USDT": -0.08, "ETH/USDT:USDT": -0.1}
    )
    assert report.worst[0].liquidated == ("BTC/USDT:USDT long", "ETH/USDT:USDT long")


def test_history_from_market_data_prefers_marks_on_common_bars() -> None:
    def market(symbol: str, start: int, close: list[float], mark: bool) -> MarketData:
        c = np.array(close)
        times = start + np.arange(c.size, dtype=np.int64) * HOUR
        candles = OHLC(c * 2, c * 2 + 1, c * 2 - 1, c * 2) if mark else None
        return MarketData(symbol, HOUR, times, c, c + 1, c - 1, c, np.ones(c.size), mark=candles)

    btc = market("BTC/USDT:USDT", 0, [10.0, 11.0, 12.0], mark=True)
    eth = market("ETH/USDT:USDT", HOUR, [5.0, 6.0, 7.0], mark=False)
    data = PriceHistory.from_markets(Portfolio.from_markets([btc, eth]))
    # common bars: hours 1 and 2; BTC from its marks (2 × close), ETH from its trades
    assert data.timestamps.tolist() == [HOUR, 2 * HOUR]
    assert data.close.tolist() == [[22.0, 5.0], [24.0, 6.0]]
    assert data.kinds == ("mark", "trade")
    assert PriceHistory.from_markets([btc, eth], prefer_mark=False).close[0].tolist() == [
        11.0,
        5.0,
    ]


def test_correlation_of_returns() -> None:
    # ETH = BTC²/100: its log returns are twice BTC's → correlation 1
    btc = [100.0, 110.0, 99.0, 105.0]
    report = StressTest(cross_btc_eth()).historical_shocks(
        history({"BTC/USDT:USDT": btc, "ETH/USDT:USDT": [p * p / 100 for p in btc]}), window=1
    )
    assert report.correlation["BTC/USDT:USDT"]["ETH/USDT:USDT"] == pytest.approx(1.0)


def test_crash_replay_scaled_to_the_marks() -> None:
    # history at half the account's prices (scale 2): BTC opens 50,000, ETH 2,500
    data = history(
        {
            "BTC/USDT:USDT": [49_500.0, 46_000.0, 46_500.0],
            "ETH/USDT:USDT": [2_475.0, 2_350.0, 2_340.0],
        },
        lows={
            "BTC/USDT:USDT": [49_000.0, 45_000.0, 45_500.0],
            "ETH/USDT:USDT": [2_450.0, 2_300.0, 2_320.0],
        },
        highs={
            "BTC/USDT:USDT": [50_100.0, 49_600.0, 47_000.0],
            "ETH/USDT:USDT": [2_500.0, 2_480.0, 2_360.0],
        },
        start=10 * HOUR,
    )
    data = PriceHistory(
        data.symbols,
        HOUR,
        data.timestamps,
        np.array([[50_000.0, 2_500.0], [49_500.0, 2_475.0], [46_000.0, 2_350.0]]),
        data.high,
        data.low,
        data.close,
        data.kinds,
        data.sources,
    )
    replay = StressTest(cross_btc_eth()).crash_replay(data, None, None)
    bar0, bar1, bar2 = replay.bars
    # bar 0 lows ×2: 98,000 and 4,900 → 10,000 − 2,000 − 1,000 = 7,000; MM 1,470: safe
    assert bar0.equity_at_extreme == pytest.approx(7_000.0)
    # close 99,000 and 4,950 → 10,000 − 1,000 − 500 = 8,500
    assert bar0.equity == pytest.approx(8_500.0)
    assert bar0.marks == pytest.approx({"BTC/USDT:USDT": 99_000.0, "ETH/USDT:USDT": 4_950.0})
    # bar 1 lows: 90,000 and 4,600 → 10,000 − 10,000 − 4,000 < 0: the cross pool is liquidated
    # there; Binance closes it at bankruptcy, the trader loses the 10,000 wallet
    (event,) = replay.events
    assert event.time == 11 * HOUR and event.pool == "cross"
    assert event.positions == ("BTC/USDT:USDT long", "ETH/USDT:USDT long")
    assert event.prices == pytest.approx({"BTC/USDT:USDT": 90_000.0, "ETH/USDT:USDT": 4_600.0})
    assert event.trader_loss == pytest.approx(10_000.0)
    assert bar1.liquidated == event.positions and bar1.equity_at_extreme == 0.0
    assert bar2.equity == 0.0
    assert (replay.min_equity, replay.final_equity) == (0.0, 0.0)
    assert replay.start == 10 * HOUR and replay.end == 13 * HOUR


def test_crash_replay_liquidates_only_the_isolated_pool() -> None:
    # BN-03 LP 95,381.53: a low of −4 % (96,000) survives, −5 % (95,000) does not; the cross
    # ETH short is held flat
    data = history(
        {"BTC/USDT:USDT": [99_000.0, 98_000.0], "ETH/USDT:USDT": [3_000.0, 3_000.0]},
        lows={"BTC/USDT:USDT": [96_000.0, 95_000.0], "ETH/USDT:USDT": [3_000.0, 3_000.0]},
        highs={"BTC/USDT:USDT": [100_000.0, 99_000.0], "ETH/USDT:USDT": [3_000.0, 3_000.0]},
    )
    data = PriceHistory(
        data.symbols,
        HOUR,
        data.timestamps,
        np.array([[100_000.0, 3_000.0], [99_000.0, 3_000.0]]),
        data.high,
        data.low,
        data.close,
        data.kinds,
        data.sources,
    )
    replay = StressTest(mixed()).crash_replay(data, None, None)
    (event,) = replay.events
    assert event.time == HOUR and event.positions == ("BTC/USDT:USDT long",)
    # closed at bankruptcy: the isolated 5,000 is lost; the cross wallet 1,000 remains
    assert event.trader_loss == pytest.approx(5_000.0)
    assert replay.final_equity == pytest.approx(1_000.0)


# -- bootstrap: BTC and ETH move together by +2 % or −4 % a bar; the pool liquidates at a joint
# fall of 5.724 %. Horizon 1: never. Horizon 2: only (−4, −4) → 0.9216: P = 1/4. Horizon 3:
# (−,−,·) ×2, (−,+,−) and (+,−,−) reach 0.96·1.02·0.96 = 0.9400 → P = 4/8 = 1/2.
UPDOWN = history({"BTC/USDT:USDT": [100.0, 102.0, 97.92], "ETH/USDT:USDT": [50.0, 51.0, 48.96]})


@pytest.mark.parametrize(("horizon", "expected"), [(1, 0.0), (2, 0.25), (3, 0.5)])
def test_bootstrap_probability(horizon: int, expected: float) -> None:
    result = StressTest(cross_btc_eth()).liquidation_probability(
        UPDOWN, horizon=horizon, paths=4_000, seed=7
    )
    assert result.probability == pytest.approx(expected, abs=4 * math.sqrt(0.25 / 4_000))
    p = result.probability
    assert result.standard_error == pytest.approx(math.sqrt(p * (1 - p) / 4_000))
    assert result.by_position["BTC/USDT:USDT long"] == result.probability


def test_bootstrap_is_reproducible_and_blocks_keep_order() -> None:
    test = StressTest(cross_btc_eth())
    first = test.liquidation_probability(UPDOWN, horizon=3, paths=500, seed=3)
    again = test.liquidation_probability(UPDOWN, horizon=3, paths=500, seed=3)
    assert first == again
    # blocks of 2 bars from 2 rows: always (+2 %, −4 %): 0.9792 per pair; 0.9792² = 0.9588
    # stays above the limit, 0.9792³ = 0.9389 reaches it at bar 6
    assert test.liquidation_probability(UPDOWN, horizon=4, paths=50, block=2).probability == 0
    sure = test.liquidation_probability(UPDOWN, horizon=6, paths=50, block=2)
    assert sure.probability == 1.0 and sure.mean_bars_to_liquidation == 6.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"horizon": 0}, "horizon: must be a whole number ≥ 1, got 0"),
        ({"horizon": -3}, "horizon: must be a whole number ≥ 1, got -3"),
        ({"horizon": 2, "paths": 0}, "paths: must be a whole number ≥ 1, got 0"),
        ({"horizon": 2, "seed": -1}, "seed: must be a whole number ≥ 0, got -1"),
        ({"horizon": 2, "block": 3}, "block: 3 bars needs at least 4 bars of history, got 3"),
    ],
)
def test_bad_bootstrap_inputs(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError) as info:
        StressTest(cross_btc_eth()).liquidation_probability(UPDOWN, **kwargs)  # type: ignore[arg-type]
    assert message in str(info.value)


def test_bad_stress_inputs() -> None:
    test = StressTest(cross_btc_eth())
    with pytest.raises(ConfigError, match=r"moves\[1\]: -1.5 would take prices to ≤ 0"):
        test.ladder([0.1, -1.5])
    with pytest.raises(ConfigError, match="symbols: SOL/USDT:USDT not among"):
        test.ladder([0.1], ["SOL/USDT:USDT"])
    with pytest.raises(ConfigError, match="window: 5 bars needs more than the 4 bars"):
        test.historical_shocks(history(SHOCKS), window=5)
    with pytest.raises(ConfigError, match="replay: no bars between"):
        test.crash_replay(history(SHOCKS), 100 * HOUR, 101 * HOUR)
    with pytest.raises(ConfigError, match="data: no price history for SOL/USDT:USDT"):
        history(SHOCKS).select(["SOL/USDT:USDT"])
    empty = Scenario.model_validate({"venue": "binance", "wallet_balance": 100.0})
    with pytest.raises(ConfigError, match="positions: the account has no open positions"):
        StressTest(empty)


def test_the_account_is_not_changed() -> None:
    acct = cross_btc_eth()
    test = StressTest(acct)
    test.ladders([-0.5, 0.5])
    test.crash_replay(history(SHOCKS), None, None)
    assert acct.mark_price("BTC/USDT:USDT") == 100_000.0
    assert len(acct.positions) == 2 and acct.wallet_balance == 10_000.0


# ============================================================================================
# Recorded data: the 2025-10-10 crash (../shared/data, skipped when absent)
# ============================================================================================

THREE = {
    "venue": "binance",
    "wallet_balance": 10_000.0,
    "positions": [
        {
            "symbol": "BTC/USDT:USDT",
            "side": "long",
            "size": 0.5,
            "entry_price": 115_000.0,
            "mark_price": 117_590.8,
            "leverage": 20,
            "margin_mode": "cross",
        },
        {
            "symbol": "ETH/USDT:USDT",
            "side": "long",
            "size": 10.0,
            "entry_price": 4_000.0,
            "mark_price": 4_092.01,
            "leverage": 20,
            "margin_mode": "cross",
        },
        {
            "symbol": "SOL/USDT:USDT",
            "side": "short",
            "size": 150.0,
            "entry_price": 215.0,
            "mark_price": 209.55,
            "leverage": 10,
            "margin_mode": "cross",
            "tiers": [{"floor": 0, "mmr": 0.005, "max_leverage": 100}],
        },
    ],
}


def test_replay_of_2025_10_10_from_the_mark_candles(shared_data: Any) -> None:
    scenario = Scenario.model_validate(THREE)
    symbols = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
    data = PriceHistory.from_dir(shared_data / "binance_um_freqtrade_harthor", symbols)
    assert set(data.kinds) == {"mark"} and data.timeframe == "1h"
    window = data.between("2025-10-10T18:00:00Z", "2025-10-11T00:00:00Z")
    # README: the ETH mark low of the crash was 3,425 (last price 3,400)
    assert window.low[:, 1].min() == pytest.approx(3_425.34, abs=0.01)
    # the scenario's marks are the 18:00 opens, so the path is replayed at its own prices
    assert window.open[0] == pytest.approx([117_590.8, 4_092.01, 209.55])
    replay = StressTest(scenario).crash_replay(data)
    # by hand at each bar's adverse extremes (BTC, ETH lows; SOL high), Binance tier 1 0.4 %
    # for BTC and ETH, 0.5 % for SOL: equity = 10,000 + 0.5 (L_btc − 115,000)
    # + 10 (L_eth − 4,000) + 150 (215 − H_sol); MM = 0.4 %·(0.5 L_btc + 10 L_eth) + 0.5 %·150 H
    first_liquidated = None
    for i in range(len(window)):
        l_btc, l_eth, h_sol = window.low[i, 0], window.low[i, 1], window.high[i, 2]
        equity = 10_000 + 0.5 * (l_btc - 115_000) + 10 * (l_eth - 4_000) + 150 * (215 - h_sol)
        mm = 0.004 * (0.5 * l_btc + 10 * l_eth) + 0.005 * 150 * h_sol
        if equity <= mm:
            first_liquidated = int(window.timestamps[i])
            break
    assert first_liquidated is not None
    (event,) = replay.events
    assert event.time == first_liquidated
    assert len(event.positions) == 3 and event.trader_loss == pytest.approx(10_000.0)


def test_report_with_recorded_history(shared_data: Any) -> None:
    scenario = Scenario.model_validate(THREE)
    symbols = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
    data = PriceHistory.from_dir(shared_data / "binance_um_freqtrade_harthor", symbols)
    report = stress_report(scenario, history=data, paths=200, horizon=24)
    assert report["replay"]["liquidated"] == [
        "BTC/USDT:USDT long",
        "ETH/USDT:USDT long",
        "SOL/USDT:USDT short",
    ]
    assert report["historical_shocks"]["windows"] == len(data) - 24
    probability = report["liquidation_probability"]
    assert probability["paths"] == 200 and 0.0 <= probability["probability"] <= 1.0
    assert report["notes"] == []
