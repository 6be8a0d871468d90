"""The example strategies (examples/strategies): each runs on the demo data and on a real
Binance slice, and keeps the promise its docstring makes.

* conservative SMA/RSI: the loss at the stop, fees included, is at most 1 % of the equity at
  the decision; leverage is 2x; brackets sit 3 % / 6 % from the entry;
* adaptive leverage: never above 5x, and on a constructed series whose volatility steps up
  the leverage steps down to the hand-computed values;
* margin monitor: emergency reductions are 30 % of the position; on the demo data and on a
  steadily falling constructed series (exact bars and sizes worked out by hand below) it
  exits before liquidation. On real data a bar can fall from outside the 5 % band through the
  liquidation price before the protocol, which looks at closes, sees it: the test checks that
  every liquidation there was such a one-bar move.

The real-data tests need ../shared beside the checkout and skip without it.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from levtrade.backtest import BacktestResult, Strategy, run
from levtrade.data import MarketData, demo_market, read_candles, read_funding
from levtrade.errors import StrategyError
from levtrade.risk import adx, realized_volatility

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "strategies"
BTC = "BTC/USDT:USDT"
HOUR = 3_600_000
T0 = 1_704_067_200_000
"""2024-01-01 00:00 UTC."""
TAKER, MAKER = 0.0005, 0.0002
"""Binance's default fees, which every run here uses."""
MMR = 0.004
"""Binance BTCUSDT first tier (notional < 300,000): maintenance margin rate 0.4 %."""


def load_example(name: str) -> ModuleType:
    """Import ``examples/strategies/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(
        f"levtrade_example_{name}", EXAMPLES / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


conservative = load_example("conservative_sma_rsi")
adaptive = load_example("adaptive_leverage")
monitor = load_example("margin_monitor")


def captured(cls: type[Strategy], into: list[Any]) -> type[Strategy]:
    """A subclass of ``cls`` that keeps its instance, to read what it recorded."""

    class Captured(cls):  # type: ignore[valid-type, misc]
        def start(self) -> None:
            super().start()
            into.append(self)

    return Captured


def market(closes: list[float], *, start: int = T0) -> MarketData:
    """One-hour bars that open at the previous close (the first at its own close), with no
    wicks, no mark candles and no funding."""
    close = np.asarray(closes, dtype=np.float64)
    open_ = np.r_[close[0], close[:-1]]
    return MarketData(
        symbol=BTC,
        timeframe_ms=HOUR,
        timestamps=start + HOUR * np.arange(close.size, dtype=np.int64),
        open=open_,
        high=np.maximum(open_, close),
        low=np.minimum(open_, close),
        close=close,
        volume=np.full(close.size, 1e9),
    )


def bar_of(result: BacktestResult, time: int) -> int:
    """Row of the series for the bar opening at ``time``."""
    return int(np.searchsorted(result.series["time"].to_numpy(), time))


def position_before(orders: pd.DataFrame, order: pd.Series) -> float:
    """Signed position just before ``order`` filled: the sum of every fill on earlier bars."""
    filled = orders[(orders["status"] == "filled") & (orders["fill_time"] < order["fill_time"])]
    return float(filled["filled_size"].sum())


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> MarketData:
    return demo_market()


@pytest.fixture(scope="module")
def real_markets(shared_data: Path) -> dict[str, MarketData]:
    """Binance BTCUSDT perpetual: a 1h slice with funding (the trade candles stand in for the
    mark: the 8h mark file cannot sit on a 1h axis), and the same history resampled to 8h
    with the recorded 8h mark candles and funding."""
    folder = shared_data / "binance_um_freqtrade_maxakak1998"
    trade = read_candles(folder / "BTCUSDT-1h-perp.parquet")
    mark = read_candles(folder / "BTCUSDT-8h-mark.parquet", kind="mark")
    funding = read_funding(folder / "BTCUSDT-funding_rate.parquet")
    hourly = MarketData.build(BTC, trade, funding=funding, start="2024-02-01", end="2024-05-01")
    eight = MarketData.build(
        BTC,
        trade.resample("8h"),
        mark=mark,
        funding=funding,
        start="2023-01-01",
        end="2025-01-01",
    )
    return {"1h": hourly, "8h": eight}


@pytest.mark.shared
def test_real_markets_are_what_the_tests_claim(real_markets: dict[str, MarketData]) -> None:
    hourly, eight = real_markets["1h"], real_markets["8h"]
    assert hourly.timeframe_ms == HOUR and eight.timeframe_ms == 8 * HOUR
    # 2024-02-01 to 2024-05-01: 29 + 31 + 30 days
    assert len(hourly) == 90 * 24
    # 3 funding events a day
    assert int(hourly.funding_mask.sum()) == 90 * 3
    assert eight.mark is not None and not eight.metadata["synthetic"]
    assert len(eight) == 731 * 3 and int(eight.funding_mask.sum()) == 731 * 3


# --------------------------------------------------------------------------------------------
# Conservative 2x SMA/RSI
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def conservative_demo(demo: MarketData) -> dict[str, BacktestResult]:
    return {
        mode: conservative.backtest(demo, {"margin_mode": mode}) for mode in ("isolated", "cross")
    }


def bracket_risks(result: BacktestResult, risk_per_trade: float) -> pd.DataFrame:
    """Per filled bracket entry: the budget (risk × equity at the decision), the loss if the
    stop fills (price distance × size + the entry fee paid + the taker fee at the stop) and
    the stop/target distances from the limit price."""
    orders = result.orders
    equity = result.series["equity"].to_numpy()
    rows = []
    entries = orders[orders["parent"].isna() & (orders["type"] == "limit")]
    for _, entry in entries[entries["status"] == "filled"].iterrows():
        children = orders[orders["parent"] == entry["id"]]
        stop = children[children["type"] == "stop"].iloc[0]
        target = children[children["type"] == "take_profit"].iloc[0]
        size = abs(entry["filled_size"])
        fill = entry["fill_price"]
        loss = size * abs(fill - stop["price"]) + entry["fee"] + TAKER * size * stop["price"]
        rows.append(
            {
                "side": 1.0 if entry["side"] == "buy" else -1.0,
                "budget": risk_per_trade * equity[bar_of(result, entry["created_time"])],
                "loss": loss,
                "size": size,
                "limit": entry["price"],
                "fill": fill,
                "stop": stop["price"] / entry["price"] - 1.0,
                "target": target["price"] / entry["price"] - 1.0,
            }
        )
    return pd.DataFrame(rows)


def check_conservative(result: BacktestResult, margin_mode: str) -> pd.DataFrame:
    """The properties every conservative run keeps; returns the bracket table."""
    risks = bracket_risks(result, 0.01)
    assert len(risks) > 0
    # the limit entry fills at its price or better, and the sizing assumed a taker entry:
    # the loss at the stop never exceeds 1 % of the equity (1e-9: float rounding)
    assert (risks["loss"] <= risks["budget"] * (1 + 1e-9)).all()
    # a better fill only lowers the loss: for a long the fill is at or below the limit
    assert (risks["side"] * (risks["fill"] - risks["limit"]) <= 1e-9 * risks["limit"]).all()
    # stop 3 % and target 6 % from the entry price
    assert np.allclose(risks["stop"], -0.03 * risks["side"], rtol=0, atol=1e-12)
    assert np.allclose(risks["target"], 0.06 * risks["side"], rtol=0, atol=1e-12)
    trades = result.trades
    assert (trades["leverage"] == 2.0).all()
    assert (trades["margin_mode"] == margin_mode).all()
    assert set(trades["exit_reason"]) <= {"stop_loss", "take_profit", "end_of_data"}
    assert int(result.metrics["liquidations"]) == 0
    # exposure: |notional| / equity at every close, far below the 2x the margin allows
    notional = result.series[f"notional:{BTC}"].abs() / result.series["equity"]
    assert float(notional.max()) <= 2.0
    return risks


@pytest.mark.parametrize("margin_mode", ["isolated", "cross"])
def test_conservative_risks_at_most_one_percent_at_2x(
    conservative_demo: dict[str, BacktestResult], margin_mode: str
) -> None:
    result = conservative_demo[margin_mode]
    risks = check_conservative(result, margin_mode)
    # demo bars open at the previous close, so every limit fills at its price; the loss at
    # the stop is then the budget less the fee saved by the maker entry:
    # size·|E − S| + f_t·size·E + f_t·size·S = budget  (the sizing), the fill pays f_m·size·E
    at_limit = risks[risks["fill"] == risks["limit"]]
    assert len(at_limit) == len(risks)
    saved = (TAKER - MAKER) * at_limit["size"] * at_limit["fill"]
    assert np.allclose(at_limit["loss"], at_limit["budget"] - saved, rtol=1e-9, atol=0)
    # longs and shorts both trade
    assert {1.0, -1.0} <= set(risks["side"])


def test_conservative_stops_lose_what_was_planned_at_entry(
    conservative_demo: dict[str, BacktestResult],
) -> None:
    result = conservative_demo["isolated"]
    risks = bracket_risks(result, 0.01)
    stopped = result.trades["exit_reason"] == "stop_loss"
    trades = result.trades[stopped].reset_index(drop=True)
    budgets = risks[stopped.to_numpy()].reset_index(drop=True)
    assert len(trades) > 0
    # no gaps and no slippage: the stop fills at its price, so the realised loss before
    # funding is the loss at the stop computed at entry
    loss = -(trades["pnl"] - trades["funding"])
    assert np.allclose(loss, budgets["loss"], rtol=1e-9, atol=0)
    assert (loss <= budgets["budget"] * (1 + 1e-9)).all()


def test_conservative_margin_mode_must_match_the_run(demo: MarketData) -> None:
    with pytest.raises(StrategyError, match="margin_mode"):
        run(
            conservative.ConservativeSmaRsi,
            demo,
            conservative.config("cross"),
            params={"margin_mode": "isolated"},
        )


@pytest.mark.shared
@pytest.mark.parametrize("timeframe", ["1h", "8h"])
def test_conservative_on_real_binance_data(
    real_markets: dict[str, MarketData], timeframe: str
) -> None:
    result = conservative.backtest(real_markets[timeframe], {"margin_mode": "isolated"})
    check_conservative(result, "isolated")


# --------------------------------------------------------------------------------------------
# Adaptive leverage
# --------------------------------------------------------------------------------------------

WINDOW = 4
ANNUAL = math.sqrt(24 * 365)


def zigzag(sigmas: list[float], bars: int, drift: float) -> list[float]:
    """Closes whose log returns alternate drift ± a, ``bars`` returns per segment, with
    a = σ / (√(4/3)·√8760): in any 4 consecutive returns two are +a and two −a, so their
    sample standard deviation is a·√(4/3) and the annualised volatility exactly σ."""
    returns: list[float] = []
    for sigma in sigmas:
        a = sigma / (math.sqrt(WINDOW / (WINDOW - 1)) * ANNUAL)
        returns += [drift + a * (-1) ** (len(returns) + k) for k in range(bars)]
    return list(100.0 * np.exp(np.r_[0.0, np.cumsum(returns)]))


ADAPTIVE_TEST_PARAMS = {
    "fast": 3,
    "slow": 6,
    "vol_window": WINDOW,
    "adx_period": 2,
    "adx_min_scale": 1.0,  # s_trend = 1 whatever the ADX
    "max_drawdown": None,  # no drawdown scale
}


def test_adaptive_leverage_steps_down_as_volatility_steps_up() -> None:
    # 40 returns each at σ = 0.25, 0.5 and 2.0 (annualised); base 3, target 0.5:
    #   σ 0.25: 3 × min(0.5/0.25, 2) = 6  -> capped at 5
    #   σ 0.5:  3 × 1                = 3
    #   σ 2.0:  3 × 0.25             = 0.75 -> raised to the minimum 1
    data = market(zigzag([0.25, 0.5, 2.0], 40, drift=0.003))
    strategies: list[Any] = []
    result = run(
        captured(adaptive.AdaptiveLeverage, strategies),
        data,
        adaptive.config(),
        params=ADAPTIVE_TEST_PARAMS,
    )
    log = {(t - T0) // HOUR: lev for t, lev in strategies[0].leverage_log}
    # bar i's volatility uses returns i−3..i (return k: close k−1 -> close k); the first
    # segment's returns are 1..40, the second's 41..80, the third's 81..120; next() starts at
    # bar 5 (the 6-bar SMA)
    calm = [log[i] for i in range(5, 41)]
    medium = [log[i] for i in range(44, 81)]
    wild = [log[i] for i in range(84, 121)]
    assert calm == pytest.approx([5.0] * len(calm), rel=1e-9)
    assert medium == pytest.approx([3.0] * len(medium), rel=1e-9)
    assert wild == pytest.approx([1.0] * len(wild), rel=1e-9)
    assert max(log.values()) <= 5.0
    # in between, the windows mix two segments: the leverage falls from one level to the next
    for first, last in ((40, 44), (80, 84)):
        steps = [log[i] for i in range(first, last + 1)]
        assert steps == sorted(steps, reverse=True)
    # the first entry is taken at bar 5's leverage, 5x
    assert result.trades["leverage"].iloc[0] == pytest.approx(5.0, rel=1e-9)
    assert (result.trades["leverage"] <= 5.0).all()
    # the long opened at 5x is cut back when the leverage falls: at least one de-levering
    # order, each leaving the size a margin of 0.9 × equity allows at the new leverage:
    # IM + fee = stake  ->  size = 0.9·equity / (P·(1/L + f_taker))
    orders = result.orders
    delever = orders[orders["tag"].fillna("").str.startswith("delever")]
    assert len(delever) > 0
    equity = result.series["equity"].to_numpy()
    for _, order in delever.iterrows():
        assert order["status"] == "filled" and order["reduce_only"]
        k = bar_of(result, order["created_time"])
        lev = log[k]
        allowed = 0.9 * equity[k] / (data.close[k] * (1 / lev + TAKER))
        held = position_before(orders, order)
        assert abs(held + order["filled_size"]) == pytest.approx(allowed, rel=1e-9)
        assert abs(held) > allowed * 1.25


def check_adaptive(data: MarketData, result: BacktestResult, log: dict[int, float]) -> None:
    """Leverage ≤ 5x, and each bar's leverage is the DynamicLeverage formula (docs/risk.md)
    on that bar's volatility, ADX and drawdown of the run's own equity curve."""
    lev = np.array(list(log.values()))
    assert ((lev >= 1.0) & (lev <= 5.0)).all()
    assert (result.trades["leverage"] <= 5.0).all()
    times = result.series["time"].to_numpy()
    rows = np.searchsorted(times, np.array(list(log.keys())))
    per_year = 365 * 24 * HOUR / data.timeframe_ms
    vol = realized_volatility(data.close, 24, periods_per_year=per_year)[rows]
    trend = adx(data.high, data.low, data.close, 14)[rows]
    equity = result.series["equity"].to_numpy()
    dd = (1.0 - equity / np.maximum.accumulate(equity))[rows]
    s_vol = np.minimum(0.5 / vol, 2.0)
    s_trend = 0.5 + 0.5 * np.clip((trend - 20.0) / 20.0, 0.0, 1.0)
    s_dd = np.maximum(0.0, 1.0 - dd / 0.25)
    expected = np.clip(3.0 * s_vol * s_trend * s_dd, 1.0, 5.0)
    # the last bar's equity row is after the end-of-data close
    assert np.allclose(lev[:-1], expected[:-1], rtol=1e-9, atol=1e-12)
    # each entry is taken at the leverage of the bar that decided it
    opened = result.orders[
        (result.orders["status"] == "filled") & ~result.orders["reduce_only"].astype(bool)
    ]
    for (_, order), (_, trade) in zip(opened.iterrows(), result.trades.iterrows(), strict=True):
        assert trade["leverage"] == pytest.approx(log[order["created_time"]], rel=1e-12)


def test_adaptive_on_demo_data_stays_within_5x(demo: MarketData) -> None:
    strategies: list[Any] = []
    result = run(
        captured(adaptive.AdaptiveLeverage, strategies),
        demo,
        adaptive.config(),
    )
    log = dict(strategies[0].leverage_log)
    check_adaptive(demo, result, log)
    assert max(log.values()) == 5.0 and min(log.values()) == 1.0
    assert int(result.metrics["liquidations"]) == 0


@pytest.mark.shared
@pytest.mark.parametrize("timeframe", ["1h", "8h"])
def test_adaptive_on_real_binance_data(real_markets: dict[str, MarketData], timeframe: str) -> None:
    data = real_markets[timeframe]
    strategies: list[Any] = []
    result = run(captured(adaptive.AdaptiveLeverage, strategies), data, adaptive.config())
    check_adaptive(data, result, dict(strategies[0].leverage_log))


# --------------------------------------------------------------------------------------------
# Margin monitor
# --------------------------------------------------------------------------------------------


def check_protocol_orders(result: BacktestResult, data: MarketData) -> pd.DataFrame:
    """Emergency reductions are 30 % of the position (lot 0: no rounding) and emergency
    closes all of it. The protocol acts at closes, so a liquidation can only come from a bar
    that starts more than 5 % from the liquidation price: at the close before every
    liquidation the mark was outside the 5 % band (else the protocol would have closed)."""
    orders = result.orders
    emergency = orders[orders["tag"].fillna("").str.startswith("emergency")]
    for _, order in emergency.iterrows():
        assert order["status"] == "filled" and order["reduce_only"]
        held = position_before(orders, order)
        assert held != 0.0 and np.sign(order["filled_size"]) == -np.sign(held)
        share = 0.3 if order["tag"] == "emergency reduce" else 1.0
        assert abs(order["filled_size"]) == pytest.approx(share * abs(held), rel=1e-9)
    mark = data.mark.close if data.mark is not None else data.close
    liq = result.series[f"liq:{BTC}"].to_numpy()
    for _, trade in result.trades[result.trades["exit_reason"] == "liquidation"].iterrows():
        before = bar_of(result, trade["exit_time"]) - 1
        assert abs(mark[before] - liq[before]) / mark[before] > 0.05
    return emergency


def test_margin_monitor_on_a_steady_fall_reduces_then_exits() -> None:
    # closes 100, 100, 100, 101, then 1 lower each bar: bar k (k ≥ 3) closes at 104 − k.
    # SMA2 crosses above SMA3 at bar 3 (100.5 > 100.33); bars open at the previous close.
    closes = [100.0, 100.0, 100.0] + [104.0 - k for k in range(3, 16)]
    params = {
        "fast": 2,
        "slow": 3,
        "exit_on_reversal": False,
        "allow_short": False,
    }
    result = monitor.backtest(market(closes), params)
    orders = result.orders.set_index("tag")

    # entry: decided at bar 3 (close 101), stake = 0.5 × 10,000; IM + taker fee = stake:
    # q = 5,000 / (101 × (1/20 + 0.0005)); filled at bar 4's open, 101
    q = 5_000.0 / (101.0 * (1 / 20 + TAKER))
    entry = orders.loc["entry"]
    assert entry["created_time"] == T0 + 3 * HOUR and entry["fill_time"] == T0 + 4 * HOUR
    assert entry["filled_size"] == pytest.approx(q, rel=1e-12)
    assert entry["fill_price"] == 101.0
    fee_in = TAKER * q * 101.0

    # cross margin level at close c: (10,000 − fee_in + q·(c − 101)) / (0.004·q·c)
    def level(c: float) -> float:
        return (10_000.0 - fee_in + q * (c - 101.0)) / (MMR * q * c)

    # bar 4 (100): 22.88, bar 5 (99): 20.58, bar 6 (98): 18.24 < 20 -> reduce 30 %
    assert level(100.0) > 20 and level(99.0) > 20 and level(98.0) < 20
    assert level(98.0) == pytest.approx(18.24, abs=0.01)
    # liquidation price then: 10,000 − fee_in + q·(LP − 101) = 0.004·q·LP
    lp = (q * 101.0 - (10_000.0 - fee_in)) / (q * (1 - MMR))
    assert (98.0 - lp) / 98.0 > 0.05  # 6.93 % away: no exit yet
    reduce = orders.loc["emergency reduce"]
    assert reduce["created_time"] == T0 + 6 * HOUR
    assert reduce["fill_time"] == T0 + 7 * HOUR and reduce["fill_price"] == 98.0
    assert reduce["filled_size"] == pytest.approx(-0.3 * q, rel=1e-12)

    # after the reduction (sold 0.3q at 98, taker fee) 0.7q is left; wallet
    # w = 10,000 − fee_in + 0.3q·(98 − 101) − 0.0005·0.3q·98, and the liquidation price
    # LP' solves w + 0.7q·(LP' − 101) = 0.004·0.7q·LP'
    left = 0.7 * q
    wallet = 10_000.0 - fee_in + 0.3 * q * (98.0 - 101.0) - TAKER * 0.3 * q * 98.0
    lp2 = (left * 101.0 - wallet) / (left * (1 - MMR))
    assert lp2 == pytest.approx(88.16, abs=0.01)

    def level_after(c: float) -> float:
        return (wallet + left * (c - 101.0)) / (MMR * left * c)

    # closes 97, 96, ... : the margin level is below 20 again at 95 (bar 9: 18.93) but the
    # trigger waits out its 8 h cooldown (until bar 14), so there is no second reduction;
    # the distance to liquidation is 5.2 % at 93 (bar 11) and 4.2 % at 92 (bar 12): the exit
    # is decided at bar 12 and filled at bar 13's open, 92
    assert level_after(96.0) > 20 > level_after(95.0)
    assert int((result.orders["tag"] == "emergency reduce").sum()) == 1
    assert (93.0 - lp2) / 93.0 > 0.05 >= (92.0 - lp2) / 92.0
    close = orders.loc["emergency close"]
    assert close["created_time"] == T0 + 12 * HOUR
    assert close["fill_time"] == T0 + 13 * HOUR and close["fill_price"] == 92.0
    assert close["filled_size"] == pytest.approx(-left, rel=1e-12)

    trades = result.trades
    assert len(trades) == 1
    trade = trades.iloc[0]
    assert trade["exit_reason"] == "close" and trade["exit_time"] == T0 + 13 * HOUR
    # while the position was open (bars 4 to 13's open) the lowest price, 92, stayed above
    # the liquidation price
    assert min(closes[4:13]) == 92.0 > lp2
    assert int(result.metrics["liquidations"]) == 0
    check_protocol_orders(result, market(closes))


@pytest.fixture(scope="module")
def monitor_demo(demo: MarketData) -> dict[bool, BacktestResult]:
    return {protect: monitor.backtest(demo, {"protect": protect}) for protect in (True, False)}


def test_margin_monitor_on_demo_data(
    demo: MarketData, monitor_demo: dict[bool, BacktestResult]
) -> None:
    guarded = monitor_demo[True]
    emergency = check_protocol_orders(guarded, demo)
    # the protocol does fire on the demo data, and the guarded run is never liquidated
    assert (emergency["tag"] == "emergency reduce").sum() > 0
    assert int(guarded.metrics["liquidations"]) == 0
    assert (guarded.trades["leverage"] == 20.0).all()
    # the same entries without the protocol are liquidated
    unguarded = monitor_demo[False]
    assert unguarded.orders["tag"].fillna("").str.startswith("emergency").sum() == 0
    assert int(unguarded.metrics["liquidations"]) >= 1


@pytest.mark.shared
@pytest.mark.parametrize("timeframe", ["1h", "8h"])
def test_margin_monitor_on_real_binance_data(
    real_markets: dict[str, MarketData], timeframe: str
) -> None:
    data = real_markets[timeframe]
    result = monitor.backtest(data)
    emergency = check_protocol_orders(result, data)
    assert (emergency["tag"] == "emergency reduce").sum() > 0


# --------------------------------------------------------------------------------------------
# The scripts
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("module", [conservative, adaptive, monitor], ids=lambda m: m.__name__)
def test_main_prints_its_metrics_on_synthetic_data(
    module: ModuleType, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a shorter demo series keeps the check quick; the output is the same shape
    monkeypatch.setattr(module, "demo_market", lambda: demo_market(bars=1500))
    module.main()
    out = capsys.readouterr().out
    assert "SYNTHETIC demo data" in out
    assert "total_return" in out
