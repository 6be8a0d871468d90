"""Spot and spot-margin backtests (``trading_mode = "spot"`` / ``"margin"``).

Hand-made hourly bars (backtest_helpers) with every expected number worked out beside its
assertion: fills at the next open, fees in the asset received (Binance 0.1 %), hourly interest
(the first hour at the borrow, repayment on the hour before that hour's charge; MARGIN_SPEC.md
§11.1), Binance's 1.1 liquidation level and 2 % liquidation fee. Then FreqTrade's sample
strategy on real Binance spot candles (../shared), spot and margin at 3x, with each trade's
interest checked against the hourly count of MARGIN_SPEC.md §11.1.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from backtest_helpers import HOUR, T0, at, config, flat, market, signals

from levtrade.backtest import BacktestConfig, run
from levtrade.backtest.spot_engine import SPOT_NOTE
from levtrade.data import load_market
from levtrade.errors import ConfigError
from levtrade.margin import spot_formulas as sf
from levtrade.strategy.signals import SignalRules

BTC_SPOT = "BTC/USDT"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "strategies"


def two_trips(n: int = 4) -> Any:
    """Enter at bar 0's close (fills at bar 1's open), exit at bar 2's close (bar 3's open)."""
    return {"enter_long": at(n, 0), "exit_long": at(n, 2)}


def spot_config(**fields: Any) -> BacktestConfig:
    values: dict[str, Any] = {"stake_amount": 1000.0}
    values.update(fields)
    return config(**values)


def test_margin_long_round_trip_by_hand() -> None:
    data = market([flat(100.0), flat(100.0), flat(110.0), flat(110.0)], symbol=BTC_SPOT)
    table = signals(data, **{BTC_SPOT: two_trips()})
    result = run(
        table,
        data,
        spot_config(
            trading_mode="margin",
            leverage=3,
            maker_fee=0.001,
            taker_fee=0.001,
            interest_rates={"USDT": 0.0001},
        ),
    )
    (trade,) = result.trades.itertuples()
    # 1,000 stake × 3 / 100 = 30 BTC bought with 1,000 own + 2,000 borrowed; the fee is 0.03
    # BTC, so 29.97 are held; interest 2,000 × 0.01 % = 0.20 at the borrow (01:00) and at
    # 02:00; the exit at 03:00 repays before that hour's charge
    assert (trade.entry_price, trade.exit_price) == (100.0, 110.0)
    assert trade.size == pytest.approx(29.97, rel=1e-12)
    assert trade.interest == pytest.approx(0.4, rel=1e-12)
    # fees: 0.03 BTC × 100 + 0.1 % of 29.97 × 110 = 3 + 3.2967
    assert trade.fees == pytest.approx(6.2967, rel=1e-12)
    # pnl: 10 × 29.97 − 6.2967 − 0.4 = 293.0033
    assert trade.pnl == pytest.approx(293.0033, rel=1e-12)
    assert result.metrics["final_equity"] == pytest.approx(10_293.0033, rel=1e-12)
    assert result.metrics["interest_paid"] == pytest.approx(0.4, rel=1e-12)
    assert result.metrics["fees"] == pytest.approx(6.2967, rel=1e-12)
    assert result.metrics["max_liabilities"] == pytest.approx(2000.4, rel=1e-12)
    series = result.series
    # bar 1's close: (9,000 USDT + 29.97 × 100) / (2,000 + 0.20)
    assert series["margin_level"].iloc[1] == pytest.approx(11_997.0 / 2000.2, rel=1e-12)
    # bar 2's close: (9,000 + 29.97 × 110) / (2,000 + 0.40)
    assert series["margin_level"].iloc[2] == pytest.approx(12_296.7 / 2000.4, rel=1e-12)
    assert list(series["interest"]) == pytest.approx([0.0, 0.2, 0.4, 0.4])
    assert math.isnan(series["margin_level"].iloc[3])  # repaid: nothing owed
    assert result.metrics["min_margin_level"] == pytest.approx(11_997.0 / 2000.2, rel=1e-12)
    # the liquidation price solves 29.97·P + 9,000 = 1.1 × 2,000.2: P < 0, so the cross
    # pool (the whole wallet) has none
    assert (1.1 * 2000.2 - 9000.0) / 29.97 < 0
    assert math.isnan(series["liq:BTC/USDT"].iloc[1])
    ledger = result.ledger
    interest = ledger[(ledger["kind"] == "interest") & (ledger["debit"] == "interest")]
    assert list(interest["time"]) == [T0 + HOUR, T0 + 2 * HOUR]
    assert result.spot_account is not None and result.spot_account.books_balance()
    assert result.metadata["engine"] == "event" and SPOT_NOTE in result.metadata["notes"]


def test_spot_long_only_and_fees_in_the_asset_received() -> None:
    data = market([flat(100.0), flat(100.0), flat(110.0), flat(110.0)], symbol=BTC_SPOT)
    both = {**two_trips(), "enter_short": at(4, 2)}
    result = run(
        signals(data, SignalRules(can_short=True), **{BTC_SPOT: both}),
        data,
        spot_config(trading_mode="spot", maker_fee=0.001, taker_fee=0.001),
    )
    (trade,) = result.trades.itertuples()
    # 10 BTC for 1,000 less 0.01 BTC of fee; sold at 110: 1,098.9 less 1.0989
    assert trade.size == pytest.approx(9.99, rel=1e-12)
    assert trade.pnl == pytest.approx(99.9 - 1.0 - 1.0989, rel=1e-12)
    assert result.metrics["final_equity"] == pytest.approx(10_097.8011, rel=1e-12)
    assert result.metrics["interest_paid"] == 0.0
    rejected = result.orders[result.orders["status"] == "rejected"]
    assert list(rejected["message"]) == ["side: spot is long only (BTC/USDT)"]


def test_isolated_long_liquidated_on_the_path() -> None:
    # bar 2 falls to 70 (O→H→L→C: 100, 100, 70, 80); 30 BTC against 2,000 USDT: liquidation
    # where 30·P = 1.1 × 2,000, P = 73.333...
    data = market(
        [flat(100.0), flat(100.0), (100.0, 100.0, 70.0, 80.0), flat(80.0)], symbol=BTC_SPOT
    )
    result = run(
        signals(data, **{BTC_SPOT: {"enter_long": at(4, 0)}}),
        data,
        spot_config(
            trading_mode="margin", margin_mode="isolated", leverage=3, interest_rates={"USDT": 0}
        ),
    )
    (trade,) = result.trades.itertuples()
    assert trade.exit_reason == "liquidation"
    assert trade.exit_time == T0 + 2 * HOUR
    assert trade.exit_price == pytest.approx(2200.0 / 30.0, rel=1e-12)
    # sold for 2,200; fee 2 % of it = 44; 2,000 repaid; 156 back to the 9,000 of the wallet
    assert result.metrics["liquidation_fees"] == pytest.approx(44.0, rel=1e-12)
    assert result.metrics["liquidations"] == 1
    assert result.metrics["final_equity"] == pytest.approx(9_156.0, rel=1e-12)
    assert trade.pnl == pytest.approx(-844.0, rel=1e-12)
    account = result.spot_account
    assert account is not None
    assert account.balances("spot") == {"USDT": pytest.approx(9_156.0, rel=1e-12)}
    assert account.loans("BTC/USDT") == {}


def test_isolated_short_liquidated_on_the_path() -> None:
    # a 3x short borrows stake × (3 − 1) = 2,000 of BTC (20 BTC at 100) and sells it: the pool
    # holds 1,000 + 2,000 USDT and owes 20 BTC, margin level 3,000 / 2,000 = 1.5 (the borrow
    # level); liquidation where 3,000 / (20·P) = 1.1, P = 136.36...; bar 2 rises to 140
    data = market(
        [flat(100.0), flat(100.0), (100.0, 140.0, 100.0, 120.0), flat(120.0)], symbol=BTC_SPOT
    )
    result = run(
        signals(data, SignalRules(can_short=True), **{BTC_SPOT: {"enter_short": at(4, 0)}}),
        data,
        spot_config(
            trading_mode="margin",
            margin_mode="isolated",
            leverage=3,
            interest_rates={"BTC": 0, "USDT": 0},
        ),
    )
    (trade,) = result.trades.itertuples()
    assert trade.side == "short" and trade.exit_reason == "liquidation"
    assert trade.size == pytest.approx(20.0, rel=1e-12)
    price = 3000.0 / 22.0
    assert trade.exit_price == pytest.approx(price, rel=1e-12)
    # 20 BTC bought back for 2,727.27; fee 2 % of the 3,000 liquidated; 212.73 left
    assert result.metrics["final_equity"] == pytest.approx(
        9_000.0 + 3000.0 - 20.0 * price - 60.0, rel=1e-12
    )
    assert trade.pnl == pytest.approx(20.0 * (100.0 - price) - 60.0, rel=1e-12)


def test_a_short_at_1x_borrows_nothing() -> None:
    data = market([flat(100.0)] * 3, symbol=BTC_SPOT)
    result = run(
        signals(data, SignalRules(can_short=True), **{BTC_SPOT: {"enter_short": at(3, 0)}}),
        data,
        spot_config(trading_mode="margin", leverage=1, interest_rates={"BTC": 0, "USDT": 0}),
    )
    (order,) = result.orders.itertuples()
    assert order.status == "rejected" and order.reason == "leverage_above_tier"
    assert "a short borrows stake × (leverage − 1)" in order.message


@pytest.mark.parametrize(
    ("fields", "engine", "message"),
    [
        (
            {"trading_mode": "margin", "interest_rates": {"USDT": 0.0}},
            "compiled",
            "compiled kernel",
        ),
        ({"trading_mode": "spot", "leverage": 2}, "auto", "leverage: spot trades at 1x"),
        ({"trading_mode": "margin", "leverage": 5}, "auto", "margin maximum 3"),
        ({"trading_mode": "margin", "venue": "okx"}, "auto", "okx has no spot-margin profile"),
        ({"trading_mode": "margin", "position_mode": "hedge"}, "auto", "no hedge mode"),
        ({"interest_rates": {"USDT": 0.1}}, "auto", "futures pay funding, not interest"),
    ],
)
def test_spot_runs_refuse_what_they_cannot_do(
    fields: dict[str, Any], engine: str, message: str
) -> None:
    data = market([flat(100.0)] * 3, symbol=BTC_SPOT)
    with pytest.raises(ConfigError, match=message):
        run(
            signals(data, **{BTC_SPOT: {"enter_long": at(3, 0)}}),
            data,
            config(**fields),
            engine=engine,
        )


def test_a_margin_run_needs_the_rates_of_what_it_borrows() -> None:
    data = market([flat(100.0)] * 3, symbol=BTC_SPOT)
    longs = signals(data, **{BTC_SPOT: {"enter_long": at(3, 0)}})
    with pytest.raises(ConfigError, match="interest_rates: no binance rate for USDT"):
        run(longs, data, spot_config(trading_mode="margin", leverage=2))
    shorts = signals(data, SignalRules(can_short=True), **{BTC_SPOT: {"enter_long": at(3, 0)}})
    with pytest.raises(ConfigError, match="interest_rates: no binance rate for BTC"):
        run(shorts, data, spot_config(trading_mode="margin", interest_rates={"USDT": 0.0}))


# -- FreqTrade's sample strategy on real spot data -----------------------------------------


def freqtrade_sample() -> Any:
    sys.path.insert(0, str(EXAMPLES))
    try:
        from freqtrade_sample import FreqtradeSample
    finally:
        sys.path.remove(str(EXAMPLES))
    return FreqtradeSample()


RATES = {"USDT": 0.0000057, "BTC": 0.0000021}
"""Hourly rates for the run (an assumption of the test, not a venue figure)."""


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["spot", "margin"])
def test_freqtrade_sample_on_binance_spot_candles(shared_data: Path, mode: str) -> None:
    data = load_market(
        shared_data / "binance_spot_static_klines/BTCUSDT-1h-spot.parquet",
        symbol=BTC_SPOT,
        gaps="fill",
    )
    margin = mode == "margin"
    cfg = BacktestConfig(
        trading_mode=mode,
        leverage=3 if margin else 1,
        stake_amount=1000.0,
        interest_rates=RATES if margin else {},
    )
    result = run(freqtrade_sample(), data, cfg)
    trades = result.trades
    metrics = result.metrics
    assert len(trades) > 100
    account = result.spot_account
    assert account is not None and account.books_balance()
    # every trade's PnL adds up to the run's result
    assert trades["pnl"].sum() == pytest.approx(metrics["final_equity"] - 10_000.0, abs=1e-6)
    assert metrics["liquidations"] == int((trades["exit_reason"] == "liquidation").sum())
    assert set(trades["exit_reason"]) <= {"roi", "stop_loss", "signal", "end_of_data"}
    if not margin:
        assert metrics["interest_paid"] == 0.0 and (trades["side"] == "long").all()
        return
    # each trade borrowed 1,000 × (3 − 1) = 2,000 USDT and paid for every clock hour it was
    # open, the first at the borrow (MARGIN_SPEC.md §11.1). A signal exit fills at a bar's
    # open, before that hour's charge; a stop or ROI exit on the bar's path, after it (the
    # trade's exit_time is the bar's open time either way)
    on_path = trades["exit_reason"].isin(["roi", "stop_loss"]).to_numpy()
    hours = np.array(
        [
            sf.hourly_charge_count.py_func(int(a), int(b) + int(path), HOUR)
            for a, b, path in zip(trades["entry_time"], trades["exit_time"], on_path, strict=True)
        ]
    )
    np.testing.assert_allclose(trades["interest"], 2000.0 * RATES["USDT"] * hours, rtol=1e-9)
    assert metrics["interest_paid"] == pytest.approx(trades["interest"].sum(), rel=1e-9)
    assert metrics["max_liabilities"] > 2000.0
    levels = result.series["margin_level"].to_numpy()
    assert np.nanmin(levels) == pytest.approx(metrics["min_margin_level"])
    assert np.nanmin(levels) > 1.1  # never at the liquidation level at a close
