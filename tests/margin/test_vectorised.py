"""The vectorised liquidation prices against the scalar formula and MARGIN_SPEC's BN-03."""

from __future__ import annotations

import numpy as np
import pytest

from levtrade.margin import formulas
from levtrade.margin.vectorised import isolated_liquidation_prices
from levtrade.venues import default_tiers

# Binance BTCUSDT brackets 1-3 (MARGIN_SPEC §1.1), as in test_formulas.py.
BN_FLOORS = np.array([0.0, 300_000.0, 800_000.0])
BN_MMRS = np.array([0.004, 0.005, 0.0065])
BN_AMOUNTS = np.array([0.0, 300.0, 1_500.0])


def test_bn03_published_price() -> None:
    # BN-03: isolated long 1 BTC @100,000 with 5,000 margin: (100,000 − 5,000)/0.996
    out = isolated_liquidation_prices(
        np.array([1.0]), np.array([100_000.0]), np.array([5_000.0]), BN_FLOORS, BN_MMRS, BN_AMOUNTS
    )
    assert round(float(out[0]), 2) == 95_381.53


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_the_scalar_formula_on_random_positions(seed: int) -> None:
    table = default_tiers("binance", "BTC/USDT:USDT")
    rng = np.random.default_rng(seed)
    n = 2_000
    qtys = np.exp(rng.uniform(np.log(1e-3), np.log(2e3), n)) * rng.choice([-1.0, 1.0], n)
    entries = rng.uniform(1_000.0, 200_000.0, n)
    leverage = rng.uniform(1.0, 100.0, n)
    margins = np.abs(qtys) * entries / leverage
    out = isolated_liquidation_prices(
        qtys, entries, margins, table.floors, table.mmrs, table.amounts
    )
    expected = np.array(
        [
            formulas.isolated_liquidation_price(q, e, m, table.floors, table.mmrs, table.amounts)
            for q, e, m in zip(qtys, entries, margins, strict=True)
        ]
    )
    assert out.shape == (n,)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))
    np.testing.assert_array_equal(out, expected)
    # above 50x every position, long or short, has a liquidation price
    assert np.isfinite(out[leverage > 50]).all()


def test_empty_input() -> None:
    empty = np.empty(0)
    out = isolated_liquidation_prices(empty, empty, empty, BN_FLOORS, BN_MMRS, BN_AMOUNTS)
    assert out.shape == (0,)


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        isolated_liquidation_prices(
            np.ones(2), np.ones(3), np.ones(2), BN_FLOORS, BN_MMRS, BN_AMOUNTS
        )
