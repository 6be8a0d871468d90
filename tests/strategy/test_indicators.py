"""TA-Lib wrappers against hand calculations on small arrays; kinds in and out; bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from levtrade.errors import ConfigError
from levtrade.strategy import indicators as ind
from levtrade.strategy.lines import Clock, Line

nan = math.nan


def close(values: list[float]) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_sma() -> None:
    # SMA(3) of [1, 2, 3, 4]: (1+2+3)/3 = 2, (2+3+4)/3 = 3
    np.testing.assert_allclose(ind.SMA(close([1, 2, 3, 4]), 3), [nan, nan, 2.0, 3.0])


def test_ema_is_seeded_with_the_sma() -> None:
    # EMA(3): seed SMA(1, 2, 3) = 2; α = 2/(3+1) = 0.5: 2 + 0.5(4 − 2) = 3, 3 + 0.5(5 − 3) = 4
    np.testing.assert_allclose(ind.EMA(close([1, 2, 3, 4, 5]), 3), [nan, nan, 2, 3, 4])


def test_wma() -> None:
    # WMA(3): (1·1 + 2·2 + 3·3)/6 = 14/6; (1·2 + 2·3 + 3·4)/6 = 20/6
    np.testing.assert_allclose(ind.WMA(close([1, 2, 3, 4]), 3), [nan, nan, 14 / 6, 20 / 6])


def test_rsi_wilder() -> None:
    # changes +1, +1, −1. RSI(2) at bar 2: gains 1, losses 0 -> 100.
    # bar 3 (Wilder): gain (1·1 + 0)/2 = 0.5, loss (0·1 + 1)/2 = 0.5 -> RS 1 -> 50
    np.testing.assert_allclose(ind.RSI(close([1, 2, 3, 2]), 2), [nan, nan, 100.0, 50.0])


def test_momentum_and_rate_of_change() -> None:
    np.testing.assert_allclose(ind.MOM(close([1, 2, 4]), 1), [nan, 1.0, 2.0])
    # (110/100 − 1)·100 = 10; (99/110 − 1)·100 = −10
    np.testing.assert_allclose(ind.ROC(close([100, 110, 99]), 1), [nan, 10.0, -10.0])


def test_rolling_max_min() -> None:
    np.testing.assert_allclose(ind.MAX(close([1, 3, 2]), 2), [nan, 3.0, 3.0])
    np.testing.assert_allclose(ind.MIN(close([1, 3, 2]), 2), [nan, 1.0, 2.0])


def test_stddev_and_bollinger_bands() -> None:
    # population sd of [1, 2, 3] = √(((1−2)² + 0 + (3−2)²)/3) = √(2/3) = 0.8164966
    sd = math.sqrt(2 / 3)
    np.testing.assert_allclose(ind.STDDEV(close([1, 2, 3, 4]), 3), [nan, nan, sd, sd])
    bands = ind.BBANDS(close([1, 2, 3, 4]), 3, nbdevup=2.0, nbdevdn=1.0)
    np.testing.assert_allclose(bands.middle, [nan, nan, 2.0, 3.0])
    np.testing.assert_allclose(bands.upper, [nan, nan, 2 + 2 * sd, 3 + 2 * sd])
    np.testing.assert_allclose(bands.lower, [nan, nan, 2 - sd, 3 - sd])


def test_atr() -> None:
    # true range: bar 1 max(12 − 9, |12 − 9|, |9 − 9|) = 3; bar 2 max(11 − 9, 0, |9 − 11|) = 2
    # ATR(2) starts at bar 2 with their mean: 2.5
    out = ind.ATR(close([10, 12, 11]), close([8, 9, 9]), close([9, 11, 10]), 2)
    np.testing.assert_allclose(out, [nan, nan, 2.5])


def test_adx_of_a_steady_rise_is_100() -> None:
    # every bar makes a higher high and a higher low: +DM = 1, −DM = 0 -> DX = 100 throughout
    high, low = np.arange(1.0, 12.0), np.arange(0.0, 11.0)
    out = ind.ADX(high, low, low + 0.5, 2)
    assert np.isnan(out[:3]).all()
    np.testing.assert_allclose(out[3:], 100.0)


def test_macd_of_a_straight_line() -> None:
    # x_t = t: an SMA-seeded EMA(n) of a line is t − (n − 1)/2, so EMA12 − EMA26 =
    # (t − 5.5) − (t − 12.5) = 7; its signal is 7 and the histogram 0
    macd = ind.MACD(np.arange(60.0))
    np.testing.assert_allclose(macd.macd[33:], 7.0)
    np.testing.assert_allclose(macd.signal[33:], 7.0)
    np.testing.assert_allclose(macd.hist[33:], 0.0, atol=1e-12)
    assert np.isnan(macd.signal[:33]).all()


def test_stochastic_and_cci() -> None:
    # %K(3) at bar 2: (4 − 1)/(5 − 1)·100 = 75, unsmoothed (periods 1)
    stoch = ind.STOCH(close([3, 4, 5]), close([1, 2, 3]), close([2, 4, 4]), 3, 1, 1)
    np.testing.assert_allclose(stoch.k, [nan, nan, 75.0])
    # CCI(3) of typical prices 1, 2, 3: (3 − 2)/(0.015 × mean|dev| 2/3) = 100
    tp = close([1, 2, 3])
    np.testing.assert_allclose(ind.CCI(tp, tp, tp, 3), [nan, nan, 100.0])


def test_crossover() -> None:
    # a crosses above 2.5 at bar 2 (2 -> 3) and below at bar 3 (3 -> 2)
    np.testing.assert_array_equal(ind.crossover(close([1, 2, 3, 2]), 2.5), [0, 0, 1, -1])
    # NaN on the bar before does not count as a cross
    np.testing.assert_array_equal(ind.crossover(close([nan, 3, 1]), close([2, 2, 2])), [0, 0, -1])


def test_series_in_series_out() -> None:
    series = pd.Series([1.0, 2.0, 3.0, 4.0], index=pd.date_range("2024", periods=4, freq="h"))
    out = ind.SMA(series, 3)
    assert isinstance(out, pd.Series)
    assert out.index.equals(series.index)
    assert out.iloc[-1] == 3.0


def test_lines_in_lines_out() -> None:
    clock = Clock(4)
    line = Line([1.0, 2.0, 3.0, 4.0], clock, "close")
    sma = ind.SMA(line, 3)
    assert isinstance(sma, Line)
    clock.i = 3
    assert (sma[0], sma[-1]) == (3.0, 2.0)
    assert sma.first_valid == 2


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ind.SMA(close([1, 2]), 0), "period: must be an integer ≥ 1, got 0"),
        (lambda: ind.EMA(close([1, 2]), 2.5), "period: must be an integer ≥ 2, got 2.5"),
        (lambda: ind.RSI(close([1, 2]), True), "period: must be an integer"),
        (lambda: ind.ATR(close([1, 2]), close([1]), close([1, 2])), "low: ATR14 inputs"),
        (lambda: ind.SMA(np.ones((2, 2)), 2), "values: expected a 1-D series"),
        (lambda: ind.SMA(["a", "b"], 2), "values: expected numbers"),
        (lambda: ind.MACD(close([1, 2]), fast=26, slow=12), "fast: must be below slow"),
        (lambda: ind.STDDEV(close([1, 2]), 2, nbdev=math.inf), "nbdev: must be finite"),
    ],
)
def test_bad_parameters_name_the_parameter(call: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        call()  # type: ignore[operator]
