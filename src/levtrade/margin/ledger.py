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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

from levtrade.errors import LevtradeError

EXTERNAL = "external"
CROSS = "cross"
MARKET = "market"
FEES = "fees"
LIQUIDATION_FEES = "liquidation_fees"
INSURANCE_FUND = "insurance_fund"
LIQUIDATOR_VAULT = "liquidator_vault"


def isolated_book(symbol: str, leg: str) -> str:
    """Book name of an isolated position's margin."""
    return f"isolated:{symbol}:{leg}"


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


@dataclass(frozen=True, slots=True)
class Entry:
    """``amount`` (> 0) moved from book ``source`` to book ``destination`` at ``time`` (ms)."""

    time: int
    kind: EntryKind
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
    """Entries in posting order and the running balance of every book."""

    def __init__(self, currency: str | None = None) -> None:
        self.currency = currency
        self._entries: list[Entry] = []
        self._balances: dict[str, float] = {}

    def post(
        self,
        *,
        time: int,
        kind: EntryKind,
        source: str,
        destination: str,
        amount: float,
        symbol: str | None = None,
    ) -> Entry | None:
        """Move ``amount`` from ``source`` to ``destination``.

        A negative amount moves the other way (stored with the books swapped, so every stored
        amount is positive); a zero amount records nothing and returns ``None``.
        """
        if not math.isfinite(amount):
            raise LedgerError(
                f"amount: must be finite, got {amount!r} ({kind} {source} -> {destination})"
            )
        if source == destination:
            raise LedgerError(f"destination: book {source!r} cannot pay itself")
        if amount == 0.0:
            return None
        if amount < 0.0:
            source, destination, amount = destination, source, -amount
        entry = Entry(int(time), EntryKind(kind), source, destination, float(amount), symbol)
        self._entries.append(entry)
        self._balances[source] = self._balances.get(source, 0.0) - amount
        self._balances[destination] = self._balances.get(destination, 0.0) + amount
        return entry

    def balance(self, book: str) -> float:
        """Current balance of ``book`` (0 for a book never used)."""
        return self._balances.get(book, 0.0)

    @property
    def balances(self) -> dict[str, float]:
        """A copy of every book's balance."""
        return dict(self._balances)

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self._entries)

    def total(self) -> float:
        """Σ over all books: zero up to float rounding, by construction."""
        return math.fsum(self._balances.values())

    def __len__(self) -> int:
        return len(self._entries)

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(len(self._entries), dict(self._balances))

    def rollback(self, checkpoint: Checkpoint) -> None:
        """Drop every entry posted after ``checkpoint`` and restore the balances it saw."""
        del self._entries[checkpoint.length :]
        self._balances = dict(checkpoint.balances)

    def to_frame(self) -> pd.DataFrame:
        """Entries as a DataFrame: time (int64 ms), kind, symbol, source, destination, amount,
        currency."""
        entries = self._entries
        return pd.DataFrame(
            {
                "time": np.array([e.time for e in entries], dtype=np.int64),
                "kind": pd.Series([str(e.kind) for e in entries], dtype=object),
                "symbol": pd.Series([e.symbol for e in entries], dtype=object),
                "source": pd.Series([e.source for e in entries], dtype=object),
                "destination": pd.Series([e.destination for e in entries], dtype=object),
                "amount": np.array([e.amount for e in entries], dtype=np.float64),
                "currency": pd.Series([self.currency] * len(entries), dtype=object),
            }
        )
