"""NautilusTrader: the SMA cross as an event-driven ``Strategy`` on bars.

Idiom: the low-level ``BacktestEngine`` with a simulated Binance venue (margin account,
NETTING order management, default leverage 3, USDT balances), a ``CryptoPerpetual`` instrument
(taker fee 0.05 %, amount step 1e-8 so sizes are fractional like the other tools'), bars from
``BarDataWrangler`` stamped at their close time, ``SimpleMovingAverage`` indicators registered
for the bars, and market orders from ``on_bar``. A flip is one market order for the held size
plus the new size (NETTING closes and reopens the position on that fill).

Fill model: NautilusTrader executes bars in the matching engine (open, high, low, close) and
calls ``on_bar`` after the close, so a market order submitted there fills at that close, not at
the next bar's open. The size follows the benchmark's rule at that price. On the synthetic
series the next open equals the close; on the real Binance candles they differ by 7e-7 of the
price on average. ``matching`` states the fill model for the reference cross-check.

End of data: the position still open is closed at the last close with the fee, from the
account's balance, the position's average open price and the last close.
"""

from __future__ import annotations

import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pandas as pd

from benchmarks.workloads import Workload

NAME = "NautilusTrader"
PACKAGES = ("nautilus_trader",)
KINDS = ("event",)
WARMUP_BARS = 2_000


def matching(workload: Workload) -> Workload:
    """The workload as this peer models it: fills at the signal bar's close."""
    return replace(workload, fill_at="signal_close")


def _decimals(frame: pd.DataFrame) -> int:
    """Price decimals that represent every price in ``frame`` (at most 8)."""
    prices = frame[["open", "high", "low", "close"]].to_numpy()
    for decimals in range(9):
        if (abs(prices * 10**decimals - (prices * 10**decimals).round()) < 1e-6).all():
            return decimals
    return 8


def simulate(frame: pd.DataFrame, workload: Workload) -> tuple[int, float]:
    """Run the strategy on ``frame``; (trades, final equity)."""
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig, StrategyConfig
    from nautilus_trader.indicators import SimpleMovingAverage
    from nautilus_trader.model.currencies import BTC, USDT
    from nautilus_trader.model.data import Bar, BarType
    from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
    from nautilus_trader.model.instruments import CryptoPerpetual
    from nautilus_trader.model.objects import Money, Price, Quantity
    from nautilus_trader.persistence.wranglers import BarDataWrangler
    from nautilus_trader.trading.strategy import Strategy

    venue = Venue("BINANCE")
    decimals = _decimals(frame)
    instrument = CryptoPerpetual(
        instrument_id=InstrumentId(Symbol("BTCUSDT-PERP"), venue),
        raw_symbol=Symbol("BTCUSDT"),
        base_currency=BTC,
        quote_currency=USDT,
        settlement_currency=USDT,
        is_inverse=False,
        price_precision=decimals,
        price_increment=Price(10.0**-decimals, decimals),
        size_precision=8,
        size_increment=Quantity.from_str("0.00000001"),
        max_quantity=None,
        min_quantity=None,
        max_notional=None,
        min_notional=None,
        max_price=None,
        min_price=None,
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        maker_fee=Decimal(str(workload.fee)),
        taker_fee=Decimal(str(workload.fee)),
        ts_event=0,
        ts_init=0,
    )
    minutes = int(pd.Timedelta(workload.timeframe).total_seconds() // 60)
    bar_type = BarType.from_str(f"{instrument.id}-{minutes}-MINUTE-LAST-EXTERNAL")
    leverage, fee = workload.leverage, workload.fee

    class SmaCrossConfig(StrategyConfig, frozen=True):  # type: ignore[misc,call-arg]
        fast: int
        slow: int

    class SmaCross(Strategy):  # type: ignore[misc]
        def __init__(self, config: SmaCrossConfig) -> None:
            super().__init__(config)
            self.sma_fast = SimpleMovingAverage(config.fast)
            self.sma_slow = SimpleMovingAverage(config.slow)
            self.entries = 0

        def on_start(self) -> None:
            self.register_indicator_for_bars(bar_type, self.sma_fast)
            self.register_indicator_for_bars(bar_type, self.sma_slow)
            self.subscribe_bars(bar_type)

        def on_bar(self, bar: Bar) -> None:
            if not self.sma_slow.initialized:
                return
            fast, slow = self.sma_fast.value, self.sma_slow.value
            if fast > slow:
                side = 1
            elif fast < slow:
                side = -1
            else:
                return
            held, average = self.held()
            if held * side > 0:
                return
            price = bar.close.as_double()
            balance = self.portfolio.account(venue).balance_total(USDT).as_double()
            equity = balance + held * (price - average) - abs(held) * price * fee
            size = leverage * equity / (price * (1.0 + leverage * fee))
            order = self.order_factory.market(
                instrument.id,
                OrderSide.BUY if side > 0 else OrderSide.SELL,
                instrument.make_qty(abs(held) + size),
            )
            self.submit_order(order)
            self.entries += 1

        def held(self) -> tuple[float, float]:
            """Signed size and average open price of the open position (0, 0 when flat)."""
            for position in self.cache.positions_open(instrument_id=instrument.id):
                return position.signed_qty, position.avg_px_open
            return 0.0, 0.0

    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(log_level="ERROR")))
    engine.add_venue(
        venue=venue,
        oms_type=OmsType.NETTING,
        account_type=AccountType.MARGIN,
        base_currency=USDT,
        starting_balances=[Money(workload.equity, USDT)],
        default_leverage=Decimal(str(leverage)),
    )
    engine.add_instrument(instrument)
    stamped = frame.copy()
    stamped.index = stamped.index + pd.Timedelta(minutes=minutes)  # bars are stamped at close
    engine.add_data(BarDataWrangler(bar_type, instrument).process(stamped))
    strategy = SmaCross(SmaCrossConfig(fast=workload.fast, slow=workload.slow))
    engine.add_strategy(strategy)
    engine.run()
    held, average = strategy.held()
    last = float(frame["close"].iloc[-1])
    equity = engine.portfolio.account(venue).balance_total(USDT).as_double()
    equity += held * (last - average) - abs(held) * last * fee
    engine.dispose()
    return strategy.entries, equity


def run(workload: Workload) -> dict[str, Any]:
    """Measure one run: warm-up on a prefix, then the timed full run."""
    import nautilus_trader  # noqa: F401  (import time is not part of either figure)

    frame = workload.frame()
    start = time.perf_counter()
    simulate(frame.iloc[:WARMUP_BARS], workload)
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    trades, equity = simulate(frame, workload)
    wall = time.perf_counter() - start
    return {"trades": trades, "final_equity": equity, "wall_s": wall, "warmup_s": warmup}
