"""The event-driven Strategy API: params, lines, warm-up, data feeds, positions and margin."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import pytest

from levtrade.backtest import BacktestConfig, Strategy, run
from levtrade.data import MarketData, Portfolio
from levtrade.errors import LookaheadError, StrategyError
from levtrade.strategy import indicators as ind

T0 = 1_704_067_200_000
HOUR = 3_600_000


def market(closes: list[float], symbol: str = "BTC/USDT:USDT") -> MarketData:
    """Bars that open, trade and close at one price each."""
    prices = np.array(closes, dtype=np.float64)
    return MarketData(
        symbol=symbol,
        timeframe_ms=HOUR,
        timestamps=T0 + HOUR * np.arange(len(closes), dtype=np.int64),
        open=prices.copy(),
        high=prices.copy(),
        low=prices.copy(),
        close=prices.copy(),
        volume=np.full(len(closes), 1e9),
    )


def config(**fields: Any) -> BacktestConfig:
    return BacktestConfig(**{"maker_fee": 0.0, "taker_fee": 0.0, **fields})


class Recorder(Strategy):
    """Records what ``probe`` returns at each ``next``; ``act`` may trade."""

    params: ClassVar[Any] = {"probe": None, "act": None}

    def __init__(self) -> None:
        self.records: list[Any] = []
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")

    def prenext(self) -> None:
        self.calls.append("prenext")

    def next(self) -> None:
        self.calls.append("next")
        if self.p.act is not None:
            self.p.act(self)
        if self.p.probe is not None:
            self.records.append(self.p.probe(self))

    def stop(self) -> None:
        self.calls.append("stop")
        RUNS.append(self)


RUNS: list[Recorder] = []


def last_run() -> Recorder:
    return RUNS[-1]


def test_params_merge_along_bases_and_take_overrides() -> None:
    class Base(Strategy):
        params = (("fast", 5), ("slow", 20))

    class Child(Base):
        params: ClassVar[Any] = {"slow": 30, "size": 1.0}
        seen: ClassVar[list[tuple[int, int, float]]] = []

        def __init__(self) -> None:
            Child.seen.append((self.p.fast, self.p.slow, self.p.size))

    run(Child, market([100.0] * 3), config())
    run(Child, market([100.0] * 3), config(), params={"fast": 7})
    assert Child.seen == [(5, 30, 1.0), (7, 30, 1.0)]
    with pytest.raises(StrategyError, match="no parameter 'fats'"):
        run(Child, market([100.0] * 3), config(), params={"fats": 7})


def test_lines_index_the_current_and_earlier_bars() -> None:
    closes = [100.0, 101.0, 103.0, 106.0]

    def probe(s: Strategy) -> tuple[float, float | None, int, list[float]]:
        previous = s.data.close[-1] if len(s.data) > 1 else None
        window = list(s.data.close.get(size=2)) if len(s) >= 2 else []
        return s.data.close[0], previous, s.now, window

    run(Recorder, market(closes), config(), params={"probe": probe})
    records = last_run().records
    assert [r[0] for r in records] == closes
    assert [r[1] for r in records] == [None, 100.0, 101.0, 103.0]
    assert [r[2] for r in records] == [T0 + k * HOUR for k in range(4)]
    assert records[3][3] == [103.0, 106.0]


def test_reading_before_the_first_bar_or_after_the_current_one() -> None:
    with pytest.raises(IndexError, match=r"close\[-1\]: only 1 bar"):
        run(Recorder, market([1.0, 2.0]), config(), params={"probe": lambda s: s.data.close[-1]})
    with pytest.raises(LookaheadError):
        run(Recorder, market([1.0, 2.0]), config(), params={"probe": lambda s: s.data.high[2]})
    with pytest.raises(LookaheadError):
        run(Recorder, market([1.0, 2.0]), config(), params={"probe": lambda s: s.data.low.get(1)})


def test_prenext_until_every_indicator_has_a_value() -> None:
    class Warm(Recorder):
        def __init__(self) -> None:
            super().__init__()
            self.sma = ind.SMA(self.data.close, 3)
            self.bands = ind.BBANDS(self.data.close, 4)

    run(Warm, market([1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), config())
    # BBANDS(4) has its first value at bar 3: prenext on bars 0-2, next on 3-5
    assert last_run().calls == ["start"] + ["prenext"] * 3 + ["next"] * 3 + ["stop"]


def test_line_arithmetic_is_precomputed() -> None:
    class Spread(Recorder):
        def __init__(self) -> None:
            super().__init__()
            self.spread = self.data.close - ind.SMA(self.data.close, 2)

    run(Spread, market([1.0, 3.0, 7.0]), config(), params={"probe": lambda s: s.spread[0]})
    # bar 1: 3 − (1+3)/2 = 1; bar 2: 7 − (3+7)/2 = 2
    assert last_run().records == [1.0, 2.0]


def test_several_data_feeds() -> None:
    book = Portfolio.from_markets([market([10.0, 11.0]), market([20.0, 22.0], "ETH/USDT:USDT")])

    def probe(s: Strategy) -> tuple[str, float, float]:
        eth = s.getdatabyname("ETH/USDT:USDT")
        return s.datas[1].symbol, eth.close[0], s.data.close[0]

    cfg = config(tiers={"ETH/USDT:USDT": [{"floor": 0, "mmr": 0.01, "max_leverage": 50}]})
    run(Recorder, book, cfg, params={"probe": probe})
    assert last_run().records == [("ETH/USDT:USDT", 20.0, 10.0), ("ETH/USDT:USDT", 22.0, 11.0)]
    with pytest.raises(StrategyError, match="no data named 'DOGE"):
        run(Recorder, book, cfg, params={"probe": lambda s: s.getdatabyname("DOGE/USDT:USDT")})


def test_position_broker_and_margin_views() -> None:
    # cross, 10x: long 1 at 100 (bar 1), close 110 at bar 2.
    # value = 10,000 + 1 × (110 − 100) = 10,010; cash (available) = 10,010 − 110/10 = 9,999
    # MM = 110 × 0.004 = 0.44; margin ratio 0.44/10,010; effective leverage 110/10,010
    def act(s: Strategy) -> None:
        if len(s) == 1:
            s.buy(size=1)

    def probe(s: Strategy) -> tuple[Any, ...]:
        return (
            s.position.size,
            s.position.price,
            bool(s.position),
            s.broker.get_value(),
            s.broker.get_cash(),
            s.account.margin_ratio,
            s.effective_leverage,
        )

    run(
        Recorder,
        market([100.0, 100.0, 110.0]),
        config(leverage=10),
        params={"act": act, "probe": probe},
    )
    flat, held = last_run().records[0], last_run().records[2]
    assert flat[:3] == (0.0, 0.0, False)
    assert flat[6] == 0.0
    assert held[:3] == (1.0, 100.0, True)
    assert held[3] == pytest.approx(10_010.0)
    assert held[4] == pytest.approx(9_999.0)
    assert held[5] == pytest.approx(0.44 / 10_010)
    assert held[6] == pytest.approx(110 / 10_010)


def test_liquidation_price_view() -> None:
    # isolated 10x long 1 at 100: LP = 90/0.996; buffered by 0.5: LP + (100 − LP)/2
    lp = 90 / 0.996

    def act(s: Strategy) -> None:
        if len(s) == 1:
            s.buy(size=1)

    def probe(s: Strategy) -> tuple[float | None, float | None]:
        return s.liquidation_price(), s.liquidation_price(buffered=True)

    cfg = config(leverage=10, margin_mode="isolated", liquidation_buffer=0.5)
    run(Recorder, market([100.0, 100.0, 100.0]), cfg, params={"act": act, "probe": probe})
    assert last_run().records[0] == (None, None)
    liq, buffered = last_run().records[1]
    assert liq == pytest.approx(lp, rel=1e-12)
    assert buffered == pytest.approx(lp + (100 - lp) * 0.5, rel=1e-12)


def test_hedge_legs_through_getposition() -> None:
    def act(s: Strategy) -> None:
        if len(s) == 1:
            s.buy(size=2)
            s.sell(size=1)

    def probe(s: Strategy) -> tuple[float, float, float]:
        return (
            s.getposition(leg="LONG").size,
            s.getposition(leg="short").size,
            s.position.size,
        )

    run(
        Recorder,
        market([100.0] * 3),
        config(position_mode="hedge"),
        params={"act": act, "probe": probe},
    )
    assert last_run().records[-1] == (2.0, -1.0, 1.0)
    with pytest.raises(StrategyError, match="2 open legs"):
        run(
            Recorder,
            market([100.0] * 4),
            config(position_mode="hedge"),
            params={"act": lambda s: act(s) if len(s) == 1 else s.close() if len(s) == 3 else None},
        )


def test_only_strategy_classes_run_event_driven() -> None:
    with pytest.raises(Exception, match="strategy"):
        run(Recorder(), market([1.0]), config())  # type: ignore[arg-type]
    assert math.isfinite(run(Recorder, market([1.0, 2.0]), config()).metrics["total_return"])
