"""BacktestConfig: defaults, FreqTrade key names, files, and errors naming field and value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from levtrade.backtest import BacktestConfig
from levtrade.errors import ConfigError, UnknownSymbolError


def test_defaults_and_freqtrade_names() -> None:
    config = BacktestConfig(dry_run_wallet=500, futures_funding_rate=0.0001, max_open_trades=-1)
    assert config.wallet == 500.0
    assert config.funding_rate == 0.0001
    assert config.max_open_trades is None
    assert (config.venue, config.margin_mode, config.position_mode) == (
        "binance",
        "cross",
        "one_way",
    )
    assert config.stake_amount == "unlimited"
    # bps become fractions: 10 bps = 0.001
    assert BacktestConfig(slippage_bps=10).slippage == pytest.approx(0.001)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"wallet": -1}, "wallet: Input should be greater than 0, got -1"),
        ({"leverage": 0.5}, "leverage: Input should be greater than or equal to 1, got 0.5"),
        ({"margin_mode": "portfolio"}, "margin_mode: .*got 'portfolio'"),
        ({"venue": "nowhere"}, "venue: unknown venue 'nowhere'"),
        ({"stake_amount": "lots"}, "stake_amount: .*got 'lots'"),
        ({"liquidation_buffer": 1.0}, "liquidation_buffer: .*got 1.0"),
        ({"stake_amuont": 5}, "stake_amuont: unknown setting"),
        ({"tiers": {"X/Y:Y": [{"floor": 5, "max_leverage": 2}]}}, "floor must be 0, got 5"),
        (
            {"instruments": {"BTC/USDT:USDT": {"lot_size": -1}}},
            "instruments.BTC/USDT:USDT.lot_size",
        ),
    ],
)
def test_bad_values_name_the_field_and_value(fields: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        BacktestConfig(**fields)


def test_loads_toml_and_json(tmp_path: Path) -> None:
    toml = tmp_path / "run.toml"
    toml.write_text('[backtest]\nvenue = "bybit"\nwallet = 2000\nleverage = 3\n', "utf-8")
    assert BacktestConfig.from_file(toml).venue == "bybit"
    data = tmp_path / "run.json"
    data.write_text(json.dumps({"wallet": 300, "margin_mode": "isolated"}), "utf-8")
    assert BacktestConfig.from_file(data).margin_mode == "isolated"
    bad = tmp_path / "run.json5"
    bad.write_text("{}", "utf-8")
    with pytest.raises(ConfigError, match=r"neither \.toml nor \.json"):
        BacktestConfig.from_file(bad)
    broken = tmp_path / "broken.json"
    broken.write_text("{", "utf-8")
    with pytest.raises(ConfigError, match="does not parse"):
        BacktestConfig.from_file(broken)
    with pytest.raises(ConfigError, match="wallet"):
        BacktestConfig.from_dict({"wallet": "much"})


def test_instruments_and_tiers_come_from_the_config() -> None:
    config = BacktestConfig(
        taker_fee=0.001,
        clearance_fee_rate=0.0,
        instruments={"BTC/USDT:USDT": {"lot_size": 0.001, "maker_fee": 0.0}},
        tiers={"SOL/USDT:USDT": [{"floor": 0, "mmr": 0.01, "max_leverage": 50}]},
    )
    btc = config.instrument("BTC/USDT:USDT")
    assert (btc.taker_fee, btc.maker_fee, btc.lot_size) == (0.001, 0.0, 0.001)
    assert config.venue_profile().clearance_fee_for("BTC/USDT:USDT") == 0.0
    sol = config.instrument("SOL/USDT:USDT")
    assert config.tier_table(sol).tiers[0].mmr == 0.01
    with pytest.raises(UnknownSymbolError, match=r"BacktestConfig\.tiers"):
        config.tier_table(config.instrument("NOPE/USDT:USDT"))
