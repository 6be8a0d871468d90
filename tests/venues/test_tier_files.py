"""A user's own tier file: ccxt ``fetch_leverage_tiers`` shape or Binance ``leverageBracket``."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from levtrade.errors import ConfigError, TierTableError
from levtrade.venues import load_tier_file


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_ccxt_shape_file(tmp_path: Path, current_raw: dict[str, Any]) -> None:
    subset = {s: current_raw[s] for s in ("BTC/USDT:USDT", "ETH/USDT:USDT")}
    file = _write(tmp_path / "mine.json", subset)
    tables = load_tier_file(file, venue="Binance", effective_date=date(2026, 3, 26))
    assert [t.symbol for t in tables] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    assert all(t.effective_date == date(2026, 3, 26) for t in tables)
    assert tables[0].source == "file mine.json"
    assert tables[0].tiers[1].maintenance_amount == 300


def test_bracket_list_and_single_object_files(tmp_path: Path, venue_tiers: dict[str, Any]) -> None:
    brackets = venue_tiers["binance"]["BTCUSDT"]
    listed = load_tier_file(
        _write(tmp_path / "list.json", [{"symbol": "BTCUSDT", "brackets": brackets}]),
        venue="binance",
    )
    single = load_tier_file(
        _write(tmp_path / "one.json", {"symbol": "BTCUSDT", "brackets": brackets}),
        venue="binance",
    )
    assert listed[0].tiers == single[0].tiers
    assert [t.cap for t in single[0].tiers] == [b["notionalCap"] for b in brackets]


def test_gzip_file(tmp_path: Path, venue_tiers: dict[str, Any]) -> None:
    file = tmp_path / "brackets.json.gz"
    payload = [{"symbol": "ETHUSDT", "brackets": venue_tiers["binance"]["ETHUSDT"]}]
    file.write_bytes(gzip.compress(json.dumps(payload).encode()))
    (table,) = load_tier_file(file, venue="binance")
    assert table.symbol == "ETH/USDT:USDT"
    assert table.tiers[4].maintenance_amount == 132_000


def test_freqtrade_maint_amt_shape(shared_data: Path, tmp_path: Path) -> None:
    """FreqTrade's parsed tiers carry ``maintAmt``; each is checked against the recursion."""
    path = shared_data / "freqtrade_testdata/leverage_tiers/conftest_leverage_tiers.json"
    raw = json.loads(path.read_text())
    assert len(raw) == 8
    # The fixture's AAVE table is inconsistent: tier 2 (floor 5,000, MMR 1 % → 2 %) gives
    # 5,000 × 0.01 = 50 by the recursion, but the file says 75 — the file is refused.
    with pytest.raises(TierTableError) as info:
        load_tier_file(path, venue="binance")
    assert "'AAVE/USDT:USDT' tier 2" in str(info.value)
    assert "75.0" in str(info.value) and "50.0" in str(info.value)
    consistent = {s: rows for s, rows in raw.items() if s != "AAVE/USDT:USDT"}
    tables = {
        t.symbol: t
        for t in load_tier_file(_write(tmp_path / "ft.json", consistent), venue="binance")
    }
    assert len(tables) == 7
    # 1INCH tier 2 in the file: floor 5,000, MMR 1.2 % → 2.5 %: maintAmt 5,000 × 0.013 = 65.
    assert raw["1INCH/USDT:USDT"][1]["maintAmt"] == 65.0
    assert tables["1INCH/USDT:USDT"].tiers[1].maintenance_amount == 65.0
    for symbol, rows in consistent.items():
        assert [t.maintenance_amount for t in tables[symbol].tiers] == [r["maintAmt"] for r in rows]


def test_real_snapshot_file_is_detected(tiers_dir: Path) -> None:
    tables = load_tier_file(
        tiers_dir / "binance_leverage_tiers_freqtrade-2023-12-12.json.gz", venue="binance"
    )
    assert len(tables) == 291


@pytest.mark.parametrize(
    "document",
    [
        {"BTC/USDT:USDT": {"minNotional": 0}},
        {"data": [1, 2]},
        {},
        [],
        42,
    ],
)
def test_unknown_shapes_are_refused(tmp_path: Path, document: Any) -> None:
    file = _write(tmp_path / "odd.json", document)
    with pytest.raises(TierTableError) as info:
        load_tier_file(file, venue="binance")
    assert "odd.json" in str(info.value)
    assert "unrecognised tier file" in str(info.value)


def test_not_json(tmp_path: Path) -> None:
    file = tmp_path / "broken.json"
    file.write_text("{not json")
    with pytest.raises(TierTableError, match=r"broken\.json: not valid JSON"):
        load_tier_file(file, venue="binance")
    gz = tmp_path / "broken.json.gz"
    gz.write_bytes(b"plain text")
    with pytest.raises(TierTableError, match="not valid gzip"):
        load_tier_file(gz, venue="binance")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"absent\.json"):
        load_tier_file(tmp_path / "absent.json", venue="binance")


def test_brackets_for_another_venue_are_refused(
    tmp_path: Path, venue_tiers: dict[str, Any]
) -> None:
    file = _write(
        tmp_path / "b.json", [{"symbol": "BTCUSDT", "brackets": venue_tiers["binance"]["BTCUSDT"]}]
    )
    with pytest.raises(TierTableError, match="venue is 'bybit'"):
        load_tier_file(file, venue="bybit")
