"""TierRegistry: tables versioned by venue, symbol and effective date."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from levtrade.errors import ConfigError, TierTableError, UnknownSymbolError
from levtrade.margin.tiers import TierTable
from levtrade.venues import TierRegistry


def _table(
    max_leverage: float, day: date | None, venue: str = "binance", symbol: str = "BTC/USDT:USDT"
) -> TierTable:
    rows = [{"floor": 0.0, "cap": 50_000.0, "mmr": 0.004, "max_leverage": max_leverage}]
    return TierTable.from_rows(
        rows, venue=venue, symbol=symbol, effective_date=day, source=f"test {max_leverage}x"
    )


@pytest.fixture
def registry() -> TierRegistry:
    return TierRegistry(
        [
            _table(125, date(2022, 2, 5)),
            _table(150, date(2026, 9, 1)),
            _table(75, None),
            _table(20, date(2024, 1, 1), symbol="ETH/USDT:USDT"),
        ]
    )


def test_latest_in_force_on_a_day(registry: TierRegistry) -> None:
    assert registry.get("binance", "BTC/USDT:USDT", at=date(2024, 1, 1)).max_leverages[0] == 125
    assert registry.get("binance", "BTC/USDT:USDT", at=date(2022, 2, 5)).max_leverages[0] == 125
    assert registry.get("binance", "BTC/USDT:USDT", at=date(2026, 9, 1)).max_leverages[0] == 150
    assert registry.get("binance", "BTC/USDT:USDT").max_leverages[0] == 150


def test_undated_table_applies_before_every_dated_one(registry: TierRegistry) -> None:
    assert registry.get("binance", "BTC/USDT:USDT", at=date(2020, 1, 1)).max_leverages[0] == 75


def test_nothing_in_force_before_the_earliest_date(registry: TierRegistry) -> None:
    with pytest.raises(UnknownSymbolError) as info:
        registry.get("binance", "ETH/USDT:USDT", at=date(2023, 12, 31))
    assert "2023-12-31" in str(info.value)
    assert "2024-01-01" in str(info.value)


def test_at_accepts_datetimes_and_epoch_milliseconds(registry: TierRegistry) -> None:
    # 2026-08-31 23:30 at UTC−5 is 2026-09-01 04:30 UTC: the 150x table is in force.
    evening = datetime(2026, 8, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert registry.get("binance", "BTC/USDT:USDT", at=evening).max_leverages[0] == 150
    assert (
        registry.get("binance", "BTC/USDT:USDT", at=datetime(2026, 8, 31, 23, 30)).max_leverages[0]
        == 125
    )
    # 1788220800000 ms = 2026-09-01T00:00:00Z.
    assert datetime(2026, 9, 1, tzinfo=UTC).timestamp() * 1000 == 1_788_220_800_000
    assert registry.get("binance", "BTC/USDT:USDT", at=1_788_220_800_000).max_leverages[0] == 150
    assert registry.get("binance", "BTC/USDT:USDT", at=1_788_220_799_999).max_leverages[0] == 125


@pytest.mark.parametrize("bad", [True, "2024-01-01", 1.5, 10**20])
def test_bad_at_is_a_config_error(registry: TierRegistry, bad: object) -> None:
    with pytest.raises(ConfigError, match="at:"):
        registry.get("binance", "BTC/USDT:USDT", at=bad)  # type: ignore[arg-type]


def test_venue_is_case_insensitive_and_ids_are_mapped(registry: TierRegistry) -> None:
    expected = registry.get("binance", "BTC/USDT:USDT")
    assert registry.get("BINANCE", "BTC/USDT:USDT") is expected
    assert registry.get("binanceusdm", "BTC/USDT:USDT") is expected
    assert registry.get("binance", "BTCUSDT") is expected


def test_unknown_symbol_names_venue_symbol_and_close_matches(registry: TierRegistry) -> None:
    with pytest.raises(UnknownSymbolError) as info:
        registry.get("binance", "BTC/USDC:USDC")
    message = str(info.value)
    assert "binance" in message
    assert "'BTC/USDC:USDC'" in message
    assert "BTC/USDT:USDT" in message


def test_venue_without_tables_lists_the_venues_that_have_some(registry: TierRegistry) -> None:
    with pytest.raises(UnknownSymbolError) as info:
        registry.get("okx", "BTC/USDT:USDT")
    assert "'okx'" in str(info.value)
    assert "binance" in str(info.value)


def test_duplicate_date_is_an_error_unless_replaced(registry: TierRegistry) -> None:
    with pytest.raises(TierTableError, match="2026-09-01"):
        registry.add(_table(100, date(2026, 9, 1)))
    registry.add(_table(100, date(2026, 9, 1)), replace=True)
    assert registry.get("binance", "BTC/USDT:USDT").max_leverages[0] == 100


def test_inventory(registry: TierRegistry) -> None:
    assert len(registry) == 4
    assert registry.venues() == ("binance",)
    assert registry.symbols("Binance") == ("BTC/USDT:USDT", "ETH/USDT:USDT")
    history = registry.history("binance", "BTC/USDT:USDT")
    assert [t.effective_date for t in history] == [None, date(2022, 2, 5), date(2026, 9, 1)]
    assert sorted(t.max_leverages[0] for t in registry) == [20, 75, 125, 150]


def test_other_venues_are_kept_apart() -> None:
    registry = TierRegistry(
        [_table(125, None), _table(40, None, venue="hyperliquid", symbol="BTC/USDC:USDC")]
    )
    assert registry.get("hyperliquid", "BTC").max_leverages[0] == 40
    with pytest.raises(UnknownSymbolError):
        registry.get("hyperliquid", "BTC/USDT:USDT")


# -- the real dated Binance snapshots (data/README.md §6) ------------------------------------


def test_snapshot_market_counts(
    snapshot_tables: dict[str, list[TierTable]], snapshots: dict[str, tuple[date, int]]
) -> None:
    for name, (day, count) in snapshots.items():
        tables = snapshot_tables[name]
        assert len(tables) == count, name
        assert {t.effective_date for t in tables} == {day}


def test_btc_tier_one_by_date(binance_history: TierRegistry) -> None:
    # data/README.md §6: 0–50k @ 0.4 % / 125x in 2022–2024, 0–300k @ 0.4 % / 150x in 2026.
    for day in (date(2022, 6, 1), date(2023, 1, 1), date(2024, 1, 1), date(2025, 1, 1)):
        tier = binance_history.get("binance", "BTC/USDT:USDT", at=day).tiers[0]
        assert (tier.floor, tier.cap, tier.mmr, tier.max_leverage) == (0, 50_000, 0.004, 125)
    for at in (date(2026, 10, 1), None):
        tier = binance_history.get("binance", "BTC/USDT:USDT", at=at).tiers[0]
        assert (tier.floor, tier.cap, tier.mmr, tier.max_leverage) == (0, 300_000, 0.004, 150)


def test_each_snapshot_is_what_its_date_returns(
    binance_history: TierRegistry,
    snapshot_tables: dict[str, list[TierTable]],
    snapshots: dict[str, tuple[date, int]],
) -> None:
    for name, (day, _) in snapshots.items():
        for table in snapshot_tables[name][:25]:
            assert binance_history.get("binance", table.symbol, at=day) is table


def test_market_listed_later_is_not_in_force_earlier(binance_history: TierRegistry) -> None:
    # 1000BONK is in the 2023-12-12 snapshot and not in the 2022 ones.
    history = binance_history.history("binance", "1000BONK/USDT:USDT")
    assert history[0].effective_date == date(2023, 12, 12)
    with pytest.raises(UnknownSymbolError, match="2023-12-11"):
        binance_history.get("binance", "1000BONK/USDT:USDT", at=date(2023, 12, 11))
