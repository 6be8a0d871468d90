"""Fetching tiers through real ccxt exchange objects, the dated cache, and ``levtrade data
tiers``, which refreshes the tables the default look-ups use.

No network: each exchange object's HTTP layer (``exchange.fetch(url, method, headers, body)``)
is replaced by one that answers with exchange-shaped responses built here. The bracket values
are the published BTCUSDT/ETHUSDT brackets 1–3 of MARGIN_SPEC.md §1.1 (0–300k 0.4 % 150x,
300k–800k 0.5 % 100x cum 300, 800k–3M 0.65 % 75x cum 1,500).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

import ccxt
import pytest
from typer.testing import CliRunner

from levtrade.cli import app
from levtrade.errors import ConfigError, TierTableError, UnknownSymbolError
from levtrade.venues import (
    TierRegistry,
    cache_path,
    default_tiers,
    fetch_tiers,
    load_cached_tiers,
    load_tier_file,
)

API_KEY, SECRET = "test-key", "test-secret"

BRACKETS = [
    {
        "bracket": 1,
        "initialLeverage": 150,
        "notionalCap": 300000,
        "notionalFloor": 0,
        "maintMarginRatio": 0.004,
        "cum": 0.0,
    },
    {
        "bracket": 2,
        "initialLeverage": 100,
        "notionalCap": 800000,
        "notionalFloor": 300000,
        "maintMarginRatio": 0.005,
        "cum": 300.0,
    },
    {
        "bracket": 3,
        "initialLeverage": 75,
        "notionalCap": 3000000,
        "notionalFloor": 800000,
        "maintMarginRatio": 0.0065,
        "cum": 1500.0,
    },
]


def _exchange_info() -> dict[str, Any]:
    """``GET /fapi/v1/exchangeInfo`` with the two perpetuals (fields ccxt reads)."""
    symbols = []
    for base in ("BTC", "ETH"):
        symbols.append(
            {
                "symbol": f"{base}USDT",
                "pair": f"{base}USDT",
                "contractType": "PERPETUAL",
                "deliveryDate": 4133404800000,
                "onboardDate": 1569398400000,
                "status": "TRADING",
                "baseAsset": base,
                "quoteAsset": "USDT",
                "marginAsset": "USDT",
                "pricePrecision": 2,
                "quantityPrecision": 3,
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "underlyingType": "COIN",
                "triggerProtect": "0.0500",
                "filters": [],
                "orderTypes": ["LIMIT", "MARKET"],
                "timeInForce": ["GTC"],
            }
        )
    return {"timezone": "UTC", "serverTime": 1774483200000, "assets": [], "symbols": symbols}


class BinanceHttp:
    """Answers binanceusdm's requests and checks that the bracket request is signed."""

    def __init__(self, listed: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")) -> None:
        self.listed = listed
        self.paths: list[str] = []

    def __call__(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        parsed = urlparse(url)
        self.paths.append(parsed.path)
        if parsed.path in ("/sapi/v1/capital/config/getall", "/sapi/v1/margin/allPairs"):
            return []
        if parsed.path == "/fapi/v1/exchangeInfo":
            return _exchange_info()
        if parsed.path == "/fapi/v1/leverageBracket":
            assert method == "GET"
            assert headers["X-MBX-APIKEY"] == API_KEY
            query, _, signature = parsed.query.rpartition("&signature=")
            expected = hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()
            assert signature == expected
            assert "timestamp" in dict(parse_qsl(query))
            return [{"symbol": symbol, "brackets": BRACKETS} for symbol in self.listed]
        raise ccxt.NetworkError(f"unexpected request {method} {url}")


def _binance(listed: tuple[str, ...] = ("BTCUSDT", "ETHUSDT")) -> tuple[Any, BinanceHttp]:
    exchange = ccxt.binanceusdm({"apiKey": API_KEY, "secret": SECRET})
    http = BinanceHttp(listed)
    exchange.fetch = http
    return exchange, http


def test_binance_fetch_writes_a_dated_cache(tmp_path: Path) -> None:
    exchange, http = _binance()
    day = date(2026, 3, 26)
    tables = fetch_tiers(exchange, ["BTC/USDT:USDT"], cache_dir=tmp_path, fetched_on=day)
    assert "/fapi/v1/leverageBracket" in http.paths
    (btc,) = tables
    assert btc.venue == "binance"
    assert btc.symbol == "BTC/USDT:USDT"
    assert btc.effective_date == day
    assert [(t.floor, t.cap, t.mmr, t.maintenance_amount, t.max_leverage) for t in btc.tiers] == [
        (0, 300_000, 0.004, 0, 150),
        (300_000, 800_000, 0.005, 300, 100),
        (800_000, 3_000_000, 0.0065, 1_500, 75),
    ]
    file = cache_path(tmp_path, "binance", day)
    assert file.name == "binance-2026-03-26.json"
    document = json.loads(file.read_text())
    assert document["fetched_on"] == "2026-03-26"
    assert document["exchange"] == "binanceusdm"
    # Reading the cache back gives the very same tables.
    assert load_cached_tiers(tmp_path) == tables


def test_same_day_fetches_merge(tmp_path: Path) -> None:
    day = date(2026, 3, 26)
    fetch_tiers(_binance()[0], ["BTC/USDT:USDT"], cache_dir=tmp_path, fetched_on=day)
    fetch_tiers(_binance()[0], ["ETH/USDT:USDT"], cache_dir=tmp_path, fetched_on=day)
    cached = {t.symbol for t in load_cached_tiers(tmp_path, venue="binance")}
    assert cached == {"BTC/USDT:USDT", "ETH/USDT:USDT"}


def test_cache_over_days_is_a_history(tmp_path: Path) -> None:
    fetch_tiers(_binance()[0], ["BTC/USDT:USDT"], cache_dir=tmp_path, fetched_on=date(2026, 3, 26))
    fetch_tiers(_binance()[0], ["BTC/USDT:USDT"], cache_dir=tmp_path, fetched_on=date(2026, 4, 2))
    registry = TierRegistry(load_cached_tiers(tmp_path))
    assert [t.effective_date for t in registry.history("binance", "BTC/USDT:USDT")] == [
        date(2026, 3, 26),
        date(2026, 4, 2),
    ]
    assert registry.get("binance", "BTCUSDT", at=date(2026, 3, 30)).effective_date == date(
        2026, 3, 26
    )


def test_default_fetch_date_is_today_utc(tmp_path: Path) -> None:
    before = datetime.now(UTC).date()
    (table,) = fetch_tiers(_binance()[0], ["ETH/USDT:USDT"], cache_dir=tmp_path)
    after = datetime.now(UTC).date()
    assert table.effective_date in (before, after)
    assert cache_path(tmp_path, "binance", table.effective_date).exists()


def test_symbol_missing_from_the_response(tmp_path: Path) -> None:
    exchange, _ = _binance(listed=("BTCUSDT",))
    with pytest.raises(UnknownSymbolError, match="ETH/USDT:USDT"):
        fetch_tiers(exchange, ["ETH/USDT:USDT"], cache_dir=tmp_path, fetched_on=date(2026, 3, 26))


class HyperliquidHttp:
    """Answers ``POST /info {"type": "meta"}``."""

    def __init__(self, meta: dict[str, Any]) -> None:
        self.meta = meta
        self.bodies: list[Any] = []

    def __call__(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        assert (method, urlparse(url).path) == ("POST", "/info")
        self.bodies.append(json.loads(body))
        if self.bodies[-1] == {"type": "meta"}:
            return self.meta
        raise ccxt.NetworkError(f"unexpected request {body}")


def test_hyperliquid_fetch_via_meta(tmp_path: Path, hl_meta: dict[str, Any]) -> None:
    exchange = ccxt.hyperliquid()
    http = HyperliquidHttp(hl_meta)
    exchange.fetch = http
    day = date(2026, 4, 14)
    tables = fetch_tiers(exchange, ["BTC/USDC:USDC", "ETH"], cache_dir=tmp_path, fetched_on=day)
    assert http.bodies == [{"type": "meta"}]
    btc, eth = tables
    assert (btc.symbol, eth.symbol) == ("BTC/USDC:USDC", "ETH/USDC:USDC")
    # HL-08, HL-09.
    assert btc.tiers[1].maintenance_amount == pytest.approx(1_875_000)
    assert eth.tiers[1].maintenance_amount == pytest.approx(1_333_333.33, abs=0.01)
    assert btc.effective_date == day
    cached = {t.symbol: t for t in load_cached_tiers(tmp_path, venue="hyperliquid")}
    assert len(cached) == len(hl_meta["universe"])
    assert cached["BTC/USDC:USDC"] == btc
    assert cached["ETH/USDC:USDC"] == eth


@pytest.mark.parametrize(("ccxt_class", "hint"), [("okx", "parse_okx"), ("dydx", "parse_dydx")])
def test_unsupported_fetch_says_what_to_use(tmp_path: Path, ccxt_class: str, hint: str) -> None:
    with pytest.raises(ConfigError, match=hint):
        fetch_tiers(getattr(ccxt, ccxt_class)(), cache_dir=tmp_path)


def test_fetch_needs_an_exchange_object(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ccxt exchange object"):
        fetch_tiers(object(), cache_dir=tmp_path)


def test_cache_dir_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a directory"):
        load_cached_tiers(tmp_path / "missing")


def test_foreign_cache_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "binance-2026-03-26.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(TierTableError, match="not a levtrade tier cache"):
        load_cached_tiers(tmp_path)


# ------------------------------------------------------------------------------------------
# levtrade data tiers: the refresh command, through the same recorded responses
# ------------------------------------------------------------------------------------------


def _unsigned_binance(name: str) -> Any:
    """What ``make_exchange`` gives the command (no keys: the command sets them)."""
    assert name == "binanceusdm"
    exchange = ccxt.binanceusdm()
    exchange.fetch = BinanceHttp()
    return exchange


def test_data_tiers_refreshes_the_default_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "tiers"
    monkeypatch.setenv("LEVTRADE_TIERS_DIR", str(folder))
    monkeypatch.setenv("LEVTRADE_API_KEY", API_KEY)
    monkeypatch.setenv("LEVTRADE_API_SECRET", SECRET)
    result = CliRunner().invoke(
        app,
        ["data", "tiers", "--exchange", "binanceusdm", "--date", "2026-10-01", "--json"],
        obj={"exchange_factory": _unsigned_binance},
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["venue"], summary["markets"], summary["effective_date"]) == (
        "binance",
        2,
        "2026-10-01",
    )
    assert (folder / "binance-2026-10-01.json.gz").is_file()
    # the default look-ups now give the fetched brackets from that day on ...
    btc = default_tiers("binance", "BTC/USDT:USDT")
    assert btc.effective_date == date(2026, 10, 1)
    assert btc.source == "ccxt binanceusdm fetch_leverage_tiers, fetched 2026-10-01"
    assert [(t.floor, t.cap, t.mmr, t.maintenance_amount) for t in btc.tiers] == [
        (b["notionalFloor"], b["notionalCap"], b["maintMarginRatio"], b["cum"]) for b in BRACKETS
    ]
    # ... and the shipped ones before it, and for the markets not fetched
    before = default_tiers("binance", "BTC/USDT:USDT", at=date(2026, 9, 30))
    assert before.effective_date == date(2026, 9, 1) and len(before.tiers) == 12
    assert default_tiers("binance", "SOL/USDT:USDT").effective_date == date(2026, 9, 1)


def test_data_tiers_without_keys_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEVTRADE_API_KEY", raising=False)
    monkeypatch.delenv("LEVTRADE_API_SECRET", raising=False)
    result = CliRunner().invoke(
        app,
        ["data", "tiers", "--exchange", "binanceusdm", "--dir", str(tmp_path)],
        obj={"exchange_factory": _unsigned_binance},
    )
    assert result.exit_code == 1
    assert "LEVTRADE_API_KEY" in result.stderr and "apiKey" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.shared
def test_data_tiers_adds_a_tier_file(tmp_path: Path, tiers_dir: Path) -> None:
    name = "binance_leverage_tiers_freqtrade-2024-10-24.json.gz"
    args = ["data", "tiers", "--file", str(tiers_dir / name), "--dir", str(tmp_path)]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 1 and "--date" in refused.stderr
    result = CliRunner().invoke(app, [*args, "--date", "2024-10-24", "--source", "a copy"])
    assert result.exit_code == 0, result.output
    tables = load_cached_tiers(tmp_path)
    assert len(tables) == 349  # data/README.md §6
    direct = {t.symbol: t for t in load_tier_file(tiers_dir / name, venue="binance")}
    assert all(t.tiers == direct[t.symbol].tiers for t in tables)
    assert {(t.effective_date, t.source) for t in tables} == {(date(2024, 10, 24), "a copy")}


def test_data_tiers_needs_one_source(tmp_path: Path) -> None:
    neither = CliRunner().invoke(app, ["data", "tiers", "--dir", str(tmp_path)])
    assert neither.exit_code == 1 and "--exchange" in neither.stderr
    other = CliRunner().invoke(app, ["data", "tiers", "--exchange", "okx", "--dir", str(tmp_path)])
    assert other.exit_code == 1 and "binanceusdm, bybit, hyperliquid" in other.stderr
