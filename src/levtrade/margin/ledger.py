"""Double-entry ledger: every balance change moves an amount from one book to another.

Because each entry debits one book and credits another by the same amount, the sum over all
books is always zero; the account's cross wallet and every isolated margin are balances of
books here, so money can be neither created nor lost without an entry saying where it went.

Books used by :class:`levtrade.margin.account.Account`:

* ``external`` — the world outside the account (deposits, withdrawals, positions loaded with
  their margin);
* ``cross`` — the cross wallet; ``isolated:<symbol>:<leg>`` — one isolated position's margin;
* ``market`` — the counterparty of realized PnL and funding;
* ``fees`` — trading fees; ``liquidation_fees`` — clearance fees;
* ``insurance_fund`` — the venue's insurance fund (surplus in, shortfalls out, penalties in);
* ``liquidator_vault`` — Hyperliquid's backstop liquidator.

Books used by :class:`levtrade.margin.spot.SpotAccount`, one ledger per asset:

* ``spot``, ``cross``, ``isolated:<symbol>`` — a pool's holdings of the asset;
* ``loan:<pool>`` — the pool's margin loans (its balance is minus the principal owed);
* ``interest_due:<pool>`` — interest charged and not yet paid (minus the amount owed);
* ``interest`` — the venue's interest income; ``market`` — the other side of every trade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from levtrade.errors import LevtradeError

if TYPE_CHECKING:
    import pandas as pd

EXTERNAL = "external"
CROSS = "cross"
MARKET = "market"
FEES = "fees"
LIQUIDATION_FEES = "liquidation_fees"
INSURANCE_FUND = "insurance_fund"
LIQUIDATOR_VAULT = "liquidator_vault"
INTEREST = "interest"


def isolated_book(symbol: str, leg: str) -> str:
    """Book name of an isolated position's margin."""
    return f"isolated:{symbol}:{leg}"


def loan_book(pool: str) -> str:
    """Book of a spot-margin pool's loans."""
    return f"loan:{pool}"


def interest_book(pool: str) -> str:
    """Book of a spot-margin pool's unpaid interest."""
    return f"interest_due:{pool}"


class EntryKind(StrEnum):
    """Why money moved."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    TRANSFER = "transfer"
    REALIZED_PNL = "realized_pnl"
    FEE = "fee"
    FUNDING = "funding"
    LIQUIDATION = "liquidation"
    INSURANCE_FUND = "insurance_fund"
    LIQUIDATION_FEE = "liquidation_fee"


class SpotEntryKind(StrEnum):
    """Why an asset moved in a spot or spot-margin account, besides :class:`EntryKind`'s
    deposits, withdrawals, transfers, fees and liquidation fees."""

    BORROW = "borrow"
    REPAY = "repay"
    INTEREST = "interest"
    TRADE = "trade"


Kind = EntryKind | SpotEntryKind


@dataclass(frozen=True, slots=True)
class Entry:
    """``amount`` (> 0) moved from book ``source`` to book ``destination`` at ``time`` (ms)."""

    time: int
    kind: Kind
    source: str
    destination: str
    amount: float
    symbol: str | None = None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """State to roll the ledger back to when a compound action is rejected half-way."""

    length: int
    balances: dict[str, float]


class LedgerError(LevtradeError):
    """A malformed entry (non-finite amount, a book paying itself)."""


class Ledger:
    """Entries in posting order and the running balance of every book.

    Entries are stored as plain rows and become :class:`Entry` objects only when asked for
    (:attr:`entries`), so posting stays cheap on the account's hot paths.
    """

    def __init__(self, currency: str | None = None) -> None:
        self.currency = currency
        self._rows: list[_Row] = []
        self._objects: list[Entry] = []
        """``Entry`` objects of the first rows, built on demand (same objects every time)."""
        self._balances: dict[str, float] = {}

    def post(
        self,
        *,
        time: int,
        kind: Kind,
        source: str,
        destination: str,
        amount: float,
        symbol: str | None = None,
    ) -> Entry | None:
        """Move ``amount`` from ``source`` to ``destination``.

        A negative amount moves the other way (stored with the books swapped, so every stored
        amount is positive); a zero amount records nothing and returns ``None``.
        """
        row = self._record(time, kind, source, destination, amount, symbol)
        if row is None:
            return None
        return self._materialize()[-1]

    def _record(
        self,
        time: int,
        kind: Kind,
        source: str,
        destination: str,
        amount: float,
        symbol: str | None,
    ) -> _Row | None:
        """:meth:`post` without building the :class:`Entry`: the stored row, or None for a
        zero amount. The account posts through this."""
        if not math.isfinite(amount):
            raise _not_finite(kind, source, destination, amount)
        if source == destination:
            raise LedgerError(f"destination: book {source!r} cannot pay itself")
        if amount == 0.0:
            return None
        if amount < 0.0:
            source, destination, amount = destination, source, -amount
        row = (
            int(time),
            kind if type(kind) is EntryKind or type(kind) is SpotEntryKind else _kind(kind),
            source,
            destination,
            float(amount),
            symbol,
        )
        self._rows.append(row)
        balances = self._balances
        balances[source] = balances.get(source, 0.0) - amount
        balances[destination] = balances.get(destination, 0.0) + amount
        return row

    def balance(self, book: str) -> float:
        """Current balance of ``book`` (0 for a book never used)."""
        return self._balances.get(book, 0.0)

    @property
    def balances(self) -> dict[str, float]:
        """A copy of every book's balance."""
        return dict(self._balances)

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self._materialize())

    def since(self, start: int) -> tuple[Entry, ...]:
        """The entries from position ``start`` on (what was posted after ``len(ledger)`` was
        ``start``), without building the earlier ones again."""
        return tuple(self._materialize()[start:])

    def _materialize(self) -> list[Entry]:
        """The ``Entry`` of every row, built once per row."""
        objects = self._objects
        rows = self._rows
        if len(objects) < len(rows):
            objects.extend(Entry(*row) for row in rows[len(objects) :])
        return objects

    def total(self) -> float:
        """Σ over all books: zero up to float rounding, by construction."""
        return math.fsum(self._balances.values())

    def __len__(self) -> int:
        return len(self._rows)

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(len(self._rows), dict(self._balances))

    def rollback(self, checkpoint: Checkpoint) -> None:
        """Drop every entry posted after ``checkpoint`` and restore the balances it saw."""
        self._truncate(checkpoint.length)
        self._balances = dict(checkpoint.balances)

    def _save(self) -> tuple[int, dict[str, float]]:
        """:meth:`checkpoint` as a plain tuple (the account's per-action snapshot)."""
        return len(self._rows), self._balances.copy()

    def _restore(self, saved: tuple[int, dict[str, float]]) -> None:
        """Return to a :meth:`_save` (the saved balances are taken over, not copied)."""
        self._truncate(saved[0])
        self._balances = saved[1]

    def _truncate(self, length: int) -> None:
        del self._rows[length:]
        del self._objects[length:]

    def to_frame(self, end: int | None = None) -> pd.DataFrame:
        """Entries as a DataFrame: time (int64 ms), kind, symbol, source, destination, amount,
        currency; the first ``end`` entries (all by default: a ledger posted to after a
        length was read gives the entries up to it). (pandas is imported here: the account
        itself does not need it.)"""
        import pandas as pd

        rows = self._rows if end is None else self._rows[:end]
        return pd.DataFrame(
            {
                "time": np.array([r[0] for r in rows], dtype=np.int64),
                "kind": pd.Series([str(r[1]) for r in rows], dtype=object),
                "symbol": pd.Series([r[5] for r in rows], dtype=object),
                "source": pd.Series([r[2] for r in rows], dtype=object),
                "destination": pd.Series([r[3] for r in rows], dtype=object),
                "amount": np.array([r[4] for r in rows], dtype=np.float64),
                "currency": pd.Series([self.currency] * len(rows), dtype=object),
            }
        )


_Row = tuple[int, Kind, str, str, float, str | None]
"""A stored entry: the fields of :class:`Entry`, in its order."""


def _kind(value: str) -> Kind:
    """An entry kind from its name."""
    try:
        return EntryKind(value)
    except ValueError:
        return SpotEntryKind(value)


def _not_finite(kind: Kind, source: str, destination: str, amount: float) -> LedgerError:
    return LedgerError(f"amount: must be finite, got {amount!r} ({kind} {source} -> {destination})")
