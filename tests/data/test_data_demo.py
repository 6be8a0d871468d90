"""The synthetic demo dataset: deterministic, cheap, marked synthetic, and shaped as documented
in levtrade.data.demo (mark close to last, 8h funding from the basis by Binance's rule, a crash
with a shallower mark low, volatility clustering)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from levtrade.data import MarketData, Store, demo_market, demo_portfolio, parse_time

HOUR = 3_600_000


@pytest.fixture(scope="module")
def btc() -> MarketData:
    return demo_market("BTC/USDT:USDT")


def test_same_seed_same_arrays_and_fast() -> None:
    start = time.perf_counter()
    a = demo_market("BTC/USDT:USDT", seed=11)
    elapsed = time.perf_counter() - start
    b = demo_market("BTC/USDT:USDT", seed=11)
    c = demo_market("BTC/USDT:USDT", seed=12)
    for name in ("timestamps", "open", "high", "low", "close", "volume", "funding_rate"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert a.mark is not None and b.mark is not None
    assert np.array_equal(a.mark.low, b.mark.low)
    assert not np.array_equal(a.close, c.close)
    assert elapsed < 0.5


def test_shape_of_the_year(btc: MarketData) -> None:
    # 2024 is a leap year: 366 * 24 = 8,784 hourly bars and 8,784 / 8 = 1,098 funding events.
    assert len(btc) == 8784
    assert btc.start == parse_time("2024-01-01") and btc.end == parse_time("2024-12-31T23:00Z")
    assert len(btc.funding) == 1098
    assert set(btc.funding.timestamps % (8 * HOUR)) == {0}
    assert btc.gaps is not None and btc.gaps.count == 0


def test_marked_synthetic_everywhere(btc: MarketData) -> None:
    assert btc.synthetic and btc.metadata["seed"] == 7
    assert "SYNTHETIC" in btc.metadata["note"]
    assert btc.to_frame().attrs["synthetic"] is True
    assert btc.summary()["synthetic"] is True
    assert btc.resample("4h").synthetic
    assert btc.between("2024-03-01", "2024-04-01").synthetic
    book = demo_portfolio()
    assert book.synthetic and book.to_frame().attrs["synthetic"] is True


def test_store_keeps_the_synthetic_flag(btc: MarketData, tmp_path: Path) -> None:
    root = tmp_path
    Store(root).save(btc, "demo")
    assert Store(root).load("demo", "BTC/USDT:USDT", "1h").synthetic
    assert all(info.synthetic for info in Store(root).datasets())


def test_mark_stays_close_to_last(btc: MarketData) -> None:
    assert btc.mark is not None and btc.index is not None
    gap = np.abs(btc.mark.close / btc.close - 1)
    # Real BTC (data README): |last/mark - 1| within ~0.08 % on 99.8 % of hours.
    assert np.percentile(gap, 99.8) < 0.001
    assert np.median(gap) < 0.0002
    assert gap.max() < 0.005  # the crash hour


def test_funding_follows_the_basis_by_binances_rule(btc: MarketData) -> None:
    assert btc.index is not None
    premium = btc.close / btc.index.close - 1
    rows = np.flatnonzero(btc.funding_mask)
    expected = []
    for row in rows:
        window = premium[max(0, row - 8) : max(1, row)]
        p = window.mean()
        rate = p + min(max(0.0001 - p, -0.0005), 0.0005)
        expected.append(min(max(rate, -0.003), 0.003))
    np.testing.assert_allclose(btc.funding_rate[rows], expected, rtol=1e-12, atol=1e-15)
    # Calm market: most settlements sit at the 0.01 % interest floor, like BTC on Binance.
    assert np.mean(np.isclose(btc.funding.rates, 0.0001)) > 0.5


def test_crash_with_shallower_mark_low(btc: MarketData) -> None:
    crash = int(np.flatnonzero(btc.timestamps == btc.metadata["crash_at"])[0])
    returns = np.log(btc.close[1:] / btc.close[:-1])
    assert int(np.argmin(returns)) + 1 == crash
    window = slice(crash - 3, crash + 3)
    drop = btc.low[window].min() / btc.high[window].max() - 1
    assert drop < -0.12
    assert btc.mark is not None
    assert btc.mark.low[crash] > btc.low[crash]
    # The basis collapses: the first settlement whose whole 8h window follows the crash is
    # negative (shorts pay longs).
    after = btc.funding_mask & (btc.timestamps >= btc.timestamps[crash] + 9 * HOUR)
    assert btc.funding_rate[after][0] < 0


def test_volatility_clusters(btc: MarketData) -> None:
    r = np.diff(np.log(btc.close))
    a = np.abs(r)
    assert np.corrcoef(a[:-1], a[1:])[0, 1] > 0.1
    assert abs(np.corrcoef(r[:-1], r[1:])[0, 1]) < 0.1


def test_portfolio_symbols_move_together() -> None:
    book = demo_portfolio(("BTC/USDT:USDT", "ETH/USDT:USDT"))
    r = np.diff(np.log(book.close), axis=0)
    assert np.corrcoef(r[:, 0], r[:, 1])[0, 1] > 0.5
    assert book.active.all()
    with pytest.raises(Exception, match="no demo profile"):
        demo_market("XYZ/USDT:USDT")
    with pytest.raises(Exception, match="must divide 8h"):
        demo_market(timeframe="3h")
