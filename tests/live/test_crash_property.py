"""``kill -9`` at random points of a scripted session — before the intent commit, after it,
after the send, after a fill, during a reconciliation — then restart: the venue has no client
id twice, the store's positions are the venue's, every fill and funding payment is booked once,
and the ledger's wallet is the venue's wallet.

The bot runs as ``levtrade trade run`` in a subprocess against the local venue (manual clock);
``LEVTRADE_FAILPOINT=<point>:<n>`` makes it SIGKILL itself the n-th time it reaches the point.
Hypothesis draws a schedule — the five points in some order, each with its n (1–2) — and the
bot is killed at each in turn within one session, restarted after each kill, then stopped
cleanly; the checks run on the session's end state."""

from __future__ import annotations

import asyncio
import math
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from live_helpers import BTC, KEY, SECRET, advance, venue_orders

from levtrade import localvenue
from levtrade.configuration.trade import load_trade_config
from levtrade.live import failpoints
from levtrade.live.runner import Bot
from levtrade.live.store import WALLET, Store
from levtrade.localvenue import VenueServer
from levtrade.strategy.base import Strategy

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent
MAX_BARS = 30
WAIT = 60.0


def _config(folder: Path, url: str) -> Path:
    path = folder / "bot.toml"
    path.write_text(
        f"""
strategy = "{HERE / "strategies_for_tests.py"}:Cycle"
pair_whitelist = ["{BTC}"]
timeframe = "1h"
dry_run = false
venue_url = "{url}"
db_url = "sqlite:///{folder / "bot.sqlite"}"
leverage = 5
margin_mode = "isolated"
stoploss = -0.5
startup_candle_count = 30
poll_interval = 0.02
reconcile_interval = 3600
[order_types]
stoploss_on_exchange = true
[exchange]
name = "binanceusdm"
key = "{KEY}"
secret = "{SECRET}"
ccxt_config = {{ timeout = 3000 }}
""",
        "utf-8",
    )
    return path


def _start(config: Path, folder: Path, failpoint: str | None) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.pop("LEVTRADE_FAILPOINT", None)
    if failpoint is not None:
        env["LEVTRADE_FAILPOINT"] = failpoint
    log = open(folder / "bot.log", "ab")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [sys.executable, "-c", "from levtrade.cli import main; main()", "trade", "run",
         "--config", str(config), "--no-view", "-v", "--logfile", str(folder / "bot.jsonl")],
        stdout=log, stderr=log, env=env,
    )  # fmt: skip


def _caught_up(database: Path, bar: int) -> bool:
    """The bot decided at the close of ``bar`` and sent what it decided."""
    if not database.exists():
        return False
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute("SELECT value FROM cursors WHERE name = 'decided'").fetchone()
            waiting = db.execute(
                "SELECT count(*) FROM orders WHERE state IN ('intent', 'ambiguous')"
            ).fetchone()[0]
    except sqlite3.Error:
        return False
    return row is not None and int(row[0]) >= bar and waiting == 0


def _wait(process: subprocess.Popen[bytes], database: Path, bar: int) -> bool:
    """True when the bot caught up with ``bar``; False when it died on its way."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if _caught_up(database, bar):
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    raise AssertionError(f"the bot did not reach bar {bar} in {WAIT:g} s")


def _session(server: VenueServer, folder: Path, schedule: list[str]) -> list[str]:
    """Walk the venue bar by bar with the bot running; each time it dies (SIGKILL at the next
    failpoint of ``schedule``), start it again armed with the following one, then unarmed.
    Returns the failpoints that killed it."""
    config = _config(folder, server.url)
    database = folder / "bot.sqlite"
    pending = list(schedule)
    killed: list[str] = []
    after = 2  # bars the last, unarmed bot trades after the last kill
    process = _start(config, folder, pending[0])
    try:
        for _ in range(MAX_BARS):
            venue = server.venue
            bar = int(venue.timestamps[venue.cursor - 1])
            while not _wait(process, database, bar):
                assert process.returncode == -signal.SIGKILL, (folder / "bot.log").read_text()
                killed.append(pending.pop(0))
                process = _start(config, folder, pending[0] if pending else None)
            if not pending:
                after -= 1
                if after < 0:
                    break
            advance(server)
        assert killed == schedule, f"reached {killed} of {schedule} in {MAX_BARS} bars"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT) == 0, (folder / "bot.log").read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    _reconcile(config)
    return killed


def _reconcile(config: Path) -> None:
    settings = load_trade_config(config).trade_settings()

    async def run() -> None:
        bot = Bot(settings, Strategy)
        try:
            await bot.connect()
            await bot.need(bot.reconciler).run("manual", bot.need(bot.feed).now or 0)
        finally:
            await bot.close_connections()

    asyncio.run(run())


def _check(server: VenueServer, database: Path) -> None:
    exchange = localvenue.client(server.url, KEY, SECRET)
    exchange.load_markets()
    orders = venue_orders(exchange)
    ours = Counter(
        str(o.get("clientOrderId") or o.get("clientAlgoId"))
        for o in orders
        if str(o.get("clientOrderId") or o.get("clientAlgoId") or "").startswith("lt")
    )
    assert ours and max(ours.values()) == 1, ours
    store = Store.open(f"sqlite:///{database}")
    venue_positions = {
        (p["symbol"], "BOTH"): (p["contracts"] if p["side"] == "long" else -p["contracts"])
        for p in exchange.fetch_positions([BTC])
    }
    assert store.book_positions() == pytest.approx(venue_positions)
    since = 1_704_400_000_000
    trades = exchange.fetch_my_trades(BTC, since, None, {"endTime": since + 7 * 86_400_000 - 1})
    fills = store.fills()
    assert sorted(f.venue_trade_id for f in fills) == sorted(t["id"] for t in trades)
    income = exchange.fapiPrivateGetIncome({"incomeType": "FUNDING_FEE", "limit": 1000})
    payments = store.funding_payments()
    assert sorted(p.venue_id for p in payments) == sorted(str(i["tranId"]) for i in income)
    wallet = float(exchange.fapiPrivateV3GetAccount()["totalWalletBalance"])
    balances = store.ledger_balances()
    assert balances[WALLET] == pytest.approx(wallet, rel=1e-12)
    assert math.fsum(balances.values()) == pytest.approx(0.0, abs=1e-6)
    assert store.orders(("intent", "ambiguous")) == []
    store.close()


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    order=st.permutations(failpoints.POINTS),
    occurrences=st.lists(st.integers(1, 2), min_size=5, max_size=5),
)
def test_kill_9_at_any_point_loses_and_doubles_nothing(
    order: list[str], occurrences: list[int]
) -> None:
    schedule = [f"{point}:{n}" for point, n in zip(order, occurrences, strict=True)]
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        server = localvenue.serve(symbols=[BTC], api_keys={KEY: SECRET}, start="2024-01-05")
        try:
            _session(server, folder, schedule)
            _check(server, folder / "bot.sqlite")
        finally:
            server.stop_thread()
