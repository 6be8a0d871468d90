"""Trades from fills: a position from open to flat, per symbol and leg, as the backtester keeps
them (:class:`levtrade.model.orders.Trade`), built from the venue's executions.

A fill in the trade's direction opens or adds (size, entry value, its fee); one against it
closes (exit value, the venue's realized PnL, its fee); a fill that goes through flat closes the
trade and opens the next with the rest, its fee split by quantity (the same rate on both parts,
as the backtester splits it). Funding goes to the trade open at the settlement; a liquidation's
clearance (Binance's ``INSURANCE_CLEAR``) to the trade the liquidation closed.

Pure functions over :class:`TradeState`, so that the store and its schema migration (which
built the trades of a database written before they existed) apply the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class TradeState:
    """A trade's figures (the columns of the store's ``trades`` table)."""

    symbol: str
    leg: str
    side: str
    opened_at: int
    size: float = 0.0
    entry_value: float = 0.0
    closed: float = 0.0
    exit_value: float = 0.0
    realized: float = 0.0
    fees: float = 0.0
    funding: float = 0.0
    clearance: float = 0.0
    exit_reason: str = ""
    closed_at: int | None = None
    is_open: bool = True
    id: int | None = None

    @property
    def remaining(self) -> float:
        """Contracts still open (≥ 0)."""
        return self.size - self.closed

    @property
    def signed_remaining(self) -> float:
        return self.remaining if self.side == "long" else -self.remaining

    @property
    def entry_price(self) -> float:
        return self.entry_value / self.size if self.size else 0.0

    @property
    def pnl(self) -> float:
        return self.realized - self.fees + self.funding + self.clearance


@dataclass(frozen=True)
class FillFacts:
    """What a fill tells a trade."""

    symbol: str
    leg: str
    side: str
    amount: float
    price: float
    fee: float
    realized_pnl: float
    reason: str
    time: int


_EPSILON = 1e-12


def apply_fill(trade: TradeState | None, fill: FillFacts) -> list[TradeState]:
    """Book ``fill`` on the open ``trade`` of its symbol and leg (None: flat). Returns the
    trades it touched, the open one (if any) last."""
    signed = fill.amount if fill.side == "buy" else -fill.amount
    if trade is None or not trade.is_open:
        return [_open(fill, fill.amount, fill.fee, signed)]
    if (signed > 0) == (trade.side == "long"):
        trade.size += fill.amount
        trade.entry_value += fill.amount * fill.price
        trade.fees += fill.fee
        return [trade]
    closing = min(fill.amount, trade.remaining)
    share = closing / fill.amount if fill.amount else 1.0
    trade.closed += closing
    trade.exit_value += closing * fill.price
    trade.realized += fill.realized_pnl
    trade.fees += fill.fee * share
    rest = fill.amount - closing
    if trade.remaining <= _EPSILON * max(trade.size, 1.0):
        trade.closed = trade.size
        trade.is_open = False
        trade.closed_at = fill.time
        trade.exit_reason = fill.reason
    if rest > _EPSILON * fill.amount:
        return [trade, _open(fill, rest, fill.fee - fill.fee * share, signed)]
    return [trade]


def _open(fill: FillFacts, amount: float, fee: float, signed: float) -> TradeState:
    if fill.leg in ("LONG", "SHORT"):
        side = "long" if fill.leg == "LONG" else "short"
    else:
        side = "long" if signed > 0 else "short"
    return TradeState(
        symbol=fill.symbol,
        leg=fill.leg,
        side=side,
        opened_at=fill.time,
        size=amount,
        entry_value=amount * fill.price,
        fees=fee,
    )


def attribute(trades: list[TradeState], amount: float, field: str) -> None:
    """Add ``amount`` of ``funding`` or ``clearance`` to ``trades``, split by their open
    contracts (all of it to the one trade in one-way mode)."""
    if not trades:
        return
    weights = [t.remaining for t in trades]
    total = sum(weights)
    for trade, weight in zip(trades, weights, strict=True):
        share = amount * weight / total if total > 0 else amount / len(trades)
        setattr(trade, field, getattr(trade, field) + share)


def holders_at(trades: list[TradeState], symbol: str, time: int) -> list[TradeState]:
    """The trades of ``symbol`` that held a position at ``time``: a funding settlement at a
    bar's open comes before the fills at that open (docs/backtest.md), so a trade opened at
    ``time`` did not hold, one closed at ``time`` did."""
    return [
        t
        for t in trades
        if t.symbol == symbol
        and t.opened_at < time
        and (t.closed_at is None or t.closed_at >= time)
    ]


def cleared_by(trades: list[TradeState], symbol: str, time: int) -> list[TradeState]:
    """The trade of ``symbol`` a clearance at ``time`` belongs to: the one a liquidation closed
    then (the latest trade closed by then otherwise)."""
    closed = [t for t in trades if t.symbol == symbol and t.closed_at is not None]
    exact = [t for t in closed if t.closed_at == time and t.exit_reason == "liquidation"]
    if exact:
        return exact[-1:]
    before = [t for t in closed if t.closed_at is not None and t.closed_at <= time]
    return sorted(before, key=lambda t: t.closed_at or 0)[-1:]


def exit_reason(fill_reason: str, purpose: str | None) -> str:
    """The exit reason a fill gives the trade it closes: the purpose of our order (``order``,
    ``stop_loss``, ``take_profit`` ...), or what the fill was (``liquidation``, ``adl``,
    ``external``)."""
    return purpose if fill_reason == "order" and purpose else fill_reason
