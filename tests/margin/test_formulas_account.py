"""The formulas appended for the account, liquidation and funding, on both paths.

Each function is called compiled (``f(...)``) and as plain Python (``f.py_func(...)``); the
expected values are hand calculations written beside them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from levtrade.margin import formulas as f

PATHS = pytest.mark.parametrize("path", ["compiled", "plain"])


def call(name: str, path: str, *args: Any) -> Any:
    func = getattr(f, name)
    return func(*args) if path == "compiled" else func.py_func(*args)


@PATHS
def test_average_entries(path: str) -> None:
    # linear: (1·100,000 + 1·110,000)/2 = 105,000; short adds the same way
    assert call("average_entry", path, 1.0, 100_000.0, 1.0, 110_000.0) == pytest.approx(105_000.0)
    assert call("average_entry", path, -2.0, 100.0, -1.0, 130.0) == pytest.approx(110.0)
    # inverse: 200/(100/50,000 + 100/40,000) = 44,444.44
    assert call("inverse_average_entry", path, 100.0, 50_000.0, 100.0, 40_000.0) == (
        pytest.approx(44_444.444444)
    )


@PATHS
def test_inverse_binance_max_removable(path: str) -> None:
    # 10,000 USD of contracts @50,000, margin 0.03 BTC, mark 55,000, MM 0.000909, 10x:
    # uPnL 0.0181818, IM 0.0181818 → min(0.03 − 0.000909, 0.03) = 0.029091
    mm = 0.005 * 10_000 / 55_000
    got = call("inverse_binance_max_removable", path, 0.03, 10_000.0, 50_000.0, 55_000.0, mm, 10.0)
    assert got == pytest.approx(0.03 - mm)
    # a loss larger than the margin leaves nothing
    assert (
        call("inverse_binance_max_removable", path, 0.01, 10_000.0, 50_000.0, 40_000.0, mm, 10.0)
        == 0.0
    )


@PATHS
def test_binance_max_addable(path: str) -> None:
    # min(10,000 − 0 − 400, 3,000) = 3,000; min(1,000 − 400, 3,000) = 600; never below 0
    assert call("binance_max_addable", path, 10_000.0, 400.0, 0.0, 3_000.0) == 3_000.0
    assert call("binance_max_addable", path, 1_000.0, 400.0, 0.0, 3_000.0) == 600.0
    assert call("binance_max_addable", path, 100.0, 400.0, 0.0, 3_000.0) == 0.0


@PATHS
def test_margin_ratio(path: str) -> None:
    assert call("margin_ratio", path, 382.0, 500.0) == pytest.approx(0.764)  # BN-12a
    assert call("margin_ratio", path, 0.0, -5.0) == 0.0
    assert call("margin_ratio", path, 1.0, 0.0) == math.inf


@PATHS
def test_slipped_price_and_capped_fee(path: str) -> None:
    # a long sells 0.1 % lower, a short buys 0.1 % higher
    assert call("slipped_price", path, 100.0, 2.0, 0.001) == pytest.approx(99.9)
    assert call("slipped_price", path, 100.0, -2.0, 0.001) == pytest.approx(100.1)
    assert call("capped_fee", path, 2_862.0, 4_000.0) == 2_862.0
    assert call("capped_fee", path, 2_862.0, 1_100.0) == 1_100.0
    assert call("capped_fee", path, 2_862.0, -50.0) == 0.0


@PATHS
def test_funding_pieces(path: str) -> None:
    assert call("clamp", path, 0.002, -0.0005, 0.0005) == 0.0005
    assert call("clamp", path, -0.002, -0.0005, 0.0005) == -0.0005
    assert call("premium_index", path, 100_100.0, 100_200.0, 100_000.0) == pytest.approx(0.001)
    # (1·1 + 2·4)/3 = 3
    assert call("weighted_mean", path, np.array([1.0, 4.0]), np.array([1.0, 2.0])) == 3.0
    # BN-17: P̄ 0.02 % → I = 0.01 %; 4 h interval halves it
    assert call("binance_funding_rate", path, 0.0002, 0.0001, 0.0005, 8.0, 0.003, -0.003) == (
        pytest.approx(0.0001)
    )
    assert call("binance_funding_rate", path, 0.0002, 0.0001, 0.0005, 4.0, 0.003, -0.003) == (
        pytest.approx(0.00005)
    )
    # HL-11
    assert call("hyperliquid_funding_rate", path, 0.01, 0.0001, 0.0005, 0.04) == pytest.approx(
        0.0011875
    )
    # 60 samples of 0.1 % with the default funding 0.0125 %: 0.1125 %, inside ±4.8 %
    samples = np.full(60, 0.001)
    assert call(
        "dydx_funding_rate", path, samples, 0.000125, 0.02, 0.012, 6.0, 0.0, 60
    ) == pytest.approx(0.001125)
    assert call("impact_notional", path, 200.0, 0.05) == pytest.approx(4_000.0)


@PATHS
def test_solver_reads_the_tier_inside_its_piece(path: str) -> None:
    # Inverse long n = 210,000 USD @50,000, no margin; coin tiers 6.25 % below 1 coin, 9.375 %
    # above (amount 1·(0.09375 − 0.0625) = 0.03125). The tier break x = 1/210,000 times
    # 210,000 rounds to 0.99999999 < 1, which once selected tier 1 for the upper piece.
    # Tier 2: 4.2 − N = 0.09375·N − 0.03125 → N = 4.23125/1.09375 coin,
    # P = 210,000/N = 54,283.60 (N = 3.87 coin, in tier 2 as required).
    floors = np.array([0.0, 1.0])
    mmrs = np.array([0.0625, 0.09375])
    amounts = np.array([0.0, 0.03125])
    lp = call(
        "inverse_liquidation_price",
        path,
        0.0,
        np.array([210_000.0]),
        np.array([50_000.0]),
        floors,
        mmrs,
        amounts,
        53_000.0,
    )
    assert round(lp, 2) == round(210_000 * 1.09375 / 4.23125, 2) == 54_283.60
