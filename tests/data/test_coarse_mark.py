"""Mark candles coarser than the trade candles: ``coarse_mark="basis"``.

Inside each mark candle [T, T + tf_mark) the trade candles are scaled by
``ratio = mark_open(T) / trade_open(T)``; the bar opening at T carries the published mark open
exactly. Every expected number below is worked out by hand from the candles written in the test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from levtrade.backtest import BacktestConfig, run
from levtrade.configuration.config import RunConfig
from levtrade.configuration.data import load_run_data
from levtrade.data import (
    Candles,
    CoverageError,
    DataValidationError,
    FundingEvents,
    MarketData,
    TimeframeError,
    load_freqtrade,
    load_market,
    make_candles,
    read_candles,
    read_funding,
)
from levtrade.data.market import basis_mark
from levtrade.errors import ConfigError
from levtrade.strategy.signals import SignalRules, Signals, SymbolSignals

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
HOUR = 3_600_000
M15 = 900_000
SYMBOL = "BTC/USDT:USDT"

# Eight 15m trade bars, 00:00 .. 01:45 (open, high, low, close).
TRADE = [
    (100.0, 102.0, 99.0, 101.0),
    (101.0, 103.0, 100.0, 102.0),
    (102.0, 102.5, 98.0, 99.0),
    (99.0, 100.0, 97.0, 98.0),
    (98.0, 99.0, 96.0, 97.0),
    (97.0, 98.0, 95.0, 96.5),
    (96.5, 97.0, 96.0, 96.0),
    (96.0, 96.5, 94.0, 95.0),
]
# Two 1h mark candles. 00:00 opens at 101 against the trade open 100: ratio 1.01.
# 01:00 opens at 97.51 against the trade open 98: ratio 0.995. The highs, lows and closes
# (104/90 ...) are only known at the candle's close and must not show up anywhere.
MARK = [(101.0, 104.0, 97.0, 98.5), (97.51, 99.2, 90.0, 94.9)]


def candles(
    rows: list[tuple[float, float, float, float]],
    step: int,
    *,
    start: int = T0,
    kind: str = "trade",
    skip: tuple[int, ...] = (),
) -> Candles:
    keep = [i for i in range(len(rows)) if i not in skip]
    values = np.array([rows[i] for i in keep])
    stamps = start + step * np.array(keep, dtype=np.int64)
    if kind == "trade":
        return make_candles(
            stamps, *values.T, np.ones(len(keep)), timeframe=step, gaps="keep", origin="trade"
        )
    return make_candles(stamps, *values.T, None, kind="mark", timeframe=step, origin="mark-1h")


def trade_15m(**kwargs: tuple[int, ...]) -> Candles:
    return candles(TRADE, M15, **kwargs)


def mark_1h(rows: list[tuple[float, float, float, float]] = MARK, start: int = T0) -> Candles:
    return candles(rows, HOUR, start=start, kind="mark")


def test_basis_scales_each_window_by_the_ratio_at_its_open() -> None:
    market = MarketData.build(SYMBOL, trade_15m(), mark=mark_1h(), coarse_mark="basis")
    mark = market.mark
    assert mark is not None
    # Window 00:00, ratio 101 / 100 = 1.01; window 01:00, ratio 97.51 / 98 = 0.995.
    assert list(mark.open) == pytest.approx(
        [101.0, 102.01, 103.02, 99.99, 97.51, 96.515, 96.0175, 95.52], rel=1e-12
    )
    assert list(mark.high) == pytest.approx(
        [103.02, 104.03, 103.525, 101.0, 98.505, 97.51, 96.515, 96.0175], rel=1e-12
    )
    assert list(mark.low) == pytest.approx(
        [99.99, 101.0, 98.98, 97.97, 95.52, 94.525, 95.52, 93.53], rel=1e-12
    )
    assert list(mark.close) == pytest.approx(
        [102.01, 103.02, 99.99, 98.98, 96.515, 96.0175, 95.52, 94.525], rel=1e-12
    )
    # At each mark candle's open the mark open is the published one, bit for bit.
    assert mark.open[0] == 101.0 and mark.open[4] == 97.51
    assert market.metadata["mark_rule"] == "basis"
    assert market.metadata["mark_timeframe"] == "1h"
    assert market.metadata["mark_source"] == "mark-1h"


def test_basis_never_uses_the_coarse_high_low_close() -> None:
    # The same mark opens with other highs, lows and closes give the same per-bar mark.
    other = [(101.0, 150.0, 50.0, 120.0), (97.51, 130.0, 60.0, 70.0)]
    first = MarketData.build(SYMBOL, trade_15m(), mark=mark_1h(), coarse_mark="basis").mark
    second = MarketData.build(SYMBOL, trade_15m(), mark=mark_1h(other), coarse_mark="basis").mark
    assert first is not None and second is not None
    for name in ("open", "high", "low", "close"):
        assert np.array_equal(getattr(first, name), getattr(second, name))
    # the 01:00 window's mark low is 94 × 0.995 = 93.53, not the candle's low 90
    assert float(first.low.min()) == pytest.approx(93.53, rel=1e-12)


def test_funding_at_the_mark_candle_open_settles_at_the_published_mark() -> None:
    # 0.01 % at 01:00 lands on bar 4, whose mark open is the 1h candle's open 97.51.
    # A long of 1 (entered at bar 1's close, filled at bar 2's open 102, stake 102 at 1x)
    # held through 01:00 pays 1 × 97.51 × 0.0001 = 0.009751.
    funding = FundingEvents(np.array([T0 + HOUR], dtype=np.int64), np.array([0.0001]))
    market = MarketData.build(
        SYMBOL, trade_15m(), mark=mark_1h(), funding=funding, coarse_mark="basis"
    )
    assert market.mark is not None
    assert list(np.flatnonzero(market.funding_mask)) == [4]
    assert market.mark.open[4] == 97.51
    enter = np.zeros(8, np.bool_)
    enter[1] = True
    leave = np.zeros(8, np.bool_)
    leave[5] = True
    table = Signals(
        {SYMBOL: SymbolSignals.from_arrays(8, enter_long=enter, exit_long=leave)},
        SignalRules(can_short=False),
    )
    config = BacktestConfig(
        venue="binance",
        wallet=10_000.0,
        maker_fee=0.0,
        taker_fee=0.0,
        clearance_fee_rate=0.0,
        stake_amount=102.0,
    )
    for engine in ("event", "compiled"):
        result = run(table, market, config, engine=engine)
        trade = result.trades.iloc[0]
        assert trade.entry_price == 102.0 and trade.exit_price == 96.5
        assert trade.funding == pytest.approx(-0.009751, rel=1e-9)


def test_a_cut_inside_a_window_keeps_the_basis_at_its_open() -> None:
    # Starting at 00:30 the 00:00 window's ratio is still 101 / 100 (from the bar before the
    # cut): bar 00:30 gets 102 × 1.01 = 103.02, not the published 101.
    market = MarketData.build(
        SYMBOL, trade_15m(), mark=mark_1h(), coarse_mark="basis", start=T0 + 2 * M15
    )
    assert market.mark is not None
    assert market.start == T0 + 2 * M15
    assert list(market.mark.open) == pytest.approx(
        [103.02, 99.99, 97.51, 96.515, 96.0175, 95.52], rel=1e-12
    )


def test_a_missing_trade_bar_at_the_window_open_takes_the_ratio_at_the_first_bar() -> None:
    # No trade bar at 01:00 (kept gap): the window's first bar is 01:15, open 97, so the
    # ratio is 97.51 / 97 and that bar's mark open is 97.51; 01:30 is 96.5 × 97.51 / 97.
    market = MarketData.build(SYMBOL, trade_15m(skip=(4,)), mark=mark_1h(), coarse_mark="basis")
    assert market.mark is not None
    assert market.mark.open[4] == 97.51
    assert market.mark.open[5] == pytest.approx(96.5 * 97.51 / 97.0, rel=1e-12)
    assert market.mark.low[6] == pytest.approx(94.0 * 97.51 / 97.0, rel=1e-12)


def test_basis_of_bars_picked_out_of_the_history_is_taken_at_the_window_open() -> None:
    # The history has the 01:00 bar (open 98, ratio 97.51 / 98 = 0.995); the trade bars passed
    # leave it out, so no bar gets the published open and 01:15 .. 01:45 are 97 × 0.995 =
    # 96.515, 96.5 × 0.995 = 96.0175 and 96 × 0.995 = 95.52, as in the unbroken series.
    history = trade_15m()
    picked = history.take(np.array([0, 1, 2, 3, 5, 6, 7]))
    mark = basis_mark(history, picked, mark_1h())
    assert list(mark.open) == pytest.approx(
        [101.0, 102.01, 103.02, 99.99, 96.515, 96.0175, 95.52], rel=1e-12
    )
    assert list(mark.low) == pytest.approx(
        [99.99, 101.0, 98.98, 97.97, 94.525, 95.52, 93.53], rel=1e-12
    )


def test_coverage_applies_to_coarse_marks() -> None:
    # Only the 00:00 mark candle: the four bars from 01:00 are uncovered.
    short = mark_1h(MARK[:1])
    with pytest.raises(CoverageError, match="row 4 of trade; 4 trade bar") as caught:
        MarketData.build(SYMBOL, trade_15m(), mark=short, coarse_mark="basis")
    assert caught.value.file == "mark-1h"
    assert "2024-01-01T01:00:00Z" in str(caught.value.value)
    trimmed = MarketData.build(
        SYMBOL, trade_15m(), mark=short, coarse_mark="basis", coverage="trim"
    )
    assert len(trimmed) == 4 and trimmed.end == T0 + 3 * M15
    # Mark history starting at 01:00: trimming drops the first hour.
    late = mark_1h(MARK[1:], start=T0 + HOUR)
    trimmed = MarketData.build(SYMBOL, trade_15m(), mark=late, coarse_mark="basis", coverage="trim")
    assert trimmed.start == T0 + HOUR
    assert trimmed.mark is not None and trimmed.mark.open[0] == 97.51


def test_a_hole_inside_the_coarse_marks_is_a_coverage_error() -> None:
    # twelve 15m bars 00:00 .. 02:45; mark candles at 00:00, 02:00 and 03:00 (01:00 missing):
    # the 00:00 candle ends at 01:00, so the four bars 01:00 .. 01:45 (rows 4 to 7) lie in no
    # mark candle, while 02:00 .. 02:45 are covered again
    trade = candles(TRADE + TRADE[:4], M15)
    rows = np.array([MARK[0], MARK[1], MARK[1]])
    stamps = np.array([T0, T0 + 2 * HOUR, T0 + 3 * HOUR], dtype=np.int64)
    holed = make_candles(
        stamps, *rows.T, None, kind="mark", timeframe=HOUR, gaps="keep", origin="mark-1h"
    )
    with pytest.raises(CoverageError, match="row 4 of trade; 4 trade bar") as caught:
        MarketData.build(SYMBOL, trade, mark=holed, coarse_mark="basis")
    assert "2024-01-01T01:00:00Z" in str(caught.value.value)


def test_coarse_marks_all_after_the_trade_bars_are_a_coverage_error() -> None:
    # mark history from 03:00: none of the eight trade bars (00:00 .. 01:45) is covered
    late = mark_1h(MARK, start=T0 + 3 * HOUR)
    with pytest.raises(CoverageError, match="row 0 of trade; 8 trade bar") as caught:
        MarketData.build(SYMBOL, trade_15m(), mark=late, coarse_mark="basis")
    assert caught.value.file == "mark-1h"


def test_coarse_mark_without_the_opt_in_is_refused() -> None:
    with pytest.raises(TimeframeError, match="mark candles are 1h, trade candles 15m") as caught:
        MarketData.build(SYMBOL, trade_15m(), mark=mark_1h())
    assert "coarse_mark='basis'" in str(caught.value)
    with pytest.raises(DataValidationError, match="coarse_mark: unknown policy 'nearest'"):
        MarketData.build(SYMBOL, trade_15m(), mark=mark_1h(), coarse_mark="nearest")  # type: ignore[arg-type]


def test_coarse_index_is_refused_even_with_the_opt_in() -> None:
    index = candles(MARK, HOUR, kind="mark")
    with pytest.raises(TimeframeError, match="index candles are 1h, trade candles 15m"):
        MarketData.build(SYMBOL, trade_15m(), index=index, coarse_mark="basis")


def test_misaligned_or_non_multiple_mark_timeframe_is_refused() -> None:
    # 1h mark candles opening at 00:05 do not start on the 15m grid.
    shifted = mark_1h(start=T0 + 5 * 60_000)
    with pytest.raises(TimeframeError, match="opens off the grid of the 15m trade") as caught:
        MarketData.build(SYMBOL, trade_15m(), mark=shifted, coarse_mark="basis")
    assert caught.value.row == 0 and "2024-01-01T00:05:00Z" in str(caught.value.value)
    # 25m is coarser than 15m but not a whole multiple of it.
    odd = candles(MARK, 25 * 60_000, kind="mark")
    with pytest.raises(TimeframeError, match="25m, not a whole multiple of the 15m"):
        MarketData.build(SYMBOL, trade_15m(), mark=odd, coarse_mark="basis")


def _feather(rows: list[tuple[float, float, float, float]], step: int, path: Path) -> None:
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"])
    frame.insert(0, "date", pd.to_datetime(T0 + step * np.arange(len(rows)), unit="ms", utc=True))
    frame["volume"] = 1.0
    frame.to_feather(path)


def test_loaders_pass_the_policy_through(tmp_path: Path) -> None:
    futures = tmp_path / "binance" / "futures"
    futures.mkdir(parents=True)
    _feather(TRADE, M15, futures / "BTC_USDT_USDT-15m-futures.feather")
    _feather(MARK, HOUR, futures / "BTC_USDT_USDT-1h-mark.feather")
    datadir = tmp_path / "binance"
    # Without the opt-in the 1h mark file is not usable for 15m bars.
    assert load_freqtrade(datadir, SYMBOL, "15m").mark is None
    with pytest.raises(DataValidationError, match="pass coarse_mark='basis'"):
        load_freqtrade(datadir, SYMBOL, "15m", mark=True)
    market = load_freqtrade(datadir, SYMBOL, "15m", coarse_mark="basis")
    assert market.mark is not None and market.mark.open[4] == 97.51
    assert market.mark.close[0] == pytest.approx(102.01, rel=1e-12)
    assert market.metadata["mark_rule"] == "basis"
    files = load_market(
        futures / "BTC_USDT_USDT-15m-futures.feather",
        symbol=SYMBOL,
        mark=futures / "BTC_USDT_USDT-1h-mark.feather",
        timeframe="15m",
        coarse_mark="basis",
    )
    assert files.mark is not None and files.mark.high[1] == pytest.approx(104.03, rel=1e-12)


@pytest.mark.shared
def test_real_btc_5m_with_1h_mark(shared_data: Path) -> None:
    folder = shared_data / "binance_um_freqtrade_harthor"
    trade = read_candles(folder / "BTCUSDT-5m-perp.parquet", kind="trade")
    mark = read_candles(folder / "BTCUSDT-1h-mark.parquet", kind="mark")
    funding = read_funding(folder / "BTCUSDT-funding_rate.parquet")
    market = MarketData.build(
        SYMBOL, trade, mark=mark, funding=funding, coarse_mark="basis", end="2025-02-01"
    )
    assert market.mark is not None
    assert len(market) == 32 * 288  # 2024-12-31 .. 2025-01-31: 32 days of 5m bars
    raw_trade = pd.read_parquet(folder / "BTCUSDT-5m-perp.parquet").set_index("open_time")
    raw_mark = pd.read_parquet(folder / "BTCUSDT-1h-mark.parquet").set_index("open_time")
    frame = market.to_frame()
    for hour in ("2025-01-01 00:00", "2025-01-10 08:00", "2025-01-20 17:00"):
        t = pd.Timestamp(hour, tz="UTC")
        published = raw_mark.loc[t]
        assert frame.loc[t, "mark_open"] == published["open"]  # exact at the hour
        ratio = published["open"] / raw_trade.loc[t, "open"]
        for minutes in (5, 30, 55):
            bar = t + pd.Timedelta(minutes=minutes)
            for column in ("open", "high", "low", "close"):
                expected = raw_trade.loc[bar, column] * ratio
                assert frame.loc[bar, f"mark_{column}"] == pytest.approx(expected, rel=1e-12)
    # 8h funding lands on the bars opening at 00/08/16 UTC, where the mark is the published one.
    funded = frame.index[frame["funding_event"]]
    assert len(funded) == 32 * 3
    assert all(t.hour in (0, 8, 16) and t.minute == 0 for t in funded)
    published_opens = raw_mark["open"].reindex(funded)
    assert np.array_equal(frame.loc[funded, "mark_open"].to_numpy(), published_opens.to_numpy())
    # The real basis stays small: |mark / trade - 1| below 0.5 % on every bar.
    assert float(np.abs(market.mark.close / market.close - 1.0).max()) < 0.005


def test_run_config_key_reaches_the_loader(tmp_path: Path) -> None:
    _feather(TRADE, M15, tmp_path / "BTCUSDT-15m-perp.feather")
    _feather(MARK, HOUR, tmp_path / "BTCUSDT-1h-mark.feather")
    settings = {
        "datadir": str(tmp_path),
        "pairs": [SYMBOL],
        "candles": "{symbol}-{timeframe}-perp.feather",
        "mark": "{symbol}-1h-mark.feather",
        "futures_funding_rate": 0.0,
    }
    refused = RunConfig.from_mapping({**settings, "coarse_mark": "error"})
    with pytest.raises(TimeframeError, match="mark candles are 1h, trade candles 15m"):
        load_run_data(refused, [SYMBOL], "15m", None)
    # a configuration uses the coarser mark by default (FreqTrade downloads 1h marks)
    loaded = load_run_data(RunConfig.from_mapping(settings), [SYMBOL], "15m", None)
    market = loaded.data[SYMBOL]
    assert market.mark is not None and market.mark.open[4] == 97.51
    assert loaded.mark[SYMBOL] is True
    assert any(
        note.startswith(
            f"{SYMBOL}: the mark is the 15m trade candles scaled by the basis of "
            "the 1h mark candles"
        )
        for note in loaded.notes
    )
    with pytest.raises(ConfigError, match=r"coarse_mark: .*got 'nearest'"):
        RunConfig.from_mapping({**settings, "coarse_mark": "nearest"})


def test_the_note_says_which_mark_is_used_in_every_case(tmp_path: Path) -> None:
    futures = tmp_path / "binance" / "futures"
    futures.mkdir(parents=True)
    _feather(TRADE, M15, futures / "BTC_USDT_USDT-15m-futures.feather")
    settings = {"datadir": str(tmp_path / "binance"), "futures_funding_rate": 0.0}

    def note(**extra: str) -> str:
        loaded = load_run_data(RunConfig.from_mapping({**settings, **extra}), [SYMBOL], "15m", None)
        (found,) = [n for n in loaded.notes if n.startswith(f"{SYMBOL}: ") and "mark" in n]
        return found

    # no mark file at all
    assert note() == f"{SYMBOL}: no mark-price candles; the trade candles stand in for the mark"
    # a 1h mark file left out: the note says it exists and is not used
    _feather(MARK, HOUR, futures / "BTC_USDT_USDT-1h-mark.feather")
    assert note(coarse_mark="error") == (
        f"{SYMBOL}: the 1h mark candles are coarser than the 15m trade candles and not used "
        '(coarse_mark = "error"); the trade candles stand in for the mark'
    )
    assert note().startswith(f"{SYMBOL}: the mark is the 15m trade candles scaled by the basis")
    # finer mark candles (5m, three per trade bar) are aggregated to 15m
    five = [row for row in TRADE for _ in range(3)]
    _feather(five, M15 // 3, futures / "BTC_USDT_USDT-5m-mark.feather")
    assert note() == f"{SYMBOL}: the mark is the 5m mark-price candles aggregated to 15m"
    # mark candles at the trade timeframe are used as they are
    _feather(TRADE, M15, futures / "BTC_USDT_USDT-15m-mark.feather")
    assert note() == f"{SYMBOL}: the mark is the 15m mark-price candles"
