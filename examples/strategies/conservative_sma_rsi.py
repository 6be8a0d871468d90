"""Conservative 2x SMA/RSI long/short with 1 % of equity at risk per trade.

The trend is the fast SMA against the slow SMA; an entry waits for a pullback to end: RSI
crossing back up through ``rsi_long`` in an uptrend (long), back down through ``rsi_short``
in a downtrend (short). Each entry is a bracket: a limit at the signal bar's close, a stop
``stop`` (3 %) away and a take-profit ``target`` (6 %) away. The limit entry fills at its
price or better, so the distance to the stop, and with it the loss at the stop, is known
when the order is sent.

All arithmetic is the risk toolkit's: :func:`~levtrade.risk.risk_position_size` sizes the
entry so that the loss at the stop, fees included, is ``risk_per_trade`` of the equity (held
within the tier and the available balance), and :class:`~levtrade.risk.RiskRules` checks the
order (leverage ≤ 2, risk per trade) before it is sent. The sizing counts the taker fee on
both sides; the limit entry pays the maker fee, so the loss at the stop is slightly under the
budget. Margin mode: ``margin_mode`` (isolated by default; :func:`backtest` runs with it).

Run it: ``python examples/strategies/conservative_sma_rsi.py`` (synthetic demo data).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal

from levtrade.backtest import BacktestConfig, BacktestResult, Order, Strategy, run
from levtrade.data import MarketData, demo_market
from levtrade.errors import StrategyError
from levtrade.risk import OrderIntent, RiskRules, margin_analyzers, risk_position_size
from levtrade.strategy import indicators as ind
from levtrade.strategy.base import collect_params


class ConservativeSmaRsi(Strategy):
    """SMA trend + RSI pullback entries, bracketed at −3 %/+6 %, sized for 1 % risk."""

    params = (
        ("fast", 20),
        ("slow", 50),
        ("rsi_period", 14),
        ("rsi_long", 40.0),
        ("rsi_short", 60.0),
        ("leverage", 2.0),
        ("risk_per_trade", 0.01),
        ("stop", 0.03),
        ("target", 0.06),
        ("entry_bars", 1),
        ("allow_short", True),
        ("margin_mode", "isolated"),
    )
    """``stop``/``target`` are fractions of the entry price; ``entry_bars`` is how many bars an
    unfilled limit entry rests before it is cancelled; ``margin_mode`` must match the run's
    ``BacktestConfig.margin_mode`` (:func:`backtest` sets it)."""

    def __init__(self) -> None:
        close = self.data.close
        self.fast = ind.SMA(close, self.p.fast)
        self.slow = ind.SMA(close, self.p.slow)
        self.rsi = ind.RSI(close, self.p.rsi_period)
        self.rsi_up = ind.crossover(self.rsi, float(self.p.rsi_long))
        self.rsi_down = ind.crossover(self.rsi, float(self.p.rsi_short))
        self.rules = RiskRules(
            max_leverage=self.p.leverage, max_risk_per_trade=self.p.risk_per_trade
        )
        self.entry: Order | None = None

    def start(self) -> None:
        symbol = self.data.symbol
        mode = self.account.margin_mode(symbol).value
        if mode != self.p.margin_mode:
            raise StrategyError(
                f"margin_mode: the strategy expects {self.p.margin_mode!r} but the run opens "
                f"{symbol} positions in {mode!r}; set BacktestConfig(margin_mode=...)"
            )

    def next(self) -> None:
        if self.entry is not None and self.entry.alive:
            if len(self) - 1 - self.entry.created_bar >= self.p.entry_bars:
                self.cancel(self.entry)
            return
        if self.position:
            return
        if self.fast[0] > self.slow[0] and self.rsi_up[0] > 0:
            self.enter("long")
        elif self.p.allow_short and self.fast[0] < self.slow[0] and self.rsi_down[0] < 0:
            self.enter("short")

    def enter(self, side: Literal["long", "short"]) -> None:
        """Send a bracket on ``side`` sized so the loss at the stop is the risk budget."""
        price = self.data.close[0]
        sign = 1.0 if side == "long" else -1.0
        stop = price * (1.0 - sign * self.p.stop)
        target = price * (1.0 + sign * self.p.target)
        symbol = self.data.symbol
        sized = risk_position_size(
            self.instrument(),
            side,
            price,
            stop,
            self.broker.get_value() * self.p.risk_per_trade,
            leverage=self.p.leverage,
            tiers=self.account.tiers(symbol),
            available_balance=self.broker.get_cash(),
        )
        if not sized.size > 0:
            return
        intent = OrderIntent(
            self.instrument(),
            sized.signed_size,
            price,
            leverage=self.p.leverage,
            stop_price=stop,
            time=self.now,
        )
        if not self.rules.check(intent, self.account):
            return
        bracket = self.buy_bracket if side == "long" else self.sell_bracket
        self.entry, _, _ = bracket(
            size=sized.size,
            price=price,
            exectype="limit",
            stopprice=stop,
            limitprice=target,
            leverage=self.p.leverage,
            tag=side,
        )


def config(margin_mode: str = "isolated", **fields: Any) -> BacktestConfig:
    """The run's settings: Binance, 10,000 USDT, 2x, the given margin mode."""
    values: dict[str, Any] = {"venue": "binance", "wallet": 10_000.0, "leverage": 2.0}
    values.update(fields)
    return BacktestConfig(margin_mode=margin_mode, **values)


def backtest(
    data: MarketData,
    params: Mapping[str, Any] | None = None,
    settings: BacktestConfig | None = None,
) -> BacktestResult:
    """Run :class:`ConservativeSmaRsi` on ``data`` with the run's margin mode and contract."""
    chosen = collect_params(ConservativeSmaRsi, params)
    mode = chosen["margin_mode"]
    run_config = settings if settings is not None else config(mode)
    return run(
        ConservativeSmaRsi,
        data,
        run_config,
        params=chosen,
        analyzers=margin_analyzers(data=data),
    )


def print_report(title: str, result: BacktestResult, data: MarketData) -> None:
    """Print the run's key metrics, flagging synthetic data."""
    synthetic = bool(data.metadata.get("synthetic"))
    label = "SYNTHETIC demo data, not market history" if synthetic else "recorded data"
    print(f"{title} — {data.symbol}, {len(data)} bars ({label})")
    metrics = result.metrics
    for name in ("total_return", "max_drawdown", "sharpe", "win_rate", "profit_factor"):
        if name in metrics:
            print(f"  {name:<16} {_fmt(metrics[name])}")
    trades = result.trades
    print(f"  trades           {len(trades)}")
    if len(trades):
        reasons = trades["exit_reason"].value_counts()
        print(f"  exit reasons     {', '.join(f'{k} {int(v)}' for k, v in reasons.items())}")
        print(f"  max leverage     {trades['leverage'].max():g}x")
    print(f"  liquidations     {result.analyzers['liquidations']['liquidations']}")


def _fmt(value: Any) -> str:
    number = float(value)
    return f"{number:.4f}" if math.isfinite(number) else str(number)


def main() -> None:
    data = demo_market()
    for mode in ("isolated", "cross"):
        result = backtest(data, {"margin_mode": mode})
        print_report(f"Conservative 2x SMA/RSI ({mode})", result, data)


if __name__ == "__main__":
    main()
