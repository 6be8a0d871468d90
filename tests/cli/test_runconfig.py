"""The run configuration: FreqTrade's keys with their meaning, levtrade's own, timeranges and the
errors (typos with the closest key, spot mode, conflicting keys)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from levtrade.configuration import RunConfig, load_run_config, load_strategy, parse_timerange
from levtrade.data import demo_portfolio
from levtrade.errors import ConfigError

DAY_MS = 86_400_000
JAN_1_2025 = 1_735_689_600_000
"""2025-01-01 00:00 UTC (1,735,689,600 s: 55 years since 1970 with 14 leap days)."""

FREQTRADE_CONFIG = {
    "max_open_trades": -1,
    "stake_currency": "USDT",
    "stake_amount": "unlimited",
    "tradable_balance_ratio": 0.9,
    "fiat_display_currency": "USD",
    "dry_run": True,
    "dry_run_wallet": 2500,
    "trading_mode": "futures",
    "margin_mode": "isolated",
    "liquidation_buffer": 0.05,
    "futures_funding_rate": 0.0001,
    "stoploss": -0.1,
    "minimal_roi": {"0": 0.05, "60": 0.01},
    "timeframe": "5m",
    "fee": 0.0004,
    "unfilledtimeout": {"entry": 10, "exit": 10},
    "entry_pricing": {"price_side": "same"},
    "exchange": {
        "name": "binance",
        "key": "",
        "secret": "",
        "ccxt_config": {},
        "pair_whitelist": ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"],
        "pair_blacklist": ["SOL/USDT:USDT"],
    },
    "pairlists": [{"method": "StaticPairList"}],
    "telegram": {"enabled": False},
    "api_server": {"enabled": False},
    "bot_name": "freqtrade",
    "datadir": "user_data/data/binance",
    "dataformat_ohlcv": "feather",
}


def test_freqtrade_config_keys_keep_their_meaning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # paths in a JSON (FreqTrade) configuration are relative to the working directory
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(FREQTRADE_CONFIG), encoding="utf-8")
    config = load_run_config(path)
    assert config.resolved_pairs() == ("BTC/USDT:USDT", "ETH/USDT:USDT")  # blacklist applied
    assert config.resolved_venue() == "binance"
    assert config.resolved_format() == "freqtrade"
    assert config.path(config.datadir or "") == tmp_path / "user_data" / "data" / "binance"
    assert config.signal_rule_overrides() == {
        "stoploss": -0.1,
        "minimal_roi": {"0": 0.05, "60": 0.01},
    }
    assert set(config.ignored_keys) >= {
        "dry_run",
        "unfilledtimeout",
        "entry_pricing",
        "pairlists",
        "telegram",
        "api_server",
        "bot_name",
        "fiat_display_currency",
        "exchange.key",
        "exchange.secret",
        "exchange.ccxt_config",
    }
    backtest = config.backtest_config(config.resolved_pairs())
    assert backtest.wallet == 2500.0  # dry_run_wallet: the starting wallet
    assert backtest.max_open_trades is None  # -1: no limit
    assert backtest.stake_amount == "unlimited"
    assert backtest.tradable_balance_ratio == 0.9
    assert backtest.margin_mode == "isolated"
    assert backtest.liquidation_buffer == 0.05
    assert backtest.funding_rate == 0.0001  # the constant fallback rate
    assert backtest.maker_fee == backtest.taker_fee == 0.0004  # fee: both sides
    assert backtest.instrument("BTC/USDT:USDT").taker_fee == 0.0004


def test_levtrade_keys_and_wallet_by_currency(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        """
venue = "hyperliquid"
position_mode = "one_way"
leverage = 3
stake_currency = "USDC"
dry_run_wallet = { USDC = 1500 }
pairs = ["BTC/USDC:USDC"]
data_format = "files"
datadir = "data"
candles = "{base}-{timeframe}.csv"
[outcome]
liquidation_slippage_bps = 25
[params]
fast = 12
""",
        encoding="utf-8",
    )
    config = load_run_config(path)
    assert config.wallet_amount() == 1500.0
    assert config.params == {"fast": 12}
    backtest = config.backtest_config(config.resolved_pairs())
    assert backtest.venue == "hyperliquid"
    assert backtest.leverage == 3.0
    assert backtest.liquidation_slippage_bps == 25.0


def test_tiers_file_supplies_tables_over_the_shipped_ones(tmp_path: Path) -> None:
    tiers = tmp_path / "tiers.json"
    tiers.write_text(
        json.dumps(
            {
                "DOGE/USDT:USDT": [
                    {
                        "tier": 1,
                        "minNotional": 0,
                        "maxNotional": 50000,
                        "maintenanceMarginRate": 0.01,
                        "maxLeverage": 50,
                        "info": {"cum": "0.0"},
                    },
                    {
                        "tier": 2,
                        "minNotional": 50000,
                        "maxNotional": 150000,
                        "maintenanceMarginRate": 0.02,
                        "maxLeverage": 20,
                        "info": {"cum": "500.0"},
                    },
                ]
            }
        ),
        encoding="utf-8",
    )
    config = RunConfig.from_mapping(
        {"pairs": ["DOGE/USDT:USDT"], "tiers_file": "tiers.json"}, base_dir=tmp_path
    )
    backtest = config.backtest_config(["DOGE/USDT:USDT"])
    table = backtest.tier_table(backtest.instrument("DOGE/USDT:USDT"))
    # MM at 100,000 notional: tier 2, 100,000 × 2 % − 500 (its cum) = 1,500 (the file's table;
    # the shipped DOGE brackets of freqtrade 2026.9 give 100,000 × 1 % − 280 = 720)
    assert table.maintenance_margin(100_000.0) == pytest.approx(1_500.0)
    unknown = RunConfig.from_mapping({"pairs": ["NOPE/USDT:USDT"]})
    with pytest.raises(ConfigError, match="no binance tier table for NOPE/USDT:USDT"):
        unknown.backtest_config(["NOPE/USDT:USDT"])


def test_timerange_is_freqtrades() -> None:
    full = parse_timerange("20250101-20251231")
    assert full.start == JAN_1_2025
    assert full.stop == JAN_1_2025 + 364 * DAY_MS  # 2025-12-31 00:00, included
    assert full.end_exclusive == JAN_1_2025 + 364 * DAY_MS + 1
    assert parse_timerange("20250101-").stop is None
    assert parse_timerange("-20250101").start is None
    assert parse_timerange("1735689600-").start == JAN_1_2025  # epoch seconds
    assert parse_timerange("1735689600000-").start == JAN_1_2025  # epoch ms
    for bad in ("2025-01-01", "20251301-", "-", "20250201-20250101", "yesterday"):
        with pytest.raises(ConfigError, match="timerange"):
            parse_timerange(bad)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"margn_mode": "cross"}, r"unknown key 'margn_mode' \(did you mean 'margin_mode'\?\)"),
        ({"stake_ammount": 10}, r"did you mean 'stake_amount'"),
        ({"futures_funding": 0.1}, r"did you mean 'futures_funding_rate'"),
        ({"outcome": {"clearance_fee": 0.01}}, r"outcome\.clearance_fee \(did you mean "),
        ({"trading_mode": "options"}, r'trading_mode: must be "futures", "spot" or "margin"'),
        (
            {"trading_mode": "margin", "pairs": ["BTC/USDT:USDT"]},
            r"'BTC/USDT:USDT' is a perpetual; trading_mode 'margin' trades spot pairs",
        ),
        ({"margin_mode": "crossed"}, r"margin_mode: Input should be 'cross' or 'isolated'"),
        ({"max_open_trades": 0}, r"max_open_trades: must be ≥ 1 or -1"),
        ({"stoploss": 0.1}, r"stoploss: a negative ratio"),
        ({"timeframe": "1M"}, r"timeframe"),
        ({"venue": "binanse"}, r"venue"),
        ({"candles": "{ticker}.csv"}, r"unknown placeholder \{ticker\}"),
        ({"pairs": ["BTC/USDT"]}, r"'BTC/USDT' is a spot pair; .* 'BTC/USDT:USDT'"),
        ({"risk": {"margin_call": 1.5}}, r"risk\.margin_call \(did you mean 'margin_call_level'"),
        ({"risk": {"treshold": [2]}}, r"risk\.treshold \(did you mean 'thresholds'\?\)"),
        ({"risk": {"margin_call_level": 1}}, r"risk\.margin_call_level: a margin level above 1"),
        ({"risk": {"thresholds": [2, 0.8]}}, r"risk\.thresholds: a margin level above 1 .*0\.8"),
        ({"risk": {"thresholds": 2}}, r"risk\.thresholds: a list of margin levels"),
        ({"risk": {"atr_period": 0}}, r"risk\.atr_period: must be a whole number ≥ 1, got 0"),
        ({"risk": {"atr_period": 2.5}}, r"risk\.atr_period: must be a whole number ≥ 1, got 2\.5"),
        (
            {"pairs": ["BTC/USDC:USDC"], "stake_currency": "USDT"},
            r"BTC/USDC:USDC settles in USDC, but stake_currency is 'USDT'",
        ),
    ],
)
def test_bad_settings_name_the_key_and_value(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_mapping(values, source="cfg.toml").resolved_pairs()


def test_risk_table_sets_the_margin_analyzers(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        "[risk]\nmargin_call_level = 3\nthresholds = [1.2, 5, 3]\natr_period = 7\n",
        encoding="utf-8",
    )
    risk = load_run_config(path).risk
    assert (risk.margin_call_level, risk.thresholds, risk.atr_period) == (3.0, (5.0, 3.0, 1.2), 7)
    data = demo_portfolio(["BTC/USDT:USDT"], bars=50)
    analyzers = {a.name: a for a in risk.analyzers(data)}
    assert list(analyzers) == [
        "margin_history",
        "margin_calls",
        "min_margin_level",
        "time_below_thresholds",
        "liquidations",
        "funding",
        "effective_leverage",
        "distance_to_liquidation",
    ]
    assert analyzers["margin_calls"].threshold == 3.0  # type: ignore[attr-defined]
    assert analyzers["time_below_thresholds"].thresholds == (5.0, 3.0, 1.2)  # type: ignore[attr-defined]
    assert analyzers["distance_to_liquidation"].atr_period == 7  # type: ignore[attr-defined]
    # without the table: the defaults of margin_analyzers(), kept through command-line overrides
    default = RunConfig.demo().with_overrides(timerange="20240101-20240201").risk
    assert (default.margin_call_level, default.thresholds, default.atr_period) == (
        1.5,
        (2.0, 1.5, 1.2),
        14,
    )


def test_fee_and_taker_fee_conflict() -> None:
    config = RunConfig.from_mapping({"fee": 0.001, "taker_fee": 0.0005})
    with pytest.raises(ConfigError, match="fee: set either fee"):
        config.backtest_config(["BTC/USDT:USDT"])


def test_strategy_by_class_name_in_strategy_path(tmp_path: Path) -> None:
    folder = tmp_path / "strategies"
    folder.mkdir()
    (folder / "a.py").write_text("x = 1\n", encoding="utf-8")
    (folder / "b.py").write_text(
        "from levtrade.strategy import Strategy\n\nclass Mine(Strategy):\n    pass\n",
        encoding="utf-8",
    )
    loaded = load_strategy("Mine", base_dir=tmp_path, search=Path("strategies"))
    assert loaded.name == "Mine" and loaded.style == "event"
    with pytest.raises(ConfigError, match=r"no class 'Other' in the \.py files of"):
        load_strategy("Other", base_dir=tmp_path, search=Path("strategies"))
    with pytest.raises(ConfigError, match=r"class 'Mine' needs a folder to look in"):
        load_strategy("Mine", base_dir=tmp_path)
