"""Strategies the trading tests load from a file (``levtrade trade run --config``)."""

from __future__ import annotations

from typing import Any, ClassVar

from levtrade.strategy.base import Strategy

HOUR = 3_600_000


class Cycle(Strategy):
    """Trades every bar on a four-hour cycle of the bar's open time, so that what it does at a
    bar depends on the bar and the position only (a restarted bot decides the same): long,
    a resting take-profit, close, short."""

    params: ClassVar[Any] = {"size": 0.01}

    def next(self) -> None:
        phase = int(self.data.datetime[0]) // HOUR % 4
        size = self.position.size
        if phase == 0:
            self.buy(size=self.p.size - size if size < 0 else self.p.size)
        elif phase == 1 and size > 0:
            price = round(self.data.close[0] * 1.001, 1)
            self.sell(size=self.p.size, price=price, reduce_only=True)
        elif phase == 2:
            self.close()
        elif phase == 3 and size == 0:
            self.sell(size=self.p.size)
