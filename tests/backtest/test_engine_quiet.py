"""Quiet stretches: bars where only ``next()`` has anything to do run in the engine's short
loop; what ends a stretch (funding, a mark reaching the liquidation price, an order, a change
the strategy makes to the account) must still happen on its bar, and every result must be the
one the full step gives for every bar.

The strategies here have no ``notify_*`` hooks (a notification ends a stretch by itself)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from backtest_helpers import HOUR, T0, config, flat, market

from levtrade.backtest import BacktestConfig, Strategy
from levtrade.backtest.engine import Engine
from levtrade.backtest.event_driver import EventDriver
from levtrade.backtest.results import BacktestResult
from levtrade.data import MarketData


def run_strategy(
    strategy: type[Strategy],
    data: MarketData,
    cfg: BacktestConfig,
    params: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> BacktestResult:
    """The run, checked against the same run with every bar taking the full step."""
    engine = Engine(data, cfg, EventDriver(strategy, params))
    engine.run()
    result = engine.result()
    with monkeypatch.context() as patched:
        patched.setattr(Engine, "_quiet_bars", lambda self, start, events: start)
        full = Engine(data, cfg, EventDriver(strategy, params))
        full.run()
        expected = full.result()
    for name in ("trades", "orders", "ledger", "series"):
        pd.testing.assert_frame_equal(getattr(result, name), getattr(expected, name))
    return result


class BuyHold(Strategy):
    """Buy ``size`` at bar ``entry``'s close, optionally deposit at bar ``deposit``, close at
    bar ``exit``; record the position size seen at every close."""

    params: ClassVar[dict[str, Any]] = {"size": 1.0, "entry": 1, "exit": -1, "deposit": -1}

    def __init__(self) -> None:
        self.sizes: list[float] = []

    def next(self) -> None:
        bar = len(self) - 1
        self.sizes.append(self.position.size)
        if bar == self.p.entry:
            self.buy(size=self.p.size)
        if bar == self.p.deposit:
            self.account.deposit(1_000.0)
        if bar == self.p.exit:
            self.close()


def test_funding_settles_on_every_funding_bar_of_a_quiet_stretch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rates = {8: 0.001, 16: -0.002, 24: 0.0005}
    data = market([flat(100.0)] * 30, funding=rates)
    result = run_strategy(BuyHold, data, config(leverage=2.0), {"size": 10.0}, monkeypatch)
    funding = result.ledger[result.ledger["kind"] == "funding"]
    assert list(funding["time"]) == [T0 + bar * HOUR for bar in sorted(rates)]
    # a long of 10 at 100 pays rate × 1,000 (receives when the rate is negative)
    assert list(funding["amount"]) == [1.0, 2.0, 0.5]
    assert result.trades["funding"].iloc[0] == -1.0 + 2.0 - 0.5


def test_liquidation_inside_a_quiet_stretch_happens_on_its_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 10x long of 100 at 100: liquidated once the mark low falls near 90
    bars = [flat(100.0)] * 12 + [(100.0, 100.0, 80.0, 85.0)] + [flat(85.0)] * 5
    data = market(bars)
    cfg = config(leverage=10.0, wallet=1_000.0)
    result = run_strategy(BuyHold, data, cfg, {"size": 100.0}, monkeypatch)
    trades = result.trades
    assert list(trades["exit_reason"]) == ["liquidation"]
    assert trades["exit_time"].iloc[0] == T0 + 12 * HOUR
    liq = result.series["liq:BTC/USDT:USDT"].to_numpy()
    assert np.isnan(liq[:2]).all() and np.isfinite(liq[2:12]).all() and np.isnan(liq[12:]).all()


def test_the_position_the_strategy_sees_follows_fills(monkeypatch: pytest.MonkeyPatch) -> None:
    data = market([flat(100.0)] * 10)
    params = {"size": 2.0, "entry": 1, "exit": 5}
    engine_sizes: list[list[float]] = []

    class Seen(BuyHold):
        def stop(self) -> None:
            engine_sizes.append(self.sizes)

    run_strategy(Seen, data, config(leverage=2.0), params, monkeypatch)
    # bought at bar 1's close, filled at bar 2's open; closed at bar 5's close, bar 6's open
    seen = [0.0, 0.0, 2.0, 2.0, 2.0, 2.0, 0.0, 0.0, 0.0, 0.0]
    assert engine_sizes == [seen, seen]


def test_a_deposit_made_in_next_ends_the_stretch(monkeypatch: pytest.MonkeyPatch) -> None:
    data = market([flat(100.0)] * 10)
    params = {"size": 2.0, "entry": 1, "deposit": 6}
    result = run_strategy(BuyHold, data, config(leverage=2.0), params, monkeypatch)
    # made after bar 6's close, the deposit is in the account state recorded from bar 7
    wallet = result.series["wallet"].to_numpy()
    assert list(wallet) == [10_000.0] * 7 + [11_000.0] * 3
    assert list(result.ledger["kind"]) == ["deposit", "deposit"]
