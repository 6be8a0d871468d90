"""The toolkit inside a real backtest: an event-driven strategy consults the emergency
protocol on its live account, and the margin analyzers read the finished result.

Four hourly bars (no mark candles, no fees, no funding), Binance BTC tier 1 (0.4 %):

    bar  open     high     low      close
    0    100,000  100,000  100,000  100,000   the strategy buys 1 BTC at the close
    1    100,000  100,000   95,000   95,000   filled at the open: long 1 @100,000
    2     95,000   95,000   92,000   92,000
    3     92,000   98,000   92,000   98,000

Cross wallet 10,000: equity = P − 90,000, MM = 0.004·P, liquidation at 90,000/0.996 = 90,361.45
(never reached). Margin level at the closes: bar 1 5,000/380 = 13.158; bar 2 2,000/368 = 5.4348.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
from risk_helpers import HOUR

from levtrade.backtest import BacktestConfig, Strategy, run
from levtrade.data import MarketData
from levtrade.risk import EmergencyProtocol, MarginLevelBelow, ReduceBy, margin_analyzers

LIQ = 90_000 / 0.996


def bars() -> MarketData:
    o = np.array([100_000.0, 100_000.0, 95_000.0, 92_000.0])
    h = np.array([100_000.0, 100_000.0, 95_000.0, 98_000.0])
    lo = np.array([100_000.0, 95_000.0, 92_000.0, 92_000.0])
    c = np.array([100_000.0, 95_000.0, 92_000.0, 98_000.0])
    return MarketData(
        symbol="BTC/USDT:USDT",
        timeframe_ms=HOUR,
        timestamps=np.arange(4, dtype=np.int64) * HOUR,
        open=o,
        high=h,
        low=lo,
        close=c,
        volume=np.ones(4),
    )


class BuyAndWatch(Strategy):
    """Buys 1 BTC once; at every close sends the orders the emergency protocol asks for."""

    params: ClassVar[dict[str, float]] = {"level": 6.0}

    def __init__(self) -> None:
        self.protocol = EmergencyProtocol([MarginLevelBelow(self.p.level, ReduceBy(0.5))])
        self.bought = False

    def next(self) -> None:
        for order in self.protocol.check(self.account):
            self.close(order.symbol, size=abs(order.size))
        if not self.bought:
            self.buy(size=1.0, leverage=20)
            self.bought = True


def test_protocol_and_analyzers_in_a_backtest() -> None:
    data = bars()
    config = BacktestConfig(wallet=10_000.0, leverage=20, maker_fee=0.0, taker_fee=0.0)
    result = run(
        BuyAndWatch, data, config, analyzers=margin_analyzers(margin_call_level=6.0, data=data)
    )
    history = result.analyzers["margin_history"]
    level = history["margin_level"].to_numpy()
    assert level[1:3] == pytest.approx([5_000 / 380, 2_000 / 368])
    # effective leverage at bar 2: 92,000 / 2,000 = 46
    assert history["effective_leverage"].to_numpy()[2] == pytest.approx(46.0)
    calls = result.analyzers["margin_calls"]
    assert calls["start"].tolist() == [2 * HOUR]
    assert calls["min_margin_level"].tolist() == pytest.approx([2_000 / 368])
    assert result.analyzers["min_margin_level"]["min_margin_level"] == pytest.approx(2_000 / 368)
    distance = result.analyzers["distance_to_liquidation"]["distance:BTC/USDT:USDT"].to_numpy()
    assert distance[1:3] == pytest.approx([(95_000 - LIQ) / 95_000, (92_000 - LIQ) / 92_000])
    assert result.analyzers["liquidations"]["liquidations"] == 0
    assert result.analyzers["funding"]["net"] == 0.0
    # level 5.43 < 6 at bar 2: the protocol halves the position with a reduce-only sell,
    # filled at bar 3's open 92,000; the rest closes at the last close 98,000:
    # PnL 0.5·(92,000 − 100,000) + 0.5·(98,000 − 100,000) = −5,000
    orders = result.orders
    reduce = orders[orders["reduce_only"] & (orders["created_time"] == 2 * HOUR)]
    assert reduce[["side", "size", "fill_price"]].values.tolist() == [["sell", 0.5, 92_000.0]]
    assert result.trades["pnl"].sum() == pytest.approx(-5_000.0)
