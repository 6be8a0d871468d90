"""Protective stops on the venue: one reduce-only stop-market order per open position, for its
whole size, at the configured stop-loss, re-armed when the size or the entry changes.

The stop lives on the venue, so it protects the position while the bot is down. For each
position the plan is: exactly one protective order of ours for the current size and level.
A missing one is placed; one for another size or level is replaced — the new one is placed
first, then the old one cancelled (the position is never without a stop); extra ones (a crash
between the two) are cancelled; those of a position that is gone are cancelled. Each arming
gets a new client id (``lt<bot>.p<column>.<generation>``), its generation counted in the store
with the intent, so a restart re-arms under a fresh id and never reuses one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from levtrade.live.settings import ProtectiveStop
from levtrade.live.store import OrderRow, OrderSpec, PositionRecord
from levtrade.model.instrument import Instrument


@dataclass(frozen=True)
class StopPlan:
    """What to place (``place``: intents; ``cancel``: client ids) to reach one protective stop
    per position."""

    place: list[tuple[OrderSpec, tuple[str, str]]]
    """Each intent with the cursor (name, generation) recorded with it."""
    cancel: list[str]


def stop_level(position: PositionRecord, leverage: float, stop: ProtectiveStop) -> float:
    """The trigger price of ``position``'s protective stop (see
    :class:`~levtrade.live.settings.ProtectiveStop`)."""
    move = stop.stoploss / leverage
    if position.size > 0:
        return position.entry_price * (1.0 + move)
    return position.entry_price * (1.0 - move)


def plan_stops(
    positions: Sequence[PositionRecord],
    protective: Sequence[OrderRow],
    *,
    stop: ProtectiveStop,
    leverage: dict[str, float],
    instruments: dict[str, Instrument],
    columns: dict[str, int],
    generations: dict[str, int],
    client_id: Callable[[int, int], str],
    time: int,
) -> StopPlan:
    """The orders that leave exactly one protective stop per position (module docstring)."""
    place: list[tuple[OrderSpec, tuple[str, str]]] = []
    cancel: list[str] = []
    held = {(p.symbol, p.leg): p for p in positions}
    mine: dict[tuple[str, str], list[OrderRow]] = {}
    for row in protective:
        mine.setdefault((row.symbol, row.leg), []).append(row)
    for key, rows in mine.items():
        if key not in held:
            cancel.extend(r.client_id for r in rows if r.venue_order_id is not None)
    for key, position in held.items():
        symbol, leg = key
        instrument = instruments[symbol]
        level = instrument.round_price(stop_level(position, leverage.get(symbol, 1.0), stop))
        amount = abs(position.size)
        rows = sorted(mine.get(key, []), key=lambda r: r.id)
        keep = None
        for row in reversed(rows):
            if (
                row.trigger_price is not None
                and abs(row.amount - amount) <= instrument.lot_size * 1e-6 + 1e-12
                and abs(row.trigger_price - level) <= instrument.tick_size * 1e-6 + 1e-12
            ):
                keep = row
                break
        cancel.extend(r.client_id for r in rows if r is not keep and r.venue_order_id is not None)
        if keep is not None or level <= 0:
            continue
        name = f"protective:{symbol}:{leg}"
        generation = generations.get(name, 0) + 1
        spec = OrderSpec(
            client_id=client_id(columns[symbol], generation),
            symbol=symbol,
            side="sell" if position.size > 0 else "buy",
            type="stop",
            amount=amount,
            origin="protective",
            decision_time=time,
            trigger_price=level,
            reduce_only=True,
            leg=leg,
            purpose="stop_loss",
            tag="mark" if stop.working_type == "MARK_PRICE" else None,
        )
        place.append((spec, (name, str(generation))))
    return StopPlan(place, cancel)
