"""Tier tables: notional → (maintenance margin rate, maintenance amount, maximum leverage).

One model serves every venue (MARGIN_SPEC.md §0): Binance brackets (``cum``), Hyperliquid
margin tables (MMR = 1/(2·L_max), deduction derived), Bybit risk limits (deduction), OKX and
dYdX parameters. Tiers are always looked up by position **notional**, never by margin.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from numbers import Real
from typing import Any

import numpy as np

from levtrade.errors import TierTableError
from levtrade.margin import formulas
from levtrade.margin.formulas import FloatArray

_REL_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class Tier:
    """One tier: applies to ``floor ≤ notional < cap``."""

    floor: float
    cap: float
    mmr: float
    maintenance_amount: float
    max_leverage: float


@dataclass(frozen=True)
class TierTable:
    """A venue's tier table for one symbol, as in force from ``effective_date``."""

    venue: str
    symbol: str
    tiers: tuple[Tier, ...]
    effective_date: date | None = None
    source: str = ""
    partial: bool = False
    """The table starts above notional 0: the bracket(s) a venue shows for one position's size.
    Figures are right only for notionals inside it; its user checks that they are."""

    def __post_init__(self) -> None:
        _validate(self.venue, self.symbol, self.tiers, partial=self.partial)

    # -- arrays for the compiled formulas -------------------------------------------------
    @cached_property
    def floors(self) -> FloatArray:
        return np.array([t.floor for t in self.tiers], dtype=np.float64)

    @cached_property
    def caps(self) -> FloatArray:
        return np.array([t.cap for t in self.tiers], dtype=np.float64)

    @cached_property
    def mmrs(self) -> FloatArray:
        return np.array([t.mmr for t in self.tiers], dtype=np.float64)

    @cached_property
    def amounts(self) -> FloatArray:
        return np.array([t.maintenance_amount for t in self.tiers], dtype=np.float64)

    @cached_property
    def max_leverages(self) -> FloatArray:
        return np.array([t.max_leverage for t in self.tiers], dtype=np.float64)

    # -- look-ups ---------------------------------------------------------------------------
    def index(self, notional: float) -> int:
        """Index of the tier containing ``notional`` (0-based)."""
        return formulas.tier_index(self.floors, float(notional))

    def tier_at(self, notional: float) -> Tier:
        return self.tiers[self.index(notional)]

    def maintenance_margin(self, notional: float) -> float:
        return formulas.maintenance_margin(float(notional), self.floors, self.mmrs, self.amounts)

    def max_leverage_at(self, notional: float) -> float:
        """Maximum leverage allowed for a position of this notional (0 beyond the last cap)."""
        n = abs(notional)
        if n >= self.tiers[-1].cap:
            return 0.0
        return self.tier_at(n).max_leverage

    def max_notional_for_leverage(self, leverage: float) -> float:
        """Largest notional at which ``leverage`` is still allowed (0 if never)."""
        best = 0.0
        for tier in self.tiers:
            if tier.max_leverage + 1e-12 >= leverage:
                best = tier.cap
            else:
                break
        return best

    def scaled(self, factor: float) -> TierTable:
        """The same table with rates and amounts scaled (e.g. Hyperliquid's ⅔·MM backstop)."""
        return TierTable(
            venue=self.venue,
            symbol=self.symbol,
            tiers=tuple(
                Tier(t.floor, t.cap, t.mmr * factor, t.maintenance_amount * factor, t.max_leverage)
                for t in self.tiers
            ),
            effective_date=self.effective_date,
            source=self.source,
            partial=self.partial,
        )

    def with_extra_rate(self, rate: float) -> TierTable:
        """The same table with ``rate`` added to every MMR (OKX adds the taker fee rate).

        MM becomes ``MM + rate·N``: the amounts stay as they are.
        """
        return TierTable(
            venue=self.venue,
            symbol=self.symbol,
            tiers=tuple(
                Tier(t.floor, t.cap, t.mmr + rate, t.maintenance_amount, t.max_leverage)
                for t in self.tiers
            ),
            effective_date=self.effective_date,
            source=self.source,
            partial=self.partial,
        )

    def to_rows(self) -> list[dict[str, float]]:
        """Rows in the scenario schema (DESIGN.md §5)."""
        return [
            {
                "floor": t.floor,
                "cap": t.cap,
                "mmr": t.mmr,
                "maintenance_amount": t.maintenance_amount,
                "max_leverage": t.max_leverage,
            }
            for t in self.tiers
        ]

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_rows(
        cls,
        rows: Sequence[Mapping[str, Any]],
        *,
        venue: str,
        symbol: str,
        effective_date: date | None = None,
        source: str = "",
        partial: bool = False,
    ) -> TierTable:
        """Build from rows with ``floor``, optional ``cap``, ``mmr``, optional
        ``maintenance_amount`` and ``max_leverage`` (numbers; any other key is an error).

        A missing ``cap`` is the next row's floor (infinite for the last row); a missing
        ``maintenance_amount`` follows the continuity recursion; a missing ``mmr`` is
        Hyperliquid's ``1/(2·max_leverage)``. With ``partial`` the first floor may be above 0
        (see :attr:`TierTable.partial`); the first row then needs its ``maintenance_amount``,
        which the recursion cannot give without the tiers below.
        """
        if not rows:
            raise TierTableError(f"tiers for {venue} {symbol}: the table is empty")
        parsed: list[tuple[float, float | None, float, float | None, float]] = []
        for i, row in enumerate(rows):
            where = f"tiers[{i}] for {venue} {symbol}"
            unknown = sorted(str(k) for k in row if k not in _ROW_KEYS)
            if unknown:
                raise TierTableError(
                    f"{where}: unknown field {unknown[0]!r} (fields: {', '.join(_ROW_KEYS)})"
                )
            floor = _number(row, "floor", where, required=True)
            max_leverage = _number(row, "max_leverage", where, required=True)
            assert floor is not None and max_leverage is not None
            if max_leverage <= 0:
                raise TierTableError(f"{where}: max_leverage must be > 0, got {max_leverage!r}")
            mmr = _number(row, "mmr", where, required=False)
            if mmr is None:
                mmr = 1.0 / (2.0 * max_leverage)
            elif 0.0 <= mmr < 1.0 and mmr > 1.0 / max_leverage:
                raise TierTableError(
                    f"{where}: mmr {mmr!r} is above 1/max_leverage = {1.0 / max_leverage:.6g} "
                    "(maintenance margin above the initial margin)"
                )
            parsed.append(
                (
                    floor,
                    _number(row, "cap", where, required=False),
                    mmr,
                    _number(row, "maintenance_amount", where, required=False),
                    max_leverage,
                )
            )
        for i in range(1, len(parsed)):
            if not parsed[i][0] > parsed[i - 1][0]:
                raise TierTableError(
                    f"tiers[{i}] for {venue} {symbol}: floor {parsed[i][0]!r} must exceed the "
                    f"previous floor {parsed[i - 1][0]!r}"
                )
        floor0 = parsed[0][0]
        if partial and floor0 > 0.0 and parsed[0][3] is None:
            raise TierTableError(
                f"tiers[0] for {venue} {symbol}: a table starting at floor {parsed[0][0]!r} "
                "needs the tier's maintenance_amount (the venue's cum or deduction for it)"
            )
        tiers: list[Tier] = []
        previous_amount = 0.0
        previous_mmr = parsed[0][2]
        for i, (floor, cap, mmr, amount, max_lev) in enumerate(parsed):
            if cap is None:
                cap = parsed[i + 1][0] if i + 1 < len(parsed) else math.inf
            if amount is None:
                amount = 0.0 if i == 0 else previous_amount + floor * (mmr - previous_mmr)
            tiers.append(Tier(floor, cap, mmr, amount, max_lev))
            previous_amount, previous_mmr = amount, mmr
        return cls(venue, symbol, tuple(tiers), effective_date, source, partial and floor0 > 0.0)

    @classmethod
    def single(
        cls, *, venue: str, symbol: str, mmr: float, max_leverage: float, source: str = ""
    ) -> TierTable:
        """A one-tier table (dYdX liquidity tier, Hyperliquid table id < 50)."""
        return cls(venue, symbol, (Tier(0.0, math.inf, mmr, 0.0, max_leverage),), None, source)


_ROW_KEYS = ("floor", "cap", "mmr", "maintenance_amount", "max_leverage")


def _number(row: Mapping[str, Any], key: str, where: str, *, required: bool) -> float | None:
    value = row.get(key)
    if value is None:
        if required:
            raise TierTableError(f"{where}: missing field {key!r}")
        return None
    if not (type(value) is float or type(value) is int) and (
        isinstance(value, bool) or not isinstance(value, Real)
    ):
        raise TierTableError(f"{where}: {key} must be a number, got {value!r}")
    number = float(value)
    if math.isnan(number):
        raise TierTableError(f"{where}: {key} must be a number, got {value!r}")
    return number


def _validate(venue: str, symbol: str, tiers: Iterable[Tier], *, partial: bool = False) -> None:
    tiers = tuple(tiers)
    if not tiers:
        raise TierTableError(f"tiers for {venue} {symbol}: the table is empty")
    if not (tiers[0].floor == 0.0 or (partial and 0.0 < tiers[0].floor < math.inf)):
        raise TierTableError(
            f"tiers[0] for {venue} {symbol}: floor must be 0, got {tiers[0].floor!r}"
            + ("" if partial else " (a margin scenario may give the brackets of its size only)")
        )
    for i, t in enumerate(tiers):
        where = f"tiers[{i}] for {venue} {symbol}"
        if not 0.0 <= t.mmr < 1.0:
            raise TierTableError(f"{where}: mmr must be in [0, 1), got {t.mmr!r}")
        if not t.cap > t.floor:
            raise TierTableError(f"{where}: cap {t.cap!r} must exceed floor {t.floor!r}")
        if not t.max_leverage > 0:
            raise TierTableError(f"{where}: max_leverage must be > 0, got {t.max_leverage!r}")
        if not math.isfinite(t.maintenance_amount):
            raise TierTableError(
                f"{where}: maintenance_amount must be finite, got {t.maintenance_amount!r}"
            )
        if i + 1 < len(tiers):
            nxt = tiers[i + 1]
            if not math.isclose(nxt.floor, t.cap, rel_tol=_REL_TOL, abs_tol=1e-9):
                raise TierTableError(
                    f"tiers[{i + 1}] for {venue} {symbol}: floor {nxt.floor!r} must equal "
                    f"the previous cap {t.cap!r}"
                )
