"""Running a ``SignalStrategy`` live: its ``populate_*`` on the closed candles so far, then the
decision at the last close, as FreqTrade's bot makes it.

At each closed candle :meth:`SignalHost.decide` computes the strategy's signal table on the
candles so far (:meth:`~levtrade.strategy.signal_strategy.SignalStrategy.to_signals`, the
same columns a backtest computes) and reads its last row the way the backtester's signal
driver reads every row: an exit signal closes the position; a flat symbol (or one just
exited) enters on an entry signal, with the row's leverage and stake. The exits the rules
declare are checked at the close, as FreqTrade's bot checks them at each iteration:

* ``stoploss`` — on the venue when ``stoploss_on_exchange`` is set (the protective stop,
  :mod:`levtrade.live.protect`); otherwise at the close: a close beyond the level exits;
* ``trailing_stop`` — the stop moved behind the best price since the entry (FreqTrade's
  ``trailing_stop_positive``/``_offset`` rules), checked at the close;
* ``minimal_roi`` — the ratio in force for the trade's age, net of both fees and the funding
  booked, checked at the close.

The backtester checks these on each bar's path and fills at the level; live they are checked at
the closes and exit at the next price (docs/trading.md). Entries are sized by stake at
submission, from the last close.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from levtrade._jit import plain
from levtrade.backtest import path
from levtrade.data import MarketData, Portfolio
from levtrade.live.broker import LiveBroker
from levtrade.live.trades import TradeState
from levtrade.model.orders import Order, OrderType
from levtrade.spec import RunSpec
from levtrade.strategy.signal_strategy import SignalStrategy
from levtrade.strategy.signals import SignalRules, SymbolSignals

_profit_ratio = plain(path.profit_ratio)
_roi_level = plain(path.roi_level)
_trailing_ratio = plain(path.trailing_ratio)
_stoploss_level = plain(path.stoploss_level)
MS_PER_MINUTE = 60_000.0


class SignalHost:
    """One signal strategy through the bot's life (module docstring)."""

    def __init__(
        self,
        strategy: SignalStrategy,
        broker: LiveBroker,
        spec: RunSpec,
        trades: Callable[[], list[TradeState]],
        *,
        stop_on_venue: bool,
    ) -> None:
        self.strategy = strategy
        self.broker = broker
        self.spec = spec
        self.trades = trades
        self.stop_on_venue = stop_on_venue

    def decide(self, portfolio: Portfolio) -> None:
        """The decision at the close of the last bar of ``portfolio`` (module docstring)."""
        signals = self.strategy.to_signals(portfolio, self.spec)
        rules = signals.rules
        broker = self.broker
        i = len(portfolio) - 1
        broker.bar = i
        broker.time = int(portfolio.timestamps[-1])
        broker.notifications.clear()
        held = {(t.symbol, t.leg): t for t in self.trades() if t.is_open}
        for j, symbol in enumerate(broker.symbols):
            table = signals.by_symbol.get(symbol)
            market = portfolio[symbol]
            if table is None or not math.isfinite(float(market.close[i])):
                continue
            executed = table.executed(rules, hedge=broker.hedge)
            legs = ("LONG", "SHORT") if broker.hedge else ("BOTH",)
            for leg in legs:
                self._leg(
                    j, symbol, leg, executed, table, rules, market, held.get((symbol, leg)), i
                )

    def _leg(
        self,
        j: int,
        symbol: str,
        leg: str,
        table: SymbolSignals,
        raw: SymbolSignals,
        rules: SignalRules,
        market: MarketData,
        trade: TradeState | None,
        i: int,
    ) -> None:
        broker = self.broker
        current = broker.sizes[j].get(leg, 0.0)
        exiting = ""
        if current != 0.0:
            is_long = current > 0
            if (is_long and table.exit_long[i]) or (not is_long and table.exit_short[i]):
                exiting = "signal"
            elif trade is not None:
                exiting = self._rule_exit(rules, raw, trade, market, i, is_long, symbol)
            if exiting:
                self._submit(symbol, "sell" if is_long else "buy", abs(current), leg, exiting,
                             close=True)  # fmt: skip
        if current != 0.0 and not exiting:
            return
        long_entry = bool(table.enter_long[i]) and leg in ("BOTH", "LONG")
        short_entry = bool(table.enter_short[i]) and rules.can_short and leg in ("BOTH", "SHORT")
        if long_entry == short_entry:
            return
        leverage = float(table.leverage[i])
        stake = float(table.stake[i])
        self._submit(
            symbol, "buy" if long_entry else "sell", math.nan, leg, "signal",
            leverage=None if math.isnan(leverage) else leverage,
            stake=None if math.isnan(stake) else stake,
        )  # fmt: skip

    def _rule_exit(
        self,
        rules: SignalRules,
        raw: SymbolSignals,
        trade: TradeState,
        market: MarketData,
        i: int,
        is_long: bool,
        symbol: str,
    ) -> str:
        """``stop_loss``, ``trailing_stop``, ``roi`` or '' at this close (module docstring)."""
        close = float(market.close[i])
        entry = trade.entry_price
        leverage = self.broker.leverage.get(symbol, 1.0)
        if rules.stoploss is not None and not self.stop_on_venue and not rules.trailing_stop:
            level = _stoploss_level(entry, is_long, rules.stoploss, leverage)
            if (close <= level) if is_long else (close >= level):
                return "stop_loss"
        if rules.trailing_stop:
            times = market.timestamps
            since = int(np.searchsorted(times, trade.opened_at))
            extremes = market.high if is_long else market.low
            window = np.asarray(extremes[since : i + 1], dtype=np.float64)
            best = float(window.max() if is_long else window.min()) if window.size else entry
            instrument = self.spec.instrument(symbol)
            # the offset is compared with the profit net of both taker fees and the funding
            # booked (FreqTrade's calc_profit_ratio), as the backtester compares it
            profit = _profit_ratio(
                entry, best, is_long, leverage, trade.remaining * instrument.contract_size,
                trade.funding, instrument.taker_fee, instrument.taker_fee,
            )  # fmt: skip
            ratio = _trailing_ratio(
                profit,
                math.nan if rules.stoploss is None else float(rules.stoploss),
                math.nan
                if rules.trailing_stop_positive is None
                else float(rules.trailing_stop_positive),
                float(rules.trailing_stop_positive_offset),
                bool(rules.trailing_only_offset_is_reached),
            )
            if not math.isnan(ratio):
                level = (
                    best * (1.0 - ratio / leverage) if is_long else best * (1.0 + ratio / leverage)
                )
                if (close <= level) if is_long else (close >= level):
                    return "trailing_stop"
        if rules.minimal_roi:
            entries = raw.enter_long if is_long else raw.enter_short
            if rules.ignore_roi_if_entry_signal and bool(entries[i]):
                return ""
            keys = sorted(rules.minimal_roi)
            minutes = np.array([float(k) for k in keys], dtype=np.float64)
            ratios = np.array([rules.minimal_roi[k] for k in keys], dtype=np.float64)
            closed_at = int(market.timestamps[i]) + market.timeframe_ms
            age = (closed_at - trade.opened_at) / MS_PER_MINUTE
            ratio = path.roi_ratio(minutes, ratios, age)
            if not math.isnan(ratio):
                instrument = self.spec.instrument(symbol)
                level = _roi_level(
                    entry, is_long, ratio, leverage,
                    trade.remaining * instrument.contract_size, trade.funding,
                    instrument.taker_fee, instrument.maker_fee,
                )  # fmt: skip
                if (close >= level) if is_long else (close <= level):
                    return "roi"
        return ""

    def _submit(
        self,
        symbol: str,
        side: str,
        size: float,
        leg: str,
        origin: str,
        *,
        close: bool = False,
        leverage: float | None = None,
        stake: float | None = None,
    ) -> None:
        broker = self.broker
        order = Order(
            id=broker.new_id(),
            symbol=symbol,
            side=side,
            type=OrderType.MARKET,
            size=size,
            price=math.nan,
            created_time=broker.time,
            created_bar=broker.bar,
            leg=None if leg == "BOTH" else leg,
            reduce_only=close,
            close_position=close,
            leverage=leverage,
            stake=stake,
            origin=origin,
            tag=("exit_" if close else "enter_")
            + ("long" if (side == "buy") != close else "short"),
        )
        broker.submit(order)

    def deliver(self) -> None:
        """Signal strategies take no notifications: they decide from the signal columns."""
        self.broker.notifications.clear()

    def stop(self) -> None:
        self.deliver()
