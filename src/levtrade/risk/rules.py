"""Leverage rules checked before every order: each decision is recorded with its reasons.

``RiskRules(...).check(intent, account)`` looks at the order as it would leave the account —
the symbol's position after the fill at the intended price, every other position at its mark —
and accepts it or names every limit it breaks. An order that only reduces a position is always
accepted: a rule must never block getting out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from levtrade.errors import ConfigError
from levtrade.margin import Account, contracts
from levtrade.model.instrument import Instrument
from levtrade.model.positions import Leg, PositionMode
from levtrade.risk import _checks
from levtrade.risk.sizing import loss_per_contract

REDUCES = "reduces exposure"
"""The reason recorded for an order that only reduces a position."""


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """An order a strategy wants to place: ``size`` signed contracts (buy > 0) at ``price``.

    ``leverage`` defaults to the account's setting for the symbol; ``stop_price`` is needed
    when a maximum risk per trade is set; ``leg`` names the hedge-mode leg (default: the side
    of ``size``).
    """

    instrument: Instrument
    size: float
    price: float
    leverage: float | None = None
    stop_price: float | None = None
    leg: str | None = None
    time: int | None = None

    def __post_init__(self) -> None:
        if _checks.number(self.size, "size") == 0:
            raise ConfigError(f"size: must be non-zero, got {self.size!r} ({self.symbol})")
        _checks.positive(self.price, "price")
        if self.leverage is not None:
            _checks.leverage(self.leverage)
        if self.stop_price is not None:
            _checks.positive(self.stop_price, "stop_price")

    @property
    def symbol(self) -> str:
        return self.instrument.symbol


@dataclass(frozen=True, slots=True)
class Decision:
    """The verdict on one intent: accepted, or the rules it breaks and why."""

    accepted: bool
    intent: OrderIntent
    rules: tuple[str, ...] = ()
    """Names of the rules broken (empty when accepted)."""
    reasons: tuple[str, ...] = ()
    time: int = 0

    @property
    def reason(self) -> str:
        """All reasons in one line (``"accepted"`` when none)."""
        return "; ".join(self.reasons) if self.reasons else "accepted"

    def __bool__(self) -> bool:
        return self.accepted


_SIZING_ROUNDING = 1e-9
"""Relative slack for float rounding when a size was solved for exactly the risk limit."""


class RiskRules:
    """Pre-trade limits (each optional):

    * ``max_leverage``: per-trade leverage;
    * ``max_effective_leverage``: Σ |notional| of every position ÷ total equity, after the order;
    * ``max_risk_per_trade``: loss at the stop (fees included) ÷ total equity, for the part of
      the order that opens or increases;
    * ``max_open_positions``: positions open, counted before one that opens a new one;
    * ``max_symbol_exposure``: |notional| in one symbol ÷ total equity, after the order — one
      cap for all symbols, or a mapping by symbol (``"*"`` = every other symbol).

    Every decision is appended to :attr:`decisions`.
    """

    def __init__(
        self,
        *,
        max_leverage: float | None = None,
        max_effective_leverage: float | None = None,
        max_risk_per_trade: float | None = None,
        max_open_positions: int | None = None,
        max_symbol_exposure: float | Mapping[str, float] | None = None,
    ) -> None:
        self.max_leverage = (
            None if max_leverage is None else _checks.leverage(max_leverage, "max_leverage")
        )
        self.max_effective_leverage = (
            None
            if max_effective_leverage is None
            else _checks.positive(max_effective_leverage, "max_effective_leverage")
        )
        self.max_risk_per_trade = (
            None
            if max_risk_per_trade is None
            else _checks.fraction(max_risk_per_trade, "max_risk_per_trade")
        )
        if max_open_positions is not None and (
            isinstance(max_open_positions, bool)
            or not isinstance(max_open_positions, int)
            or max_open_positions < 1
        ):
            raise ConfigError(
                f"max_open_positions: must be a whole number ≥ 1, got {max_open_positions!r}"
            )
        self.max_open_positions = max_open_positions
        self.max_symbol_exposure: dict[str, float] = {}
        if isinstance(max_symbol_exposure, Mapping):
            for symbol, cap in max_symbol_exposure.items():
                self.max_symbol_exposure[symbol] = _checks.positive(
                    cap, f"max_symbol_exposure[{symbol!r}]"
                )
        elif max_symbol_exposure is not None:
            self.max_symbol_exposure["*"] = _checks.positive(
                max_symbol_exposure, "max_symbol_exposure"
            )
        self.decisions: list[Decision] = []

    @property
    def rejections(self) -> list[Decision]:
        """The decisions that refused an order."""
        return [d for d in self.decisions if not d.accepted]

    def check(self, intent: OrderIntent, account: Account) -> Decision:
        """Accept ``intent`` or name every rule it breaks; the decision is recorded."""
        time = account.time if intent.time is None else intent.time
        symbol = intent.symbol
        leg = _leg(account, intent)
        current = _current_size(account, symbol, leg)
        after = current + intent.size
        if current != 0 and abs(after) <= abs(current) and after * current >= 0:
            return self._record(Decision(True, intent, (), (REDUCES,), time))

        broken: list[tuple[str, str]] = []
        leverage = intent.leverage
        if leverage is None:
            leverage = _leverage(account, intent, leg)
        if self.max_leverage is not None and leverage > self.max_leverage:
            broken.append(
                (
                    "max_leverage",
                    f"leverage {leverage:g} is above the per-trade maximum "
                    f"{self.max_leverage:g} ({symbol})",
                )
            )
        opens_new = current == 0
        open_count = len(account.positions)
        if (
            self.max_open_positions is not None
            and opens_new
            and open_count >= self.max_open_positions
        ):
            broken.append(
                (
                    "max_open_positions",
                    f"{open_count} positions are open, the maximum is {self.max_open_positions} "
                    f"({symbol})",
                )
            )

        equity = account.total_equity
        exposures = {(p.symbol, p.leg.value): account.notional(p) for p in account.positions}
        exposures[(symbol, leg)] = contracts.notional(intent.instrument, after, intent.price)
        total = math.fsum(exposures.values())
        in_symbol = math.fsum(v for (s, _), v in exposures.items() if s == symbol)
        if equity <= 0 and (
            self.max_effective_leverage is not None
            or self.max_risk_per_trade is not None
            or self.max_symbol_exposure
        ):
            broken.append(("equity", f"total equity is {equity:.8g} ≤ 0 ({symbol})"))
        else:
            broken += self._ratios(intent, current, after, equity, total, in_symbol)
        names = tuple(name for name, _ in broken)
        reasons = tuple(reason for _, reason in broken)
        return self._record(Decision(not broken, intent, names, reasons, time))

    def to_frame(self) -> pd.DataFrame:
        """Every decision: time, symbol, size, price, leverage, accepted, rules, reason."""
        return pd.DataFrame(
            {
                "time": [d.time for d in self.decisions],
                "symbol": [d.intent.symbol for d in self.decisions],
                "size": [d.intent.size for d in self.decisions],
                "price": [d.intent.price for d in self.decisions],
                "leverage": [d.intent.leverage for d in self.decisions],
                "accepted": [d.accepted for d in self.decisions],
                "rules": [",".join(d.rules) for d in self.decisions],
                "reason": [d.reason for d in self.decisions],
            }
        )

    def _ratios(
        self,
        intent: OrderIntent,
        current: float,
        after: float,
        equity: float,
        total: float,
        in_symbol: float,
    ) -> list[tuple[str, str]]:
        broken = []
        symbol = intent.symbol
        if self.max_effective_leverage is not None and total / equity > self.max_effective_leverage:
            broken.append(
                (
                    "max_effective_leverage",
                    f"effective leverage after the order {total / equity:.4g} is above the "
                    f"maximum {self.max_effective_leverage:g} ({symbol})",
                )
            )
        cap = self.max_symbol_exposure.get(symbol, self.max_symbol_exposure.get("*"))
        if cap is not None and in_symbol / equity > cap:
            broken.append(
                (
                    "max_symbol_exposure",
                    f"exposure {in_symbol / equity:.4g}× equity is above the cap {cap:g}× "
                    f"({symbol})",
                )
            )
        if self.max_risk_per_trade is not None:
            if intent.stop_price is None:
                broken.append(
                    (
                        "max_risk_per_trade",
                        f"no stop_price: the risk of the order cannot be measured ({symbol})",
                    )
                )
            else:
                # the part that opens or increases: all of it, or the remainder of a flip
                opening = intent.size if after * current > 0 else after
                side: _checks.Side = "long" if opening > 0 else "short"
                risk = abs(opening) * loss_per_contract(
                    intent.instrument, side, intent.price, intent.stop_price
                )
                # a size solved for exactly the limit may land one rounding step above it
                if risk / equity > self.max_risk_per_trade * (1.0 + _SIZING_ROUNDING):
                    broken.append(
                        (
                            "max_risk_per_trade",
                            f"risk at the stop {risk:.8g} is {risk / equity:.4%} of equity, above "
                            f"the maximum {self.max_risk_per_trade:.4%} ({symbol})",
                        )
                    )
        return broken

    def _record(self, decision: Decision) -> Decision:
        self.decisions.append(decision)
        return decision


def _leg(account: Account, intent: OrderIntent) -> str:
    if account.position_mode is PositionMode.ONE_WAY:
        if intent.leg is not None and intent.leg.upper() != Leg.BOTH:
            raise ConfigError(f"leg: one_way positions use BOTH, got {intent.leg!r}")
        return Leg.BOTH.value
    if intent.leg is None:
        return Leg.LONG.value if intent.size > 0 else Leg.SHORT.value
    leg = intent.leg.upper()
    if leg not in (Leg.LONG, Leg.SHORT):
        raise ConfigError(f"leg: hedge mode needs LONG or SHORT, got {intent.leg!r}")
    return leg


def _current_size(account: Account, symbol: str, leg: str) -> float:
    for position in account.positions:
        if position.symbol == symbol and position.leg.value == leg:
            return position.size
    return 0.0


def _leverage(account: Account, intent: OrderIntent, leg: str) -> float:
    """The account's leverage setting for the symbol's leg (its default when unregistered)."""
    try:
        return account.leverage(intent.symbol, leg)
    except ConfigError:
        return account.default_leverage
