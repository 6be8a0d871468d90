"""The CCXT downloader against the real ccxt.binanceusdm object answering from recorded,
exchange-shaped responses (see conftest.RecordedBinance): pagination, resume, dedup, retries
and a failure mid-way that loses nothing already fetched.

Recorded data (conftest): hour k from 2024-01-01T00:00Z has trade open 40000 + 10k, close
open + 5, high open + 8, low open - 4, volume 1.5 + k/1000; mark open = trade open - 1;
funding event n at T0 + 8h*n (+ n%7 ms jitter) with rate 0.0001*(1 + n%3); 13 events.
The clock stands at hour 100 + 30 min, so hours 0..99 are closed and hour 100 is forming.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from data_helpers import HOUR, T0, RecordedBinance, make_binance
from typer.testing import CliRunner

from levtrade.cli import app as root_app
from levtrade.data import Downloader, DownloadError, ProgressUpdate, Store

BTC = "BTC/USDT:USDT"


def downloader(exchange: Any, root: Path, sleep: Any, **options: Any) -> Downloader:
    return Downloader(
        exchange,
        Store(root),
        page_limit=40,
        funding_page_limit=5,
        sleep=sleep,
        now_ms=exchange.milliseconds,
        **options,
    )


def test_pagination_mark_and_funding(
    recorded: RecordedBinance, binance: Any, tmp_store: Path, no_sleep: Any
) -> None:
    updates: list[ProgressUpdate] = []
    results = downloader(binance, tmp_store, no_sleep, progress=updates.append).download(
        [BTC], "1h", "2024-01-01"
    )
    by_kind = {r.kind: r for r in results}
    # 100 closed hours in pages of 40: 40 + 40 + 20, three requests each.
    assert (by_kind["trade"].stored, by_kind["trade"].requests) == (100, 3)
    assert (by_kind["mark"].stored, by_kind["mark"].requests) == (100, 3)
    # 13 events in pages of 5: 5 + 5 + 3, then one empty page ends the walk.
    assert (by_kind["funding"].stored, by_kind["funding"].requests) == (13, 4)
    assert recorded.count("klines") == 3 and recorded.count("markPriceKlines") == 3
    market = Store(tmp_store).load("binanceusdm", BTC, "1h")
    k = np.arange(100)
    assert np.array_equal(market.timestamps, T0 + k * HOUR)
    assert np.array_equal(market.open, 40_000.0 + 10 * k)
    assert np.array_equal(market.high, 40_008.0 + 10 * k)
    assert np.array_equal(market.low, 39_996.0 + 10 * k)
    assert np.array_equal(market.close, 40_005.0 + 10 * k)
    np.testing.assert_allclose(market.volume, 1.5 + k / 1000)
    assert market.mark is not None and np.array_equal(market.mark.open, market.open - 1.0)
    n = np.arange(13)
    assert np.array_equal(market.funding.timestamps, T0 + n * 8 * HOUR)
    np.testing.assert_allclose(market.funding.rates, 0.0001 * (1 + n % 3))
    assert list(np.flatnonzero(market.funding_mask)) == list(8 * n)
    finished = {(u.symbol, u.kind) for u in updates if u.finished}
    assert finished == {(BTC, "trade"), (BTC, "mark"), (BTC, "funding")}
    assert all(u.done_ms <= u.end_ms for u in updates)


def test_resume_appends_without_duplicates(tmp_store: Path, no_sleep: Any) -> None:
    early = RecordedBinance(now=T0 + 50 * HOUR + 30 * 60_000)
    downloader(make_binance(early), tmp_store, no_sleep).download(
        [BTC], "1h", "2024-01-01", mark=False
    )
    assert len(Store(tmp_store).load("binanceusdm", BTC, "1h")) == 50
    later = RecordedBinance()
    results = downloader(make_binance(later), tmp_store, no_sleep).download(
        [BTC], "1h", "2024-01-01", mark=False
    )
    trade = next(r for r in results if r.kind == "trade")
    # Hours 50..99 are new: two requests (40 + 10), the first one starting at hour 50.
    assert (trade.added, trade.stored, trade.requests) == (50, 100, 2)
    first_klines = next(q for name, q in later.calls if name == "klines")
    assert int(first_klines["startTime"]) == T0 + 50 * HOUR
    funding = next(r for r in results if r.kind == "funding")
    # Events 0..6 were stored (hours 0..48); 7..12 are new.
    assert (funding.added, funding.stored) == (6, 13)
    market = Store(tmp_store).load("binanceusdm", BTC, "1h")
    assert np.array_equal(market.timestamps, T0 + np.arange(100) * HOUR)
    assert len(np.unique(market.funding.timestamps)) == 13


def test_backfill_before_the_stored_start(tmp_store: Path, no_sleep: Any) -> None:
    downloader(make_binance(RecordedBinance()), tmp_store, no_sleep).download(
        [BTC], "1h", "2024-01-03", mark=False, funding=False
    )
    assert Store(tmp_store).load("binanceusdm", BTC, "1h").start == T0 + 48 * HOUR
    session = RecordedBinance()
    results = downloader(make_binance(session), tmp_store, no_sleep).download(
        [BTC], "1h", "2024-01-01", mark=False, funding=False
    )
    # Only hours 0..47 are missing: 40 + 8 bars, and every request ends before hour 48.
    assert (results[0].added, results[0].stored) == (48, 100)
    assert all(int(q["endTime"]) < T0 + 48 * HOUR for name, q in session.calls if name == "klines")


def test_overlapping_pages_are_deduplicated(tmp_store: Path, no_sleep: Any) -> None:
    class Overlapping(RecordedBinance):
        """Answers every page from one hour before the requested start (an overlap)."""

        def _klines(self, endpoint: str, query: dict[str, str]) -> list[list[Any]]:
            shifted = dict(query, startTime=str(int(query["startTime"]) - HOUR))
            return super()._klines(endpoint, shifted)

    session = Overlapping()
    results = downloader(make_binance(session), tmp_store, no_sleep).download(
        [BTC], "1h", "2024-01-01", mark=False, funding=False
    )
    assert results[0].stored == 100
    market = Store(tmp_store).load("binanceusdm", BTC, "1h")
    assert np.array_equal(market.timestamps, T0 + np.arange(100) * HOUR)


def test_transient_errors_are_retried_with_backoff(
    tmp_store: Path, no_sleep: Any, sleeps: list[float]
) -> None:
    session = RecordedBinance(
        failures={("klines", 2): 503, ("klines", 3): "timeout", ("fundingRate", 1): 429}
    )
    results = downloader(make_binance(session), tmp_store, no_sleep, backoff_s=0.5).download(
        [BTC], "1h", "2024-01-01", mark=False
    )
    assert {r.kind: r.stored for r in results} == {"trade": 100, "funding": 13}
    # Page 2 fails twice (503, then a timeout): waits 0.5 and 1.0; funding's 429 waits 0.5.
    assert sleeps == [0.5, 1.0, 0.5]
    assert session.count("klines") == 5


def test_failure_mid_way_keeps_what_was_fetched(tmp_store: Path, no_sleep: Any) -> None:
    failing = RecordedBinance(fail_from={"klines": 3})
    with pytest.raises(DownloadError) as caught:
        downloader(make_binance(failing), tmp_store, no_sleep, retries=2).download(
            [BTC], "1h", "2024-01-01", mark=False, funding=False
        )
    message = str(caught.value)
    assert "80 bar(s) stored" in message and "run the download again to resume" in message
    assert "OperationFailed" in message and "Service busy" in message
    # Pages 1 and 2 (hours 0..79) were in the buffer and are stored; 1 + 2 retries on page 3.
    assert failing.count("klines") == 5
    stored = Store(tmp_store).load("binanceusdm", BTC, "1h")
    assert np.array_equal(stored.timestamps, T0 + np.arange(80) * HOUR)
    folder = tmp_store / "binanceusdm" / "BTC_USDT_USDT"
    # the one series, its save in the manifest, the directory's lock; no temporary file
    assert sorted(p.name for p in folder.iterdir()) == [
        ".lock",
        "1h-trade.parquet",
        "manifest.json",
    ]
    healthy = RecordedBinance()
    downloader(make_binance(healthy), tmp_store, no_sleep).download(
        [BTC], "1h", "2024-01-01", mark=False, funding=False
    )
    assert int(next(q for n, q in healthy.calls if n == "klines")["startTime"]) == T0 + 80 * HOUR
    assert len(Store(tmp_store).load("binanceusdm", BTC, "1h")) == 100


def test_invalid_response_is_refused_and_earlier_pages_kept(tmp_store: Path, no_sleep: Any) -> None:
    class Broken(RecordedBinance):
        """Hour 50 comes back with its high below its close."""

        def _klines(self, endpoint: str, query: dict[str, str]) -> list[list[Any]]:
            rows = super()._klines(endpoint, query)
            for row in rows:
                if row[0] == T0 + 50 * HOUR:
                    row[2] = "1.00"
            return rows

    with pytest.raises(DownloadError, match=r"column 'high', row 10.*40 bar\(s\) stored"):
        downloader(make_binance(Broken()), tmp_store, no_sleep).download(
            [BTC], "1h", "2024-01-01", mark=False, funding=False
        )
    assert len(Store(tmp_store).load("binanceusdm", BTC, "1h")) == 40


def test_unknown_symbol_and_spot_market(tmp_store: Path, no_sleep: Any, binance: Any) -> None:
    with pytest.raises(DownloadError, match="has no market 'DOGE/USDT:USDT'"):
        downloader(binance, tmp_store, no_sleep).download(["DOGE/USDT:USDT"], "1h", "2024-01-01")
    with pytest.raises(DownloadError, match="nothing to download"):
        downloader(binance, tmp_store, no_sleep).download([BTC], "1h", "2030-01-01")


def test_cli_download_uses_the_injected_exchange(tmp_store: Path) -> None:
    session = RecordedBinance()
    made: list[str] = []

    def factory(name: str) -> Any:
        made.append(name)
        return make_binance(session)

    runner = CliRunner()
    args = [
        "data",
        "download",
        "--exchange",
        "binanceusdm",
        "--symbols",
        "BTC/USDT:USDT,ETH/USDT:USDT",
        "--timeframe",
        "1h",
        "--since",
        "2024-01-01",
        "--datadir",
        str(tmp_store),
        "--json",
    ]
    result = runner.invoke(root_app, args, obj={"exchange_factory": factory})
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert made == ["binanceusdm"]
    assert {(r["symbol"], r["kind"], r["stored"]) for r in rows} == {
        (BTC, "trade", 100),
        (BTC, "mark", 100),
        (BTC, "funding", 13),
        ("ETH/USDT:USDT", "trade", 100),
        ("ETH/USDT:USDT", "mark", 100),
        ("ETH/USDT:USDT", "funding", 13),
    }
    eth = Store(tmp_store).load("binanceusdm", "ETH/USDT:USDT", "1h")
    assert eth.open[0] == 2_000.0 and eth.close[99] == 2_000.0 + 990 + 5
    session.fail_from = {"klines": 1}
    fresh = tmp_store.parent / "fresh"
    failing = [*args[:-3], "--datadir", str(fresh), "--retries", "0"]
    again = runner.invoke(root_app, failing, obj={"exchange_factory": factory})
    assert again.exit_code == 1
    assert again.stderr.count("\n") == 1 and again.stderr.startswith("error: ")


def test_cli_download_speaks_the_backtest_vocabulary_and_reports_retries(
    tmp_store: Path, no_sleep: Any, sleeps: list[float]
) -> None:
    # --pairs and --timerange as levtrade backtest says them, --timeframes (one or several);
    # the first klines request fails (503): a retry after 1 s, announced as "retry 1/5"
    session = RecordedBinance(failures={("klines", 1): 503})
    notices: list[str] = []

    def factory(name: str) -> Any:
        return make_binance(session)

    runner = CliRunner()
    args = [
        "data",
        "download",
        "--pairs",
        BTC,
        "--timerange",
        "20240101-",
        "--timeframes",
        "1h",
        "--no-mark",
        "--datadir",
        str(tmp_store),
    ]
    result = runner.invoke(root_app, args, obj={"exchange_factory": factory})
    assert result.exit_code == 0, result.output
    assert "retry 1/5 in 1 s: " in result.stderr
    assert len(Store(tmp_store).load("binanceusdm", BTC, "1h")) == 100
    # the Downloader's own notice, as the command prints it
    downloader(
        make_binance(RecordedBinance(failures={("klines", 1): "timeout"})),
        tmp_store.parent / "other",
        no_sleep,
        backoff_s=2.0,
        on_retry=lambda notice: notices.append(notice.message),
    ).download([BTC], "1h", "2024-01-01", mark=False, funding=False)
    assert len(notices) == 1 and notices[0].startswith("retry 1/5 in 2 s: ")
    both = runner.invoke(
        root_app,
        [*args[:4], "--timerange", "20240101-", "--since", "2024-01-01"],
        obj={"exchange_factory": factory},
    )
    assert both.exit_code == 1 and "give --timerange or --since/--until, not both" in both.stderr
