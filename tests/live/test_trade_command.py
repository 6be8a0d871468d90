"""``levtrade trade``: the configuration (FreqTrade's keys, one file for backtest and trade),
the risk toolkit live (pre-trade rules, the emergency protocol), and the commands — ``run`` in
a subprocess, ``status``, ``stop --flatten`` and ``reconcile`` against it."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from live_helpers import BTC, KEY, SECRET, Scripted, advance, bar_time, drive, settings
from typer.testing import CliRunner

from levtrade import localvenue
from levtrade.cli import app
from levtrade.configuration import RunConfig
from levtrade.configuration.trade import TradeConfig, load_trade_config
from levtrade.errors import ConfigError
from levtrade.live.runner import Bot
from levtrade.live.store import Store
from levtrade.localvenue import VenueServer
from levtrade.model.orders import Order, OrderStatus
from levtrade.risk import CloseAll, EmergencyProtocol, MarginLevelBelow, RiskRules

HERE = Path(__file__).parent
FREQTRADE = {
    "dry_run": False,
    "dry_run_wallet": 1000,
    "trading_mode": "futures",
    "margin_mode": "isolated",
    "stake_currency": "USDT",
    "stake_amount": 100,
    "max_open_trades": 2,
    "timeframe": "1h",
    "leverage": 5,
    "stoploss": -0.2,
    "db_url": "sqlite:///trades.sqlite",
    "order_types": {
        "entry": "limit",
        "exit": "limit",
        "stoploss": "market",
        "stoploss_on_exchange": True,
        "stoploss_price_type": "mark",
    },
    "exchange": {
        "name": "binance",
        "key": "",
        "secret": "",
        "ccxt_config": {"timeout": 3000},
        "pair_whitelist": ["BTC/USDT:USDT"],
    },
    "telegram": {"enabled": False},
    "strategy": "strategies_for_tests.py:Cycle",
}


def test_a_freqtrade_config_trades_and_backtests(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(FREQTRADE), "utf-8")
    config = load_trade_config(path)
    with pytest.raises(ConfigError, match=r"exchange\.key / exchange\.secret: a live run"):
        config.trade_settings()
    environ = {"FREQTRADE__EXCHANGE__KEY": "k", "FREQTRADE__EXCHANGE__SECRET": "s"}
    live = config.trade_settings(environ=environ)
    assert (live.key, live.secret, live.dry_run, live.exchange) == ("k", "s", False, "binance")
    assert live.symbols == (BTC,) and live.ccxt_config == {"timeout": 3000}
    assert live.account.stake_amount == 100 and live.account.max_open_trades == 2
    assert (live.account.margin_mode, live.account.leverage, live.account.wallet) == (
        "isolated", 5.0, 1000.0
    )  # fmt: skip
    assert live.protective_stop is not None and live.protective_stop.working_type == "MARK_PRICE"
    assert live.db_url == f"sqlite:///{Path.cwd() / 'trades.sqlite'}"  # JSON: relative to the cwd
    paper = TradeConfig.from_mapping(
        {**FREQTRADE, "dry_run": True, "db_url": None}, base_dir=tmp_path
    )
    assert isinstance(paper, TradeConfig)
    assert paper.trade_settings().db_url.endswith("levtrade-trade.dryrun.sqlite")
    # the same file, read for a backtest: the trading keys are listed as ignored
    backtest = RunConfig.from_mapping({**FREQTRADE, "venue_url": "http://127.0.0.1:1"})
    assert {"dry_run", "db_url", "order_types", "venue_url", "exchange.key"} <= set(
        backtest.ignored_keys
    )
    with pytest.raises(ConfigError, match=r"unknown key emergency.margin_level \(did you mean"):
        TradeConfig.from_mapping({**FREQTRADE, "emergency": {"margin_level": 1.5}})
    # a spot configuration is refused by name, never sent to the futures venue
    spot = TradeConfig.from_mapping(
        {**FREQTRADE, "trading_mode": "spot", "leverage": 1, "dry_run": True,
         "exchange": {**FREQTRADE["exchange"], "pair_whitelist": ["BTC/USDT"]}},
    )  # fmt: skip
    assert isinstance(spot, TradeConfig)
    with pytest.raises(ConfigError, match=r"^trading_mode: 'spot' is not traded on paper or live"):
        spot.trade_settings()


def test_pre_trade_rules_refuse_and_the_emergency_protocol_closes(
    server: VenueServer, sqlite_url: str
) -> None:
    venue = server.venue
    plan = {
        bar_time(server): [("buy", (), {"size": 0.01, "leverage": 10})],
        int(venue.timestamps[venue.cursor]): [("buy", (), {"size": 0.01})],
    }
    Scripted.seen.clear()
    # at 5x isolated the margin level (equity ÷ maintenance margin) is about 0.2 / 0.004 = 50:
    # an emergency level of 100 fires as soon as a position is open
    rules = RiskRules(max_leverage=5)
    protocol = EmergencyProtocol([MarginLevelBelow(100.0)], action=CloseAll())

    async def scenario() -> None:
        bot = Bot(settings(server, sqlite_url, rules=rules, emergency=protocol), Scripted,
                  {"plan": plan})  # fmt: skip
        await bot.start()
        assert bot.store is not None and bot.store.orders() == []  # refused before the venue
        await drive(bot, server, 3)
        await bot.close()

    asyncio.run(scenario())
    refused = [
        o for o in Scripted.seen if isinstance(o, Order) and o.status is OrderStatus.REJECTED
    ]
    assert (
        len(refused) == 1 and "leverage 10 is above the per-trade maximum 5" in refused[0].message
    )
    store = Store.open(sqlite_url)
    (emergency,) = store.orders(origin="emergency")
    assert emergency.reduce_only and emergency.state == "filled"
    (trade,) = store.trades()
    assert not trade.is_open and trade.exit_reason == "emergency"
    store.close()


def _config_file(folder: Path, server: VenueServer) -> Path:
    path = folder / "bot.toml"
    path.write_text(
        f"""
strategy = "{HERE / "strategies_for_tests.py"}:Cycle"
pair_whitelist = ["{BTC}"]
timeframe = "1h"
dry_run = false
venue_url = "{server.url}"
db_url = "sqlite:///{folder / "bot.sqlite"}"
leverage = 5
margin_mode = "isolated"
startup_candle_count = 30
poll_interval = 0.05
[exchange]
name = "binanceusdm"
key = "{KEY}"
secret = "{SECRET}"
""",
        "utf-8",
    )
    return path


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.slow
def test_run_status_stop_flatten_and_reconcile(server: VenueServer, tmp_path: Path) -> None:
    config = _config_file(tmp_path, server)
    cli = CliRunner()
    before = _json(
        cli.invoke(app, ["trade", "reconcile", "--config", str(config), "--dry-run", "--json"])
    )
    assert before["outcome"] == "dry_run" and before["discrepancies"] == []
    # the strategy goes long at a bar whose hour is a multiple of 4: walk to one
    while (int(server.venue.timestamps[server.venue.cursor - 1]) // 3_600_000) % 4 != 0:
        advance(server)
    process = subprocess.Popen(
        [sys.executable, "-c", "from levtrade.cli import main; main()", "trade", "run",
         "--config", str(config), "--no-view", "-v", "--logfile", str(tmp_path / "bot.jsonl")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode() if process.stderr else "")
            time.sleep(0.3)
            if not (tmp_path / "bot.sqlite").exists():
                continue
            store = Store.open(f"sqlite:///{tmp_path / 'bot.sqlite'}")
            sent = [o for o in store.orders() if o.state == "open"]
            store.close()
            if sent:
                break
        advance(server)  # the entry fills
        time.sleep(1.0)
        status = _json(cli.invoke(app, ["trade", "status", "--config", str(config), "--json"]))
        assert status["run"]["running"] and status["agrees"]
        (position,) = status["positions"]
        assert position["size"] == 0.01 and position["margin_mode"] == "isolated"
        # levtrade's liquidation price and the venue's agree
        assert position["liquidation_price"] == pytest.approx(
            position["venue_liquidation_price"], rel=1e-9
        )
        stopped = cli.invoke(app, ["trade", "stop", "--config", str(config), "--flatten"])
        assert stopped.exit_code == 0, stopped.output
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    advance(server)  # the reduce-only close fills
    after = _json(cli.invoke(app, ["trade", "reconcile", "--config", str(config), "--json"]))
    assert after["outcome"] == "booked" and after["discrepancies"] == []
    final = _json(cli.invoke(app, ["trade", "status", "--config", str(config), "--json"]))
    assert final["positions"] == [] and final["agrees"] and not final["run"]["running"]
    exchange = localvenue.client(server.url, KEY, SECRET)
    exchange.load_markets()
    assert exchange.fetch_positions([BTC]) == []
    store = Store.open(f"sqlite:///{tmp_path / 'bot.sqlite'}")
    assert [o.origin for o in store.orders() if o.origin == "flatten"] == ["flatten"]
    assert store.last_run() is not None
    store.close()
