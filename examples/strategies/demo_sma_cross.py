"""SMA crossover, event-driven (backtrader / Cracktrader style): the starter strategy's twin.

``levtrade init`` writes the FreqTrade-style starter (``levtrade/templates/strategy.py``:
signals from ``populate_*``); this is the same idea written bar by bar in ``next()``: on a
fast/slow crossover it closes the position it holds and opens the other side at the run's
leverage, putting ``stake`` (a fraction of the equity) up as margin. Every entry is a bracket:
a market entry with a protective stop and a take-profit that wait for it to fill and cancel
each other.

Run it on the demo data::

    levtrade backtest --strategy examples/strategies/demo_sma_cross.py:DemoSmaCross

or in a config (``strategy = "examples/strategies/demo_sma_cross.py:DemoSmaCross"``, with
``[params] fast = 24``). ``python examples/strategies/demo_sma_cross.py`` runs it on the
synthetic demo data and prints the metrics.
"""

from __future__ import annotations

from levtrade.backtest import BacktestConfig, Strategy, run
from levtrade.data import demo_portfolio
from levtrade.strategy import indicators as ind


class DemoSmaCross(Strategy):
    """Always in the market after the first crossover: long above, short below."""

    params = (("fast", 48), ("slow", 168), ("stake", 0.45), ("stop", 0.08), ("target", 0.2))
    """``stake``: fraction of the equity put up as margin per entry (split over the pairs);
    ``stop`` / ``target``: distance of the protective stop and the take-profit from the
    signal bar's close, as a fraction of the price."""

    def __init__(self) -> None:
        self.cross = {
            feed.symbol: ind.crossover(
                ind.SMA(feed.close, self.p.fast), ind.SMA(feed.close, self.p.slow)
            )
            for feed in self.datas
        }

    def next(self) -> None:
        for feed in self.datas:
            signal = self.cross[feed.symbol][0]
            if signal == 0:
                continue
            if self.getposition(feed):
                self.close(feed)  # its stop and take-profit are cancelled when it closes
            margin = self.broker.get_value() * self.p.stake / len(self.datas)
            price = feed.close[0]
            if signal > 0:
                self.buy_bracket(
                    feed,
                    stopprice=price * (1.0 - self.p.stop),
                    limitprice=price * (1.0 + self.p.target),
                    stake=margin,
                )
            else:
                self.sell_bracket(
                    feed,
                    stopprice=price * (1.0 + self.p.stop),
                    limitprice=price * (1.0 - self.p.target),
                    stake=margin,
                )


def main() -> None:
    """Run on the synthetic demo data and print the metrics."""
    result = run(DemoSmaCross, demo_portfolio(), BacktestConfig(leverage=5))
    print("SYNTHETIC DATA (levtrade.data.demo)")
    print(result.metrics.to_string())


if __name__ == "__main__":
    main()
