"""The store on SQLite and on the machine's PostgreSQL server: intents and their states, fills,
funding and clearances booked once, trades built from the fills, the ledger's books, and a
database written by the previous schema revision upgraded with nothing lost.

The figures are worked out by hand in each test: a long of 0.1 BTC bought at 40,000 with a fee
of 2.00 and sold at 41,000 with a fee of 2.05 realizes 0.1 × 1,000 = 100.00, so the trade's
PnL is 100 − 4.05 = 95.95 and a wallet that opened at 10,000 holds 10,095.95.
"""

from __future__ import annotations

import math

import pytest
from sqlalchemy import text

from levtrade.live.errors import StoreError
from levtrade.live.store import (
    WALLET,
    FillRecord,
    OrderSpec,
    Store,
    current_revision,
    head_revision,
    migrate,
    open_engine,
)

BTC = "BTC/USDT:USDT"
T0 = 1_704_412_800_000
HOUR = 3_600_000


def _spec(client_id: str, **values: object) -> OrderSpec:
    fields: dict[str, object] = {
        "client_id": client_id,
        "symbol": BTC,
        "side": "buy",
        "type": "market",
        "amount": 0.1,
        "origin": "strategy",
        "decision_time": T0,
    }
    fields.update(values)
    return OrderSpec(**fields)  # type: ignore[arg-type]


def _fill(trade_id: str, side: str, amount: float, price: float, fee: float, pnl: float,
          time: int, reason: str = "order") -> FillRecord:  # fmt: skip
    return FillRecord(trade_id, "v" + trade_id, BTC, "BOTH", side, amount, price, fee, pnl,
                      reason, time)  # fmt: skip


def test_intents_states_and_their_events(db_url: str) -> None:
    store = Store.open(db_url)
    run = store.start_run(mode="live", exchange="binance", strategy="S", pid=1)
    (row,) = store.record_intents([_spec("ltabcd.x.0")], run, cursor=("decided", str(T0)))
    assert row.state == "intent" and store.cursor("decided") == str(T0)
    # the same intent again (a decision re-run after a crash) is the same order
    (again,) = store.record_intents([_spec("ltabcd.x.0", amount=0.2)], run)
    assert again.id == row.id and again.amount == 0.1
    store.update_order("ltabcd.x.0", "ambiguous", message="timeout")
    store.update_order("ltabcd.x.0", "open", venue_order_id="8001")
    store.update_order("ltabcd.x.0", "filled", filled=0.1, average=40_000.0)
    # a late answer cannot reopen a filled order
    late = store.update_order("ltabcd.x.0", "open", filled=0.0)
    assert late is not None and late.state == "filled" and late.filled == 0.1
    states = [s for s, _, _ in store.order_events("ltabcd.x.0")]
    assert states == ["intent", "ambiguous", "open", "filled"]
    assert store.order_by_venue_id("8001") == store.order("ltabcd.x.0")
    store.close()


def test_fills_are_booked_once_into_trades_and_the_ledger(db_url: str) -> None:
    store = Store.open(db_url)
    store.book_opening_balance(10_000.0, T0)
    opened = store.book_fill(_fill("1", "buy", 0.1, 40_000.0, 2.00, 0.0, T0))
    assert len(opened.opened_trades) == 1
    assert store.book_fill(_fill("1", "buy", 0.1, 40_000.0, 2.00, 0.0, T0)).fills == []
    closed = store.book_fill(_fill("2", "sell", 0.1, 41_000.0, 2.05, 100.0, T0 + HOUR))
    (trade,) = closed.closed_trades
    assert (trade.side, trade.size, trade.closed) == ("long", 0.1, 0.1)
    assert trade.entry_price == pytest.approx(40_000.0, rel=1e-12)
    assert trade.pnl == pytest.approx(100.0 - 4.05, rel=1e-12)
    assert trade.exit_reason == "order"
    balances = store.ledger_balances()
    assert balances[WALLET] == pytest.approx(10_095.95, rel=1e-12)
    assert math.fsum(balances.values()) == pytest.approx(0.0, abs=1e-9)
    assert len(store.fills()) == 2 and store.book_positions() == {}
    store.close()


def test_a_fill_through_flat_closes_one_trade_and_opens_the_next(db_url: str) -> None:
    store = Store.open(db_url)
    store.book_fill(_fill("1", "buy", 0.1, 40_000.0, 2.00, 0.0, T0))
    # sell 0.3 at 41,000 (fee 0.3 × 41,000 × 0.0005 = 6.15): 0.1 closes the long (a third of
    # the fee, 2.05), 0.2 opens a short (4.10)
    booked = store.book_fill(_fill("2", "sell", 0.3, 41_000.0, 6.15, 100.0, T0 + HOUR))
    (closed,) = booked.closed_trades
    (short,) = booked.opened_trades
    assert closed.fees == pytest.approx(2.00 + 2.05, rel=1e-12)
    assert (short.side, short.size, short.fees) == (
        "short",
        pytest.approx(0.2),
        pytest.approx(4.10),
    )
    assert store.book_positions() == {(BTC, "BOTH"): pytest.approx(-0.2, rel=1e-12)}
    store.close()


def test_funding_goes_once_to_the_trade_holding_at_the_settlement(db_url: str) -> None:
    store = Store.open(db_url)
    store.book_fill(_fill("1", "buy", 0.1, 40_000.0, 2.00, 0.0, T0))
    # paid at T0 + 8h on 0.1 BTC at a mark of 40,500 and a rate of 0.0001: 0.405
    store.book_funding("f1", BTC, -0.405, T0 + 8 * HOUR)
    assert store.book_funding("f1", BTC, -0.405, T0 + 8 * HOUR).funding_count == 0
    # a settlement at the time a trade opens is not that trade's (funding comes first)
    store.book_fill(_fill("2", "sell", 0.1, 40_000.0, 2.00, 0.0, T0 + 9 * HOUR))
    store.book_fill(_fill("3", "buy", 0.1, 40_000.0, 2.00, 0.0, T0 + 16 * HOUR))
    store.book_funding("f2", BTC, -0.4, T0 + 16 * HOUR)
    first, second = store.trades()
    assert first.funding == pytest.approx(-0.405, rel=1e-12)
    assert second.funding == 0.0
    assert len(store.funding_payments()) == 2
    store.close()


def test_a_liquidation_closes_the_trade_with_the_clearance(db_url: str) -> None:
    store = Store.open(db_url)
    store.book_opening_balance(1_000.0, T0)
    store.book_fill(_fill("1", "buy", 0.1, 40_000.0, 2.00, 0.0, T0))
    # isolated at 5x: 800 of margin; liquidated at 32,160: realized −784, the rest of the
    # margin (800 − 784 = 16) goes to the insurance fund as INSURANCE_CLEAR
    store.book_fill(_fill("2", "sell", 0.1, 32_160.0, 0.0, -784.0, T0 + HOUR, "liquidation"))
    store.book_income("c1", "clearance", BTC, -16.0, T0 + HOUR)
    (trade,) = store.trades()
    assert trade.exit_reason == "liquidation" and not trade.is_open
    assert trade.pnl == pytest.approx(-784.0 - 2.0 - 16.0, rel=1e-12)
    assert store.ledger_balances()[WALLET] == pytest.approx(1_000.0 - 802.0, rel=1e-12)
    store.close()


def test_a_database_of_the_previous_revision_upgrades_without_loss(db_url: str) -> None:
    engine = open_engine(db_url)
    migrate(engine, "0001")
    assert current_revision(engine) == "0001"
    rows = {
        "runs": "INSERT INTO runs (id, started_at, mode, exchange, strategy, pid, status, message)"
        " VALUES (1, 5, 'live', 'binance', 'S', 7, 'stopped', '')",
        "orders": "INSERT INTO orders (id, client_id, venue_order_id, run_id, symbol, side, type,"
        " amount, time_in_force, reduce_only, close_position, leg, origin, purpose, state,"
        " filled, decision_time, message, recorded_at, updated_at) VALUES (1, 'ltabcd.x.0',"
        f" '8001', 1, '{BTC}', 'buy', 'market', 0.1, 'GTC', false, false, 'BOTH', 'strategy',"
        f" 'order', 'filled', 0.1, {T0}, '', 5, 5)",
        "fills": "INSERT INTO fills (id, venue_trade_id, venue_order_id, order_id, symbol, leg,"
        " side, amount, price, fee, realized_pnl, reason, time, recorded_at) VALUES"
        f" (1, '500', '8001', 1, '{BTC}', 'BOTH', 'buy', 0.1, 40000.0, 2.0, 0.0, 'order', {T0}, 5),"
        f" (2, '501', '8002', NULL, '{BTC}', 'BOTH', 'sell', 0.1, 41000.0, 2.05, 100.0,"
        f" 'external', {T0 + 9 * HOUR}, 5)",
        "funding": "INSERT INTO funding (id, venue_id, symbol, amount, time, recorded_at) VALUES"
        f" (1, 'f1', '{BTC}', -0.405, {T0 + 8 * HOUR}, 5)",
        "ledger": "INSERT INTO ledger (id, time, kind, source, destination, amount, symbol,"
        f" reference) VALUES (1, {T0}, 'deposit', 'external', 'wallet', 10000.0, '', 'opening')",
        "cursors": "INSERT INTO cursors (name, value) VALUES ('bot', 'abcd')",
    }
    with engine.begin() as connection:
        for statement in rows.values():
            connection.execute(text(statement))
    before = {}
    with engine.connect() as connection:
        for table in rows:
            before[table] = connection.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all()
    migrate(engine)
    assert current_revision(engine) == head_revision() == "0002"
    with engine.connect() as connection:
        for table in rows:
            assert (
                connection.execute(text(f"SELECT * FROM {table} ORDER BY 1")).all() == before[table]
            )
    engine.dispose()
    store = Store.open(db_url)
    (trade,) = store.trades()
    # the trade the old fills make: long 0.1 from 40,000 to 41,000 (closed by a fill placed
    # outside the bot), realized 100, fees 4.05, funding −0.405
    assert (trade.side, trade.exit_reason, trade.is_open) == ("long", "external", False)
    assert trade.pnl == pytest.approx(100.0 - 4.05 - 0.405, rel=1e-12)
    assert store.bot_tag() == "abcd" and store.order("ltabcd.x.0") is not None
    store.close()


def test_sqlite_commits_are_durable(sqlite_url: str) -> None:
    store = Store.open(sqlite_url)
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
    store.close()


def test_a_store_that_would_not_survive_a_restart_is_refused() -> None:
    with pytest.raises(StoreError, match="in-memory"):
        Store.open("sqlite:///:memory:")
    with pytest.raises(StoreError, match="db_url"):
        Store.open("nosuchdriver://x")
