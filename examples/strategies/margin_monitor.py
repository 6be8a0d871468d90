"""Margin monitor: a high-leverage trend entry guarded by the emergency protocol.

The entry is deliberately aggressive so the guard has work to do: on a fast/slow SMA
crossover the strategy opens a cross-margin position at ``leverage`` (20x) with
``margin_fraction`` of the equity as initial margin (:func:`~levtrade.risk.affordable_size`),
about 10x the equity in notional. At every close the position is handed to::

    EmergencyProtocol([MarginLevelBelow(margin_level, ReduceBy(0.3)),
                       LiquidationWithin(0.05, action=CloseAll())], cooldown=...)

which returns reduce-only orders: 30 % of the position when the margin level (equity ÷
maintenance margin) is below ``margin_level``, the whole position when the mark is within 5 %
of the liquidation price (the stronger action wins when both fire). The strategy sends them as
market orders (filled at the next open). The run's :func:`~levtrade.risk.margin_analyzers`
report the margin level history, the margin calls below ``margin_level`` and the distance to
liquidation.

The protocol looks at closes only: a bar that moves from outside the 5 % band through the
liquidation price in one go liquidates before the protocol sees it (on Binance's 1h BTCUSDT
candles the 2024-04-13 20:00 UTC bar fell 7.9 % from its open to its low).

Choosing ``margin_level``: on Binance's first BTC tier (maintenance rate 0.4 %) a single cross
long at margin level *m* is about (m − 1) × 0.4 % above its liquidation price, so the default
20 (margin ratio 5 %) reduces about 7.6 % before liquidation — ahead of the 5 % exit. A level
of 1.5 would sit 0.2 % from liquidation, after the exit.

Run it: ``python examples/strategies/margin_monitor.py`` (synthetic demo data).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from levtrade.backtest import BacktestConfig, BacktestResult, Strategy, run
from levtrade.data import MarketData, demo_market
from levtrade.errors import StrategyError
from levtrade.risk import (
    CloseAll,
    EmergencyProtocol,
    LiquidationWithin,
    MarginLevelBelow,
    ReduceBy,
    RiskContext,
    affordable_size,
    margin_analyzers,
)
from levtrade.strategy import indicators as ind
from levtrade.strategy.base import collect_params

HOUR_MS = 3_600_000


class MarginMonitorStrategy(Strategy):
    """SMA crossover entries at high leverage; exits and cuts by the emergency protocol."""

    params = (
        ("fast", 120),
        ("slow", 360),
        ("leverage", 20.0),
        ("margin_fraction", 0.5),
        ("margin_level", 20.0),
        ("reduce_fraction", 0.3),
        ("liquidation_distance", 0.05),
        ("cooldown_hours", 8.0),
        ("exit_on_reversal", True),
        ("allow_short", True),
        ("protect", True),
        ("margin_mode", "cross"),
    )
    """``cooldown_hours``: a trigger that fired waits that long before it fires again;
    ``exit_on_reversal`` False leaves every exit to the protocol (and end of data);
    ``protect`` False skips the protocol (the same entries unguarded, for comparison);
    ``margin_mode`` must match ``BacktestConfig.margin_mode``."""

    def __init__(self) -> None:
        self.fast = ind.SMA(self.data.close, self.p.fast)
        self.slow = ind.SMA(self.data.close, self.p.slow)
        self.cross = ind.crossover(self.fast, self.slow)
        self.protocol = EmergencyProtocol(
            [
                MarginLevelBelow(self.p.margin_level, ReduceBy(self.p.reduce_fraction)),
                LiquidationWithin(self.p.liquidation_distance, action=CloseAll()),
            ],
            cooldown=round(self.p.cooldown_hours * HOUR_MS),
        )

    def start(self) -> None:
        symbol = self.data.symbol
        mode = self.account.margin_mode(symbol).value
        if mode != self.p.margin_mode:
            raise StrategyError(
                f"margin_mode: the strategy expects {self.p.margin_mode!r} but the run opens "
                f"{symbol} positions in {mode!r}; set BacktestConfig(margin_mode=...)"
            )

    def next(self) -> None:
        if self.position and self.p.protect:
            orders = self.protocol.check(self.account, RiskContext(time=self.now))
            for order in orders:
                if order.kind == "close":
                    self.close(order.symbol, tag="emergency close")
                else:
                    self.close(order.symbol, size=abs(order.size), tag="emergency reduce")
            if orders:
                return
        signal = self.cross[0]
        if signal == 0.0:
            return
        held = self.position.size
        wanted = 1.0 if signal > 0 else -1.0
        if held * wanted > 0:
            return
        if held != 0.0:
            if not self.p.exit_on_reversal:
                return
            self.close(tag="reversal")
        if wanted < 0 and not self.p.allow_short:
            return
        stake = self.broker.get_value() * self.p.margin_fraction
        size = affordable_size(self.instrument(), self.data.close[0], stake, self.p.leverage)
        if size > 0:
            send = self.buy if wanted > 0 else self.sell
            send(size=size, leverage=self.p.leverage, tag="entry")


def config(margin_mode: str = "cross", **fields: Any) -> BacktestConfig:
    """The run's settings: Binance, 10,000 USDT, the given margin mode."""
    values: dict[str, Any] = {"venue": "binance", "wallet": 10_000.0}
    values.update(fields)
    return BacktestConfig(margin_mode=margin_mode, **values)


def backtest(
    data: MarketData,
    params: Mapping[str, Any] | None = None,
    settings: BacktestConfig | None = None,
) -> BacktestResult:
    """Run :class:`MarginMonitorStrategy` on ``data`` with the run's margin mode and
    contract."""
    chosen = collect_params(MarginMonitorStrategy, params)
    mode = chosen["margin_mode"]
    run_config = settings if settings is not None else config(mode)
    level = float(chosen["margin_level"])
    analyzers = margin_analyzers(margin_call_level=level, thresholds=(level,), data=data)
    return run(MarginMonitorStrategy, data, run_config, params=chosen, analyzers=analyzers)


def print_report(title: str, result: BacktestResult) -> None:
    """Print the run's key metrics and what the protocol did."""
    print(title)
    metrics = result.metrics
    for name in ("total_return", "max_drawdown", "trades", "liquidations", "fees"):
        value = float(metrics[name])
        text = f"{value:.0f}" if name in ("trades", "liquidations") else f"{value:.4f}"
        print(f"  {name:<24} {text}")
    orders = result.orders
    filled = orders[orders["status"] == "filled"]
    for tag in ("emergency reduce", "emergency close", "reversal"):
        print(f"  {tag + ' orders':<24} {int((filled['tag'] == tag).sum())}")
    minimum = result.analyzers["min_margin_level"]
    print(f"  {'min margin level':<24} {float(minimum['min_margin_level']):.3f}")
    print(f"  {'margin-call episodes':<24} {len(result.analyzers['margin_calls'])}")


def main() -> None:
    data = demo_market()
    synthetic = bool(data.metadata.get("synthetic"))
    label = "SYNTHETIC demo data, not market history" if synthetic else "recorded data"
    print(f"Margin monitor: 20x SMA-crossover entries — {data.symbol}, {len(data)} bars ({label})")
    print_report("with the emergency protocol", backtest(data))
    print_report("without it (same entries)", backtest(data, {"protect": False}))


if __name__ == "__main__":
    main()
