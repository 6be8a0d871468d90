"""The event-driven strategy the component benchmarks time: SMA(fast)/SMA(slow) cross,
always in the market, a fixed size per entry."""

from __future__ import annotations

from typing import Any, ClassVar

from levtrade.strategy import Strategy
from levtrade.strategy import indicators as ind


class SmaCross(Strategy):
    """Long when the fast average is above the slow one, short below; flips on the cross."""

    params: ClassVar[dict[str, Any]] = {"fast": 10, "slow": 30, "size": 0.1}

    def __init__(self) -> None:
        self.fast = ind.SMA(self.data.close, self.p.fast)
        self.slow = ind.SMA(self.data.close, self.p.slow)

    def next(self) -> None:
        fast, slow, position = self.fast[0], self.slow[0], self.position
        if fast > slow and position.size <= 0:
            if position:
                self.close()
            self.buy(size=self.p.size)
        elif fast < slow and position.size >= 0:
            if position:
                self.close()
            self.sell(size=self.p.size)
