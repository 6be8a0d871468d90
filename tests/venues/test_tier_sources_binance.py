"""Binance brackets: the ccxt snapshots (current and 2022-era formats) and leverageBracket.

Every expected number is from MARGIN_SPEC.md §1.1, data/README.md §6, data/venue_tiers.json or
the snapshot files themselves (each ``cum`` is re-derived here, independently of the parser).
"""

from __future__ import annotations

import copy
import csv
import math
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from levtrade.errors import TierTableError
from levtrade.margin.tiers import TierTable
from levtrade.venues import parse_binance_leverage_brackets, parse_ccxt_leverage_tiers


def _recursion(floors: list[float], mmrs: list[float]) -> list[float]:
    """MARGIN_SPEC §0: D_1 = 0, D_k = D_(k-1) + floor_k·(MMR_k − MMR_(k-1))."""
    amounts = [0.0]
    for k in range(1, len(floors)):
        amounts.append(amounts[-1] + floors[k] * (mmrs[k] - mmrs[k - 1]))
    return amounts


def test_all_907_markets_parse_with_published_cum(
    current_raw: dict[str, Any], current_tables: dict[str, TierTable]
) -> None:
    assert len(current_tables) == 907
    assert set(current_tables) == set(current_raw)
    for symbol, raw_tiers in current_raw.items():
        info = [t["info"] for t in raw_tiers]
        floors = [float(b["notionalFloor"]) for b in info]
        mmrs = [float(b["maintMarginRatio"]) for b in info]
        published = [float(b["cum"]) for b in info]
        for cum, derived in zip(published, _recursion(floors, mmrs), strict=True):
            assert cum == pytest.approx(derived, rel=1e-9, abs=1e-6), symbol
        table = current_tables[symbol]
        assert [t.maintenance_amount for t in table.tiers] == published
        assert [t.floor for t in table.tiers] == floors
        assert [t.cap for t in table.tiers] == [float(b["notionalCap"]) for b in info]
        assert [t.mmr for t in table.tiers] == mmrs
        assert [t.max_leverage for t in table.tiers] == [float(b["initialLeverage"]) for b in info]


def test_mm_is_continuous_at_every_floor(current_tables: dict[str, TierTable]) -> None:
    for symbol, table in current_tables.items():
        for lower, upper in zip(table.tiers, table.tiers[1:], strict=False):
            at_floor_from_below = upper.floor * lower.mmr - lower.maintenance_amount
            assert table.maintenance_margin(upper.floor) == pytest.approx(
                at_floor_from_below, rel=1e-9, abs=1e-6
            ), (symbol, upper.floor)


def test_btcusdt_2026_brackets(current_tables: dict[str, TierTable]) -> None:
    btc = current_tables["BTC/USDT:USDT"]
    # data/README.md §6: 12 tiers; 0–300k @ 0.4 % / 150x, 300k–800k @ 0.5 % / 100x (cum 300),
    # … 1.2–1.8 B @ 50 % / 1x.
    assert len(btc.tiers) == 12
    first, second, last = btc.tiers[0], btc.tiers[1], btc.tiers[-1]
    assert (first.floor, first.cap, first.mmr, first.max_leverage) == (0, 300_000, 0.004, 150)
    assert (second.floor, second.cap, second.mmr, second.max_leverage) == (
        300_000,
        800_000,
        0.005,
        100,
    )
    assert second.maintenance_amount == 300
    assert (last.floor, last.cap, last.mmr, last.max_leverage) == (1.2e9, 1.8e9, 0.5, 1)
    # MARGIN_SPEC §1.1: at 300,000 USDT, 0.4 %·300k = 1,200 = 0.5 %·300k − 300.
    assert btc.maintenance_margin(300_000) == pytest.approx(1_200)


def test_csv_flattening_agrees_row_for_row(
    tiers_dir: Path, current_tables: dict[str, TierTable]
) -> None:
    with (tiers_dir / "binance_leverage_tiers_freqtrade-2026.9.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 7_276
    assert sum(len(t.tiers) for t in current_tables.values()) == 7_276
    for row in rows:
        tier = current_tables[row["ccxt_symbol"]].tiers[int(row["tier"]) - 1]
        assert tier.floor == float(row["notional_floor"])
        assert tier.cap == float(row["notional_cap"])
        assert tier.mmr == float(row["maint_margin_ratio"])
        assert tier.max_leverage == float(row["max_leverage"])
        assert tier.maintenance_amount == float(row["cum"])


def test_2022_format_and_legacy_keys(snapshot_tables: dict[str, list[TierTable]]) -> None:
    tables = {
        t.symbol: t for t in snapshot_tables["binance_leverage_tiers_freqtrade-2022-02-05.json.gz"]
    }
    # Keyed 'BTC/USDT' in the file (pre-2022 ccxt symbols) and raw ids for delisted quarterlies.
    assert "BTC/USDT:USDT" in tables
    assert "BTC/BUSD:BUSD" in tables
    assert "BTC/USDT:USDT-210326" in tables
    assert "BTC/BUSD:BUSD-210129" in tables
    tier = tables["BTC/USDT:USDT"].tiers[0]
    assert (tier.floor, tier.cap, tier.mmr, tier.max_leverage) == (0, 50_000, 0.004, 125)


def test_2022_snapshot_cum_values_are_checked(tiers_dir: Path) -> None:
    import gzip
    import json

    path = tiers_dir / "binance_leverage_tiers_freqtrade-2022-02-05.json.gz"
    data = json.loads(gzip.decompress(path.read_bytes()))
    # RAY/USDT tier 2 in the file: floor 5,000, MMR 2.5 % after 1 %, cum "75.0"
    # = 5,000 × (0.025 − 0.01). Corrupt it and the parser must refuse the table.
    assert data["RAY/USDT"][1]["info"]["cum"] == "75.0"
    data["RAY/USDT"][1]["info"]["cum"] = "76.0"
    with pytest.raises(TierTableError) as info:
        parse_ccxt_leverage_tiers({"RAY/USDT": data["RAY/USDT"]}, venue="binance")
    message = str(info.value)
    assert "RAY/USDT" in message and "tier 2" in message
    assert "76.0" in message and "75.0" in message


def _brackets(venue_tiers: dict[str, Any], symbol: str) -> list[dict[str, Any]]:
    return copy.deepcopy(venue_tiers["binance"][symbol])


def test_leverage_bracket_list(venue_tiers: dict[str, Any]) -> None:
    response = [
        {"symbol": "BTCUSDT", "brackets": _brackets(venue_tiers, "BTCUSDT")},
        {"symbol": "ETHUSDT", "brackets": _brackets(venue_tiers, "ETHUSDT")},
    ]
    tables = parse_binance_leverage_brackets(response, effective_date=date(2026, 3, 26))
    by_symbol = {t.symbol: t for t in tables}
    assert set(by_symbol) == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
    for symbol, key in (("BTC/USDT:USDT", "BTCUSDT"), ("ETH/USDT:USDT", "ETHUSDT")):
        table = by_symbol[symbol]
        assert table.effective_date == date(2026, 3, 26)
        published = venue_tiers["binance"][key]
        assert [t.maintenance_amount for t in table.tiers] == [b["cum"] for b in published]
        assert [t.cap for t in table.tiers] == [b["notionalCap"] for b in published]
    # MARGIN_SPEC §1.1 (BN-05): BTCUSDT tier 3 is 0.65 % with cum 1,500.
    tier3 = by_symbol["BTC/USDT:USDT"].tiers[2]
    assert (tier3.mmr, tier3.maintenance_amount, tier3.max_leverage) == (0.0065, 1_500, 75)


def test_leverage_bracket_single_object(venue_tiers: dict[str, Any]) -> None:
    (table,) = parse_binance_leverage_brackets(
        {"symbol": "ETHUSDT", "brackets": _brackets(venue_tiers, "ETHUSDT")}
    )
    assert table.symbol == "ETH/USDT:USDT"
    assert table.tiers[5].maintenance_amount == 382_000


def test_coin_m_brackets_in_quantity() -> None:
    # Binance COIN-M bracket as documented in ccxt's binance.fetch_leverage_tiers.
    bracket = {
        "bracket": 1,
        "initialLeverage": 20,
        "qtyCap": 500000,
        "qtyFloor": 0,
        "maintMarginRatio": 0.0185,
        "cum": 0.0,
    }
    (table,) = parse_binance_leverage_brackets({"symbol": "XRPUSD_210326", "brackets": [bracket]})
    assert table.symbol == "XRP/USD:XRP-210326"
    assert (table.tiers[0].cap, table.tiers[0].mmr, table.tiers[0].max_leverage) == (
        500_000,
        0.0185,
        20,
    )


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda b: b[1].update(cum=301.0), ["'BTC/USDT:USDT'", "tier 2", "301.0", "300.0"]),
        (lambda b: b[2].update(maintMarginRatio="abc"), ["maintMarginRatio", "'abc'"]),
        (lambda b: b[2].update(maintMarginRatio="nan"), ["maintMarginRatio", "finite", "'nan'"]),
        (lambda b: b[0].update(initialLeverage=True), ["initialLeverage", "True"]),
        (lambda b: b[0].pop("notionalCap"), ["missing field", "notionalCap"]),
        (lambda b: b.reverse(), ["ascending order"]),
        # Tier 1 capped at 290,000 while tier 2 starts at 300,000: a gap in the table.
        (lambda b: b[0].update(notionalCap=290_000.0), ["300000.0", "290000.0"]),
        (lambda b: b[0].update(initialLeverage=0), ["max_leverage", "0.0"]),
        (lambda b: b[0].update(maintMarginRatio=-0.004), ["mmr", "-0.004"]),
        (lambda b: b.clear(), ["empty"]),
    ],
)
def test_malformed_brackets_are_named(
    venue_tiers: dict[str, Any], mutate: Any, expected: list[str]
) -> None:
    brackets = _brackets(venue_tiers, "BTCUSDT")
    mutate(brackets)
    with pytest.raises(TierTableError) as info:
        parse_binance_leverage_brackets([{"symbol": "BTCUSDT", "brackets": brackets}])
    for fragment in expected:
        assert fragment in str(info.value)


def test_malformed_bracket_documents() -> None:
    with pytest.raises(TierTableError, match="symbol"):
        parse_binance_leverage_brackets([{"brackets": []}])
    with pytest.raises(TierTableError, match="empty"):
        parse_binance_leverage_brackets([])
    with pytest.raises(TierTableError, match="appears twice"):
        bracket = {
            "notionalFloor": 0,
            "notionalCap": 1,
            "maintMarginRatio": 0.01,
            "initialLeverage": 5,
        }
        parse_binance_leverage_brackets(
            [
                {"symbol": "BTCUSDT", "brackets": [bracket]},
                {"symbol": "BTCUSDT", "brackets": [bracket]},
            ]
        )


def test_ccxt_shape_errors_name_market_tier_and_field(current_raw: dict[str, Any]) -> None:
    btc = copy.deepcopy(current_raw["BTC/USDT:USDT"])
    btc[3]["maintenanceMarginRate"] = "x"
    with pytest.raises(TierTableError) as info:
        parse_ccxt_leverage_tiers({"BTC/USDT:USDT": btc}, venue="binance")
    assert "'BTC/USDT:USDT' tier 4" in str(info.value)
    assert "maintenanceMarginRate" in str(info.value)
    with pytest.raises(TierTableError, match="expected a list"):
        parse_ccxt_leverage_tiers({"BTC/USDT:USDT": {"tier": 1}}, venue="binance")
    with pytest.raises(TierTableError, match="no markets"):
        parse_ccxt_leverage_tiers({}, venue="binance")
    with pytest.raises(TierTableError, match="same market"):
        parse_ccxt_leverage_tiers(
            {
                "BTC/USDT": current_raw["BTC/USDT:USDT"],
                "BTC/USDT:USDT": current_raw["BTC/USDT:USDT"],
            },
            venue="binance",
        )


def test_ccxt_shape_without_cum_derives_it(current_raw: dict[str, Any]) -> None:
    btc = copy.deepcopy(current_raw["BTC/USDT:USDT"])
    for tier in btc:
        tier["info"] = {}
    (table,) = parse_ccxt_leverage_tiers({"BTC/USDT:USDT": btc}, venue="binance")
    published = [t["info"]["cum"] for t in current_raw["BTC/USDT:USDT"]]
    assert [t.maintenance_amount for t in table.tiers] == pytest.approx(published)
    assert math.isfinite(table.tiers[-1].cap)
