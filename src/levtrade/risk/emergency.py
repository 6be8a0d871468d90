"""The emergency protocol: triggers on margin level, drawdown, volatility and distance to
liquidation; actions that reduce positions by a fraction or close everything; alert hooks.

``EmergencyProtocol(triggers, action=..., alerts=...).check(account, context)`` is pure
decision logic: it returns the reduce-only orders to send and records an
:class:`EmergencyEvent` per trigger that fired; the caller (strategy, backtester, live broker)
executes them. Each trigger may carry its own action, otherwise the protocol's applies.
:class:`ReduceBy` reduces the positions the trigger names (those in the pool below the margin
level, in the volatile symbol, near liquidation; every position for account-wide triggers);
:class:`CloseAll` closes every position. When several fire on one position the strongest wins
(close beats reduce, a larger fraction beats a smaller one).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from levtrade.errors import ConfigError
from levtrade.margin import Account, Position
from levtrade.model.instrument import Instrument
from levtrade.risk import _checks
from levtrade.risk.monitors import MarginSnapshot, PositionRisk, margin_snapshot

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReduceBy:
    """Reduce each position the trigger names by ``fraction`` of its size (rounded up to the
    lot)."""

    fraction: float

    def __post_init__(self) -> None:
        _checks.fraction(self.fraction, "fraction")


@dataclass(frozen=True, slots=True)
class CloseAll:
    """Close every open position of the account."""


Action = ReduceBy | CloseAll


@dataclass(frozen=True, slots=True)
class RiskContext:
    """Market inputs the account does not hold: ATR and volatility by symbol (or one
    volatility for the account), and a drawdown that overrides the protocol's own."""

    time: int | None = None
    atr: Mapping[str, float] = field(default_factory=dict)
    volatility: float | Mapping[str, float] | None = None
    drawdown: float | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """A trigger's verdict: why, and which positions (None = every position)."""

    reason: str
    targets: tuple[PositionRisk, ...] | None = None


class Trigger(Protocol):
    """A condition the protocol tests at each check."""

    @property
    def name(self) -> str: ...

    @property
    def action(self) -> Action | None: ...

    def evaluate(
        self, snapshot: MarginSnapshot, context: RiskContext, drawdown: float
    ) -> Hit | None:
        """Why it fires and for which positions, or None."""
        ...


@dataclass(frozen=True, slots=True)
class MarginLevelBelow:
    """Fires for the positions whose pool's margin level is below ``level``."""

    level: float
    action: Action | None = None
    name: str = "margin_level"

    def __post_init__(self) -> None:
        if _checks.positive(self.level, "level") <= 1:
            raise ConfigError(
                f"level: a margin level above 1 (liquidation is at 1), got {self.level!r}"
            )

    def evaluate(
        self, snapshot: MarginSnapshot, context: RiskContext, drawdown: float
    ) -> Hit | None:
        targets = tuple(p for p in snapshot.positions if p.margin_level < self.level)
        if not targets:
            return None
        worst = min(p.margin_level for p in targets)
        return Hit(f"margin level {worst:.4g} below {self.level:g}", targets)


@dataclass(frozen=True, slots=True)
class DrawdownAbove:
    """Fires for every position when the drawdown from the peak equity reaches ``fraction``."""

    fraction: float
    action: Action | None = None
    name: str = "drawdown"

    def __post_init__(self) -> None:
        _checks.fraction(self.fraction, "fraction")

    def evaluate(
        self, snapshot: MarginSnapshot, context: RiskContext, drawdown: float
    ) -> Hit | None:
        if drawdown < self.fraction or not snapshot.positions:
            return None
        return Hit(f"drawdown {drawdown:.2%} at or above {self.fraction:.2%}")


@dataclass(frozen=True, slots=True)
class VolatilityAbove:
    """Fires when the context's volatility exceeds ``threshold``: for every position with one
    account-wide volatility, for the positions in the symbols above it with a mapping."""

    threshold: float
    action: Action | None = None
    name: str = "volatility"

    def __post_init__(self) -> None:
        _checks.positive(self.threshold, "threshold")

    def evaluate(
        self, snapshot: MarginSnapshot, context: RiskContext, drawdown: float
    ) -> Hit | None:
        vol = context.volatility
        if vol is None or not snapshot.positions:
            return None
        if isinstance(vol, Mapping):
            targets = tuple(
                p for p in snapshot.positions if p.symbol in vol and vol[p.symbol] > self.threshold
            )
            if not targets:
                return None
            worst = max(vol[p.symbol] for p in targets)
            return Hit(f"volatility {worst:.4g} above {self.threshold:g}", targets)
        if vol <= self.threshold:
            return None
        return Hit(f"volatility {vol:.4g} above {self.threshold:g}")


@dataclass(frozen=True, slots=True)
class LiquidationWithin:
    """Fires for the positions within ``fraction`` of the mark, or ``atr_multiple`` ATRs, of
    their liquidation price (at least one bound is needed)."""

    fraction: float | None = None
    atr_multiple: float | None = None
    action: Action | None = None
    name: str = "liquidation_distance"

    def __post_init__(self) -> None:
        if self.fraction is None and self.atr_multiple is None:
            raise ConfigError(
                "fraction: give a fraction of the mark or an atr_multiple, got neither"
            )
        if self.fraction is not None:
            _checks.fraction(self.fraction, "fraction")
        if self.atr_multiple is not None:
            _checks.positive(self.atr_multiple, "atr_multiple")

    def evaluate(
        self, snapshot: MarginSnapshot, context: RiskContext, drawdown: float
    ) -> Hit | None:
        targets = tuple(p for p in snapshot.positions if self._near(p))
        if not targets:
            return None
        nearest = min(p.distance for p in targets if p.distance is not None)
        return Hit(f"{nearest:.2%} from liquidation", targets)

    def _near(self, position: PositionRisk) -> bool:
        by_fraction = (
            self.fraction is not None
            and position.distance is not None
            and position.distance <= self.fraction
        )
        return by_fraction or (
            self.atr_multiple is not None
            and position.distance_atr is not None
            and position.distance_atr <= self.atr_multiple
        )


@dataclass(frozen=True, slots=True)
class ReduceOrder:
    """A reduce-only market order to send: ``size`` signed contracts on ``leg``."""

    instrument: Instrument
    leg: str
    size: float
    kind: str
    """``close`` (the whole position) or ``reduce``."""
    reason: str

    @property
    def symbol(self) -> str:
        return self.instrument.symbol


@dataclass(frozen=True, slots=True)
class EmergencyEvent:
    """One trigger that fired at ``time``, the action it asked for and the orders it caused."""

    time: int
    trigger: str
    reason: str
    action: Action
    orders: tuple[ReduceOrder, ...]

    @property
    def message(self) -> str:
        what = (
            "close"
            if isinstance(self.action, CloseAll)
            else f"reduce by {self.action.fraction:.0%}"
        )
        symbols = ", ".join(sorted({o.symbol for o in self.orders})) or "nothing to trade"
        return f"emergency {self.trigger} at {self.time}: {self.reason} -> {what} ({symbols})"


Alert = Callable[[EmergencyEvent], object]


class EmergencyProtocol:
    """Tests ``triggers`` at each :meth:`check` and returns the orders their actions call for.

    ``action`` is the default for triggers without their own. ``cooldown`` (ms) keeps a
    trigger that fired from firing again until that much time has passed (0: it fires at every
    check while its condition holds). The drawdown is measured from the highest total equity
    seen by :meth:`check` unless the context gives one. ``alerts`` are called with each event;
    a failing alert is logged and does not stop the others or the orders.
    """

    def __init__(
        self,
        triggers: Sequence[Trigger],
        *,
        action: Action | None = None,
        alerts: Iterable[Alert] = (),
        cooldown: int = 0,
    ) -> None:
        if not triggers:
            raise ConfigError("triggers: need at least one trigger, got none")
        for i, trigger in enumerate(triggers):
            if trigger.action is None and action is None:
                raise ConfigError(
                    f"triggers[{i}]: {trigger.name} has no action and the protocol has no "
                    "default action"
                )
        if isinstance(cooldown, bool) or not isinstance(cooldown, int) or cooldown < 0:
            raise ConfigError(f"cooldown: must be whole milliseconds ≥ 0, got {cooldown!r}")
        self.triggers = list(triggers)
        self.action = action
        self.alerts = list(alerts)
        self.cooldown = cooldown
        self.events: list[EmergencyEvent] = []
        self.peak_equity = -math.inf
        self._last_fired: dict[int, int] = {}

    def check(self, account: Account, context: RiskContext | None = None) -> list[ReduceOrder]:
        """The orders to send now (empty when nothing fires); events are recorded and alerted."""
        ctx = context or RiskContext()
        time = account.time if ctx.time is None else ctx.time
        snapshot = margin_snapshot(account, atr=ctx.atr, time=time)
        self.peak_equity = max(self.peak_equity, snapshot.total_equity)
        drawdown = self._drawdown(snapshot, ctx)
        by_key = {(p.symbol, p.leg.value): p for p in account.positions}
        fired: list[tuple[Trigger, Hit, Action]] = []
        for index, trigger in enumerate(self.triggers):
            last = self._last_fired.get(index)
            if last is not None and time - last < self.cooldown:
                continue
            hit = trigger.evaluate(snapshot, ctx, drawdown)
            if hit is None:
                continue
            self._last_fired[index] = time
            action = trigger.action or self.action
            assert action is not None  # checked in __init__
            fired.append((trigger, hit, action))

        strongest: dict[tuple[str, str], tuple[float, str]] = {}
        chosen: list[tuple[Trigger, Hit, Action, list[tuple[str, str]]]] = []
        for trigger, hit, action in fired:
            everything = hit.targets is None or isinstance(action, CloseAll)
            targets = snapshot.positions if everything else hit.targets or ()
            keys = [(p.symbol, p.leg) for p in targets]
            share = 1.0 if isinstance(action, CloseAll) else action.fraction
            for key in keys:
                if share > strongest.get(key, (0.0, ""))[0]:
                    strongest[key] = (share, f"{trigger.name}: {hit.reason}")
            chosen.append((trigger, hit, action, keys))

        orders = {
            key: _order(by_key[key], share, reason) for key, (share, reason) in strongest.items()
        }
        for trigger, hit, action, keys in chosen:
            event = EmergencyEvent(
                time, trigger.name, hit.reason, action, tuple(orders[k] for k in keys)
            )
            self.events.append(event)
            self._alert(event)
        return list(orders.values())

    def _drawdown(self, snapshot: MarginSnapshot, context: RiskContext) -> float:
        if context.drawdown is not None:
            return _checks.fraction(context.drawdown, "drawdown", allow_zero=True)
        if self.peak_equity <= 0:
            return 1.0 if snapshot.positions else 0.0
        return max(0.0, 1.0 - snapshot.total_equity / self.peak_equity)

    def _alert(self, event: EmergencyEvent) -> None:
        for alert in self.alerts:
            try:
                alert(event)
            except Exception:
                logger.exception("emergency alert %r failed on: %s", alert, event.message)


def _order(position: Position, share: float, reason: str) -> ReduceOrder:
    """The reduce-only order taking ``share`` of ``position`` (rounded up to the lot)."""
    size = abs(position.size)
    quantity = size if share >= 1.0 else size * share
    lot = position.instrument.lot_size
    if lot > 0 and quantity < size:
        quantity = min(size, math.ceil(quantity / lot - 1e-9) * lot)
    kind = "close" if quantity >= size else "reduce"
    return ReduceOrder(
        position.instrument,
        position.leg.value,
        math.copysign(size if kind == "close" else quantity, -position.size),
        kind,
        reason,
    )
