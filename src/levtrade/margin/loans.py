"""Margin loans and the venues' interest schedules (MARGIN_SPEC.md §11).

A pool's debt in one asset is a list of :class:`Tranche` objects, one per borrow, oldest
first: each carries its own schedule of interest charges, because Kraken counts rollovers from
the moment each position borrowed and locks its rate then, and because Binance charges the
first hour of every borrow at once. A repayment reduces the oldest tranche first.

The schedule is an instant per charge, ``Tranche.next_charge`` the next one:

* ``hourly`` (Binance): the first hour is charged at the borrow, then one hour at every clock
  hour while the loan is open; the rate is the asset's rate at that hour.
* ``rollover`` (Kraken): the opening fee at the borrow, then a rollover every period counted
  from the borrow, at the rate locked at the borrow. With ``period_start`` the first rollover
  is charged with the opening fee; with ``after_period`` after the first full period.

Within one instant, charges that open a period (hourly, ``period_start``) fall after the
instant's repayments, and charges that close one (``after_period``) before them: a loan repaid
exactly on the hour pays nothing for that hour, and one repaid exactly after four hours on
Kraken pays that rollover. ``next_charge`` only moves forward, so no period is charged twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from levtrade.model.venue import InterestRule, RolloverCount, SpotMarginProfile

MS_PER_HOUR = 3_600_000


@dataclass(slots=True)
class Tranche:
    """One borrow still (partly) owed."""

    amount: float
    """Principal outstanding, in the borrowed asset."""
    borrowed_at: int
    next_charge: int
    """Instant (ms) of the next scheduled charge."""
    rate: float | None
    """The per-period rate locked at the borrow (Kraken); None: the asset's rate at each
    charge (Binance)."""
    leverage: float
    """The leverage of the position the loan funds (Kraken's used margin = amount ÷ it)."""


class InterestSchedule:
    """When a venue charges interest, read from its profile."""

    __slots__ = ("at_borrow", "clock_aligned", "closes_period", "period_ms", "rule")

    def __init__(self, venue: SpotMarginProfile) -> None:
        self.rule = venue.interest_rule
        self.period_ms = round(venue.interest_period_hours * MS_PER_HOUR)
        hourly = self.rule is InterestRule.HOURLY
        self.clock_aligned = hourly
        self.closes_period = (not hourly) and venue.rollover_count is RolloverCount.AFTER_PERIOD
        """Charges close a period, so they fall before an instant's repayments."""
        self.at_borrow = hourly or venue.rollover_count is RolloverCount.PERIOD_START
        """A period's charge falls at the borrow itself (besides Kraken's opening fee)."""

    def first_charge_after(self, borrowed_at: int) -> int:
        """The scheduled charge after the one at the borrow (if any)."""
        p = self.period_ms
        if self.clock_aligned:
            return (borrowed_at // p + 1) * p
        return borrowed_at + p

    def due(self, charge_at: int, until: int, before_repayments: bool) -> bool:
        """Whether a charge scheduled at ``charge_at`` is due by ``until``. Before an instant's
        repayments (``before_repayments``) only charges that close a period fall at ``until``
        itself; after them, every charge does."""
        if charge_at < until:
            return True
        return charge_at == until and (self.closes_period or not before_repayments)


def principal(tranches: list[Tranche]) -> float:
    """Σ principal outstanding."""
    return sum(t.amount for t in tranches)


def reduce_fifo(tranches: list[Tranche], amount: float) -> list[Tranche]:
    """The tranches after repaying ``amount`` of principal, oldest first."""
    left = amount
    kept: list[Tranche] = []
    for tranche in tranches:
        if left <= 0.0:
            kept.append(tranche)
            continue
        if tranche.amount <= left:
            left -= tranche.amount
            continue
        kept.append(
            Tranche(
                tranche.amount - left,
                tranche.borrowed_at,
                tranche.next_charge,
                tranche.rate,
                tranche.leverage,
            )
        )
        left = 0.0
    return kept
