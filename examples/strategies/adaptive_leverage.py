"""Adaptive leverage: a trend follower whose leverage follows volatility, ADX and drawdown.

At each bar :class:`~levtrade.risk.DynamicLeverage` turns the market state into a leverage::

    leverage = clip(base × s_vol × s_trend × s_dd, 1, min(max_leverage, tier maximum))

with ``s_vol = min(target_volatility / realised volatility, 2)``, ``s_trend`` rising with the
ADX from ``adx_min_scale`` (ADX ≤ 20) to 1 (ADX ≥ 40) and ``s_dd = 1 − drawdown /
max_drawdown`` from the strategy's running peak of total equity. ``max_leverage`` is 5.

The position follows the trend (fast SMA above the slow one: long, below: short). An entry
puts ``margin_fraction`` of the equity up as initial margin at that leverage
(:func:`~levtrade.risk.affordable_size`: IM + entry fee = the stake), so the exposure is about
``margin_fraction × leverage`` times the equity. While a position is open and the leverage
falls (volatility up, trend weaker, drawdown deeper), the position is cut back to the size the
new leverage allows once it is more than ``rebalance_band`` above it.

Run it: ``python examples/strategies/adaptive_leverage.py`` (synthetic demo data).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from levtrade.backtest import BacktestConfig, BacktestResult, Strategy, run
from levtrade.data import MarketData, demo_market
from levtrade.errors import StrategyError
from levtrade.risk import (
    DynamicLeverage,
    adx,
    affordable_size,
    margin_analyzers,
    realized_volatility,
)
from levtrade.strategy import indicators as ind
from levtrade.strategy.base import collect_params

MS_PER_YEAR = 365 * 24 * 3_600_000


class AdaptiveLeverage(Strategy):
    """SMA trend follower at the leverage :class:`DynamicLeverage` gives each bar (≤ 5x)."""

    params = (
        ("fast", 24),
        ("slow", 96),
        ("base", 3.0),
        ("max_leverage", 5.0),
        ("target_volatility", 0.5),
        ("vol_window", 24),
        ("adx_period", 14),
        ("adx_min_scale", 0.5),
        ("max_drawdown", 0.25),
        ("margin_fraction", 0.9),
        ("rebalance_band", 0.25),
        ("margin_mode", "cross"),
    )
    """``target_volatility`` is annualised (the realised volatility is annualised from the
    data's bar length); ``max_drawdown`` None leaves drawdown out; ``margin_mode`` must match
    ``BacktestConfig.margin_mode``."""

    def __init__(self) -> None:
        data = self.data
        times = data.datetime.array
        if times.size < 2:
            raise StrategyError("data: the adaptive strategy needs at least two bars")
        periods_per_year = MS_PER_YEAR / float(times[1] - times[0])
        self.fast = ind.SMA(data.close, self.p.fast)
        self.slow = ind.SMA(data.close, self.p.slow)
        self.volatility = data.close.derive(
            realized_volatility(
                data.close.array, self.p.vol_window, periods_per_year=periods_per_year
            ),
            "volatility",
        )
        self.adx = data.close.derive(
            adx(data.high.array, data.low.array, data.close.array, self.p.adx_period), "adx"
        )
        self.rule = DynamicLeverage(
            base=self.p.base,
            max_leverage=self.p.max_leverage,
            target_volatility=self.p.target_volatility,
            adx_min_scale=self.p.adx_min_scale,
            max_drawdown=self.p.max_drawdown,
        )
        self.peak = -math.inf
        self.leverage_log: list[tuple[int, float]] = []
        """(bar open time, leverage) of every bar the strategy decided on."""

    def start(self) -> None:
        symbol = self.data.symbol
        mode = self.account.margin_mode(symbol).value
        if mode != self.p.margin_mode:
            raise StrategyError(
                f"margin_mode: the strategy expects {self.p.margin_mode!r} but the run opens "
                f"{symbol} positions in {mode!r}; set BacktestConfig(margin_mode=...)"
            )

    def current_leverage(self) -> float:
        """This bar's leverage from volatility, ADX and the drawdown of the total equity."""
        equity = self.broker.get_value()
        self.peak = max(self.peak, equity)
        drawdown = None
        if self.p.max_drawdown is not None:
            drawdown = max(0.0, 1.0 - equity / self.peak) if self.peak > 0 else 1.0
        return self.rule.leverage(
            volatility=self.volatility[0],
            adx=self.adx[0],
            drawdown=drawdown,
            tiers=self.account.tiers(self.data.symbol),
            notional=max(equity, 0.0) * self.p.max_leverage,
        )

    def target_size(self, leverage: float) -> float:
        """Contracts whose initial margin and entry fee are ``margin_fraction`` of equity."""
        stake = max(self.broker.get_value(), 0.0) * self.p.margin_fraction
        return affordable_size(self.instrument(), self.data.close[0], stake, leverage)

    def next(self) -> None:
        leverage = self.current_leverage()
        self.leverage_log.append((self.now, leverage))
        wanted = 1.0 if self.fast[0] > self.slow[0] else -1.0
        held = self.position.size
        if held != 0.0 and np.sign(held) != wanted:
            self.close()
            held = 0.0
        if held == 0.0:
            size = self.target_size(leverage)
            if size > 0:
                order = self.buy if wanted > 0 else self.sell
                order(size=size, leverage=leverage, tag=f"{leverage:.4g}x")
            return
        allowed = self.target_size(leverage)
        if abs(held) > allowed * (1.0 + self.p.rebalance_band):
            self.close(size=abs(held) - allowed, tag=f"delever to {leverage:.4g}x")


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
    """Run :class:`AdaptiveLeverage` on ``data`` with the run's margin mode and contract."""
    chosen = collect_params(AdaptiveLeverage, params)
    mode = chosen["margin_mode"]
    run_config = settings if settings is not None else config(mode)
    return run(
        AdaptiveLeverage, data, run_config, params=chosen, analyzers=margin_analyzers(data=data)
    )


def main() -> None:
    data = demo_market()
    result = backtest(data)
    synthetic = bool(data.metadata.get("synthetic"))
    label = "SYNTHETIC demo data, not market history" if synthetic else "recorded data"
    print(f"Adaptive leverage (≤ 5x) — {data.symbol}, {len(data)} bars ({label})")
    metrics = result.metrics
    for name in ("total_return", "max_drawdown", "sharpe", "trades", "liquidations", "fees"):
        value = float(metrics[name])
        text = f"{value:.0f}" if name in ("trades", "liquidations") else f"{value:.4f}"
        print(f"  {name:<18} {text}")
    trades = result.trades
    if len(trades):
        lev = trades["leverage"]
        print(
            f"  entry leverage     min {lev.min():.2f}x  mean {lev.mean():.2f}x  "
            f"max {lev.max():.2f}x"
        )
    effective = result.analyzers["effective_leverage"]
    print(
        f"  effective leverage max {float(effective['max']):.2f}x, "
        f"mean when exposed {float(effective['mean_when_exposed']):.2f}x"
    )


if __name__ == "__main__":
    main()
