"""The intrabar path rule (docs/backtest.md step 3), compiled and plain, by hand."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from levtrade.backtest import path

NEVER = math.inf


def both(func: Any) -> list[Callable[..., Any]]:
    """The compiled function and its plain original: the rule must be the same in both."""
    return [func, func.py_func]


@pytest.mark.parametrize("points", both(path.path_points))
def test_path_goes_low_first_on_an_up_bar_and_high_first_on_a_down_bar(points: Any) -> None:
    # O=100 H=110 L=90 C=105: closes above its open -> O, L, H, C
    assert points(100.0, 110.0, 90.0, 105.0, True) == (100.0, 90.0, 110.0, 105.0)
    # O=100 C=95 closes below -> O, H, L, C
    assert points(100.0, 110.0, 90.0, 95.0, False) == (100.0, 110.0, 90.0, 95.0)


@pytest.mark.parametrize("low_first", both(path.low_first))
def test_a_flat_bar_counts_as_up(low_first: Any) -> None:
    assert low_first(100.0, 100.0) is True
    assert low_first(100.0, 99.0) is False


@pytest.mark.parametrize("reach", both(path.reach_fraction))
def test_reach_fraction(reach: Any) -> None:
    # leg 100 -> 90 falling; a sell stop at 97.5 is reached at (97.5-100)/(90-100) = 0.25
    assert reach(100.0, 90.0, 97.5, -1) == pytest.approx(0.25)
    # the leg starts beyond a stop at 101 (gap): reached at its start
    assert reach(100.0, 90.0, 101.0, -1) == 0.0
    # never reached: 85 is below the leg's end
    assert reach(100.0, 90.0, 85.0, -1) == NEVER
    # rising leg 90 -> 110 and a buy stop at 105: (105-90)/(110-90) = 0.75
    assert reach(90.0, 110.0, 105.0, 1) == pytest.approx(0.75)
    # a level exactly at the leg end is reached at 1
    assert reach(90.0, 110.0, 110.0, 1) == 1.0
    assert reach(90.0, 110.0, math.nan, 1) == NEVER


def test_direction_codes() -> None:
    assert path.stop_direction(True) == 1 and path.stop_direction(False) == -1
    assert path.limit_direction(True) == -1 and path.limit_direction(False) == 1
    assert path.liquidation_direction(2.0) == -1 and path.liquidation_direction(-2.0) == 1


@pytest.mark.parametrize("slip", both(path.slipped))
def test_slippage_is_adverse(slip: Any) -> None:
    # 10 bps: buy 100 -> 100.1, sell 100 -> 99.9
    assert slip(100.0, True, 0.001) == pytest.approx(100.1)
    assert slip(100.0, False, 0.001) == pytest.approx(99.9)


@pytest.mark.parametrize("slip", both(path.participation_slippage))
def test_participation_slippage(slip: Any) -> None:
    # 5 bps fixed + 100 bps x (2 / 10 of the volume) = 0.0005 + 0.01 * 0.2 = 0.0025
    assert slip(0.0005, 0.01, 2.0, 10.0) == pytest.approx(0.0025)
    # share capped at 1; a bar without volume counts as full participation
    assert slip(0.0005, 0.01, 20.0, 10.0) == pytest.approx(0.0105)
    assert slip(0.0005, 0.01, 2.0, 0.0) == pytest.approx(0.0105)


@pytest.mark.parametrize("trail", both(path.trail_stop))
def test_trailing_stop_only_tightens(trail: Any) -> None:
    # long, 2 %: at 110 -> 107.8; later at 105 the candidate 102.9 is lower: stays 107.8
    stop = trail(math.nan, 110.0, True, 0.02, 0.0)
    assert stop == pytest.approx(107.8)
    assert trail(stop, 105.0, True, 0.02, 0.0) == pytest.approx(107.8)
    # short by amount 3: at 90 -> 93, at 95 candidate 98 > 93 stays 93
    stop = trail(math.nan, 90.0, False, 0.0, 3.0)
    assert stop == 93.0
    assert trail(stop, 95.0, False, 0.0, 3.0) == 93.0


def test_freqtrade_levels() -> None:
    # stoploss -10 % at 5x: long stop 100*(1-0.1/5) = 98, short 102
    assert path.stoploss_level(100.0, True, -0.10, 5.0) == pytest.approx(98.0)
    assert path.stoploss_level(100.0, False, -0.10, 5.0) == pytest.approx(102.0)
    # ROI 5 % at 5x without fees or funding: long 101, short 99
    assert path.roi_level(100.0, True, 0.05, 5.0, 2.0, 0.0, 0.0, 0.0) == pytest.approx(101.0)
    assert path.roi_level(100.0, False, 0.05, 5.0, 2.0, 0.0, 0.0, 0.0) == pytest.approx(99.0)
    # profit at 102, 5x, no fees or funding: long (1.02-1)*5 = 0.1, short -0.1
    assert path.profit_ratio(100.0, 102.0, True, 5.0, 2.0, 0.0, 0.0, 0.0) == pytest.approx(0.1)
    assert path.profit_ratio(100.0, 102.0, False, 5.0, 2.0, 0.0, 0.0, 0.0) == pytest.approx(-0.1)


@pytest.mark.parametrize("profit", both(path.profit_ratio))
def test_profit_ratio_is_freqtrades_net_of_fees_and_funding(profit: Any) -> None:
    # FreqTrade's calc_profit_ratio, 2 contracts at 100, 5x, fee 0.05 % each side:
    # long at 102 having paid 0.1 funding: open 2·100·1.0005 = 200.1,
    # close 2·102·0.9995 − 0.1 = 203.798, (203.798/200.1 − 1)·5 = 0.0924038
    assert profit(100.0, 102.0, True, 5.0, 2.0, -0.1, 0.0005, 0.0005) == pytest.approx(
        (203.798 / 200.1 - 1.0) * 5.0
    )
    assert pytest.approx(0.0924038, abs=1e-7) == (203.798 / 200.1 - 1.0) * 5.0
    # short at 98 having received 0.1: open 2·100·0.9995 = 199.9,
    # close 2·98·1.0005 − 0.1 = 195.998, (1 − 195.998/199.9)·5 = 0.0975988
    assert profit(100.0, 98.0, False, 5.0, 2.0, 0.1, 0.0005, 0.0005) == pytest.approx(
        (1.0 - 195.998 / 199.9) * 5.0
    )
    assert pytest.approx(0.0975988, abs=1e-7) == (1.0 - 195.998 / 199.9) * 5.0


@pytest.mark.parametrize("roi", both(path.roi_ratio))
def test_roi_in_force(roi: Any) -> None:
    minutes = np.array([0.0, 30.0, 60.0])
    ratios = np.array([0.10, 0.05, 0.0])
    assert roi(minutes, ratios, 0.0) == 0.10
    assert roi(minutes, ratios, 45.0) == 0.05
    assert roi(minutes, ratios, 60.0) == 0.0
    assert math.isnan(roi(np.array([30.0]), np.array([0.1]), 10.0))


@pytest.mark.parametrize("ratio", both(path.trailing_ratio))
def test_trailing_ratio(ratio: Any) -> None:
    nan = math.nan
    # profit 0.1 above offset 0.05 -> trailing_stop_positive 0.02
    assert ratio(0.10, -0.2, 0.02, 0.05, False) == 0.02
    # below the offset -> |stoploss|, or no move when only_offset
    assert ratio(0.01, -0.2, 0.02, 0.05, False) == 0.2
    assert math.isnan(ratio(0.01, -0.2, 0.02, 0.05, True))
    assert math.isnan(ratio(0.01, nan, nan, 0.0, False))
