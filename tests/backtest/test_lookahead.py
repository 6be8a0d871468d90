"""No decision can see a later bar: the line guard and the truncation check."""

from __future__ import annotations

import numpy as np
import pytest
from backtest_helpers import config, signals

from levtrade.backtest import Strategy, check_lookahead, run
from levtrade.data import MarketData, Portfolio, demo_market, demo_portfolio
from levtrade.errors import ConfigError, LookaheadError
from levtrade.strategy import indicators as ind
from levtrade.strategy.signals import Signals

DATA = demo_market(bars=240)


class ReadsTomorrow(Strategy):
    def next(self) -> None:
        if self.data.close[1] > self.data.close[0]:
            self.buy(size=0.01)


class ShiftedArray(Strategy):
    """Peeks through a precomputed array shifted one bar into the future."""

    def __init__(self) -> None:
        future = np.append(self.data.close.array[1:], np.nan)
        self.future = self.data.close.derive(future, "future")

    def next(self) -> None:
        if not self.position and self.future[0] > self.data.close[0]:
            self.buy(size=0.01)
        elif self.position and self.future[0] < self.data.close[0]:
            self.close()


class SmaCross(Strategy):
    params = (("fast", 5), ("slow", 20))

    def __init__(self) -> None:
        self.fast = ind.SMA(self.data.close, self.p.fast)
        self.slow = ind.SMA(self.data.close, self.p.slow)

    def next(self) -> None:
        if not self.position and self.fast[0] > self.slow[0]:
            self.buy(size=0.01)
        elif self.position and self.fast[0] < self.slow[0]:
            self.close()


class ReadsTheWholeArray(Strategy):
    """Buys at bar i when the raw array says bar i + 1 closes higher, else sells."""

    def next(self) -> None:
        i = len(self) - 1
        array = self.data.close.array
        if i + 1 < len(array) and array[i + 1] > array[i]:
            self.buy(size=0.01)
        else:
            self.sell(size=0.01)


def test_reading_a_later_bar_raises_at_once() -> None:
    with pytest.raises(LookaheadError, match=r"close\[1\].*bar 0"):
        run(ReadsTomorrow, DATA, config())


def test_a_precomputed_future_line_is_detected() -> None:
    report = check_lookahead(ShiftedArray, DATA, config())
    assert not report.ok
    # the first cut is at 240 × 1/5 = 48 bars: the line differs at its last bar, 47
    assert report.cuts[0] == 48
    assert report.bar == 47
    assert "future" in report.detail
    with pytest.raises(LookaheadError, match="look-ahead at bar 47"):
        report.raise_for_lookahead()


def test_decisions_from_the_raw_array_are_detected() -> None:
    # cut after bar k − 1 where bar k closes higher: the full run buys at k − 1, the cut run
    # (no bar k) sells
    k = 1 + int(np.flatnonzero(np.diff(DATA.close) > 0)[5])
    report = check_lookahead(ReadsTheWholeArray, DATA, config(), cuts=[k])
    assert not report.ok
    assert report.bar == k - 1


def test_an_honest_strategy_passes() -> None:
    report = check_lookahead(SmaCross, DATA, config())
    assert report.ok and report.bar is None
    report.raise_for_lookahead()


def test_signal_functions_are_checked_by_truncation() -> None:
    def tomorrow(data: MarketData | Portfolio) -> Signals:
        close = data.close
        up = np.append(close[1:] > close[:-1], False)
        return signals(data, BTC={"enter_long": up})

    def today(data: MarketData | Portfolio) -> Signals:
        close = data.close
        up = np.insert(close[1:] > close[:-1], 0, False)
        return signals(data, BTC={"enter_long": up})

    bad = check_lookahead(tomorrow, DATA, cuts=[100])
    assert not bad.ok and bad.bar == 99
    assert "enter_long" in bad.detail
    assert check_lookahead(today, DATA).ok


def test_portfolio_truncation_keeps_the_axis() -> None:
    book = demo_portfolio(bars=120)

    class Both(Strategy):
        def __init__(self) -> None:
            self.smas = [ind.SMA(d.close, 10) for d in self.datas]

        def next(self) -> None:
            for data, sma in zip(self.datas, self.smas, strict=True):
                if not self.getposition(data) and data.close[0] > sma[0]:
                    self.buy(data=data, size=0.01)

    cfg = config(tiers={s: [{"floor": 0, "mmr": 0.01, "max_leverage": 50}] for s in book.symbols})
    assert check_lookahead(Both, book, cfg, cuts=3).ok


def test_cut_points_are_checked() -> None:
    with pytest.raises(ConfigError, match="cuts"):
        check_lookahead(SmaCross, DATA, config(), cuts=[0])
    with pytest.raises(ConfigError, match="cuts"):
        check_lookahead(SmaCross, DATA, config(), cuts=0)
