"""The double-entry ledger on its own."""

from __future__ import annotations

import math

import pytest

from levtrade.margin import EntryKind, Ledger
from levtrade.margin.ledger import LedgerError, isolated_book


def test_post_moves_an_amount_between_two_books() -> None:
    ledger = Ledger("USDT")
    entry = ledger.post(
        time=5, kind=EntryKind.DEPOSIT, source="external", destination="cross", amount=100.0
    )
    assert entry is not None and entry.amount == 100.0 and entry.symbol is None
    assert ledger.balance("cross") == 100.0
    assert ledger.balance("external") == -100.0
    assert ledger.balance("never-used") == 0.0
    assert ledger.total() == 0.0


def test_negative_amount_is_stored_the_other_way_round() -> None:
    # a realized loss of 40 "from market to cross" is 40 from cross to market
    ledger = Ledger()
    entry = ledger.post(
        time=0,
        kind="realized_pnl",
        source="market",
        destination="cross",
        amount=-40.0,  # type: ignore[arg-type]
        symbol="BTC/USDT:USDT",
    )
    assert entry is not None
    assert (entry.source, entry.destination, entry.amount) == ("cross", "market", 40.0)
    assert entry.kind is EntryKind.REALIZED_PNL
    assert ledger.balances == {"cross": -40.0, "market": 40.0}


def test_zero_records_nothing_and_bad_entries_are_refused() -> None:
    ledger = Ledger()
    assert (
        ledger.post(time=0, kind=EntryKind.FEE, source="cross", destination="fees", amount=0.0)
        is None
    )
    assert len(ledger) == 0
    with pytest.raises(LedgerError, match="amount: must be finite"):
        ledger.post(time=0, kind=EntryKind.FEE, source="cross", destination="fees", amount=math.nan)
    with pytest.raises(LedgerError, match="destination: book 'cross' cannot pay itself"):
        ledger.post(time=0, kind=EntryKind.FEE, source="cross", destination="cross", amount=1.0)
    assert len(ledger) == 0 and ledger.balances == {}


def test_checkpoint_and_rollback() -> None:
    ledger = Ledger()
    ledger.post(time=0, kind=EntryKind.DEPOSIT, source="external", destination="cross", amount=10.0)
    mark = ledger.checkpoint()
    ledger.post(time=1, kind=EntryKind.FEE, source="cross", destination="fees", amount=1.0)
    ledger.rollback(mark)
    assert len(ledger) == 1
    assert ledger.balances == {"external": -10.0, "cross": 10.0}


def test_to_frame() -> None:
    empty = Ledger("USDT").to_frame()
    assert list(empty.columns) == [
        "time",
        "kind",
        "symbol",
        "source",
        "destination",
        "amount",
        "currency",
    ]
    assert str(empty["time"].dtype) == "int64" and str(empty["amount"].dtype) == "float64"
    ledger = Ledger("USDT")
    ledger.post(
        time=1_700_000_000_000,
        kind=EntryKind.FUNDING,
        source="market",
        destination=isolated_book("BTC/USDT:USDT", "BOTH"),
        amount=2.5,
        symbol="BTC/USDT:USDT",
    )
    row = ledger.to_frame().iloc[0]
    assert row["time"] == 1_700_000_000_000
    assert row["kind"] == "funding"
    assert row["destination"] == "isolated:BTC/USDT:USDT:BOTH"
    assert row["currency"] == "USDT"
