"""``levtrade data list | info | validate | convert | demo``: JSON output, tables, and one-line
errors with a non-zero exit code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from data_helpers import hourly_frame
from typer.testing import CliRunner

from levtrade.cli import app
from levtrade.data import read_candles

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo-store")
    result = runner.invoke(app, ["data", "demo", str(root), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["synthetic"] is True
    assert [m["symbol"] for m in payload["markets"]] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    return root


def test_list_json_and_table(demo_store: Path) -> None:
    result = runner.invoke(app, ["data", "list", str(demo_store), "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    # Two symbols x (trade, mark, index, funding); 2024 has 8,784 hours and 1,098 8h events.
    assert len(rows) == 8
    assert {(r["kind"], r["rows"]) for r in rows} == {
        ("trade", 8784),
        ("mark", 8784),
        ("index", 8784),
        ("funding", 1098),
    }
    assert all(r["synthetic"] and r["layout"] == "levtrade" for r in rows)
    table = runner.invoke(app, ["data", "list", str(demo_store)])
    assert table.exit_code == 0 and "SYNTH" in table.stdout


def test_info_marks_synthetic_data(demo_store: Path) -> None:
    path = demo_store / "demo" / "BTC_USDT_USDT" / "1h-trade.parquet"
    result = runner.invoke(app, ["data", "info", str(path), "--json"])
    assert result.exit_code == 0
    info = json.loads(result.stdout)
    assert info["synthetic"] is True and info["symbol"] == "BTC/USDT:USDT"
    assert (info["rows"], info["start"], info["end"]) == (
        8784,
        "2024-01-01T00:00:00Z",
        "2024-12-31T23:00:00Z",
    )
    funding = demo_store / "demo" / "BTC_USDT_USDT" / "funding.parquet"
    funding_info = json.loads(runner.invoke(app, ["data", "info", str(funding), "--json"]).stdout)
    assert funding_info["interval"] == "8h" and funding_info["synthetic"] is True
    table = runner.invoke(app, ["data", "info", str(path)])
    assert "SYNTHETIC DATA" in table.stdout


def test_validate_reports_each_file(tmp_path: Path, demo_store: Path) -> None:
    good = tmp_path / "good.csv"
    hourly_frame(6).to_csv(good, index=False)
    bad_frame = hourly_frame(6)
    bad_frame.loc[4, "low"] = 200.0
    bad = tmp_path / "bad.csv"
    bad_frame.to_csv(bad, index=False)
    result = runner.invoke(app, ["data", "validate", str(good), str(bad), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [r["ok"] for r in report] == [True, False]
    assert "column 'low', row 4 (line 6), value 200.0" in report[1]["error"]
    text = runner.invoke(app, ["data", "validate", str(good), str(bad)])
    assert text.exit_code == 1
    assert text.stdout.startswith(f"ok: {good} (6 rows)")
    assert text.stderr.count("\n") == 1 and text.stderr.startswith(f"error: {bad}")


def test_convert_and_resample(tmp_path: Path) -> None:
    source = tmp_path / "five.csv"
    hourly_frame(24, step=300_000).to_csv(source, index=False)
    target = tmp_path / "hourly.parquet"
    args = ["data", "convert", str(source), str(target), "--resample", "1h", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["timeframe"]) == (2, "1h")
    back = read_candles(target)
    # Same hand calculation as test_data_market.test_resample_5m_to_1h_by_hand.
    assert list(back.close) == [111.5, 123.5]
    assert back.volume is not None and np.array_equal(back.volume, [186.0, 330.0])


def test_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["data", "info", str(tmp_path / "none.parquet")])
    assert missing.exit_code == 1
    assert missing.stderr == f"error: {tmp_path / 'none.parquet'}: file not found\n"
    source = tmp_path / "gappy.csv"
    hourly_frame(6).drop(index=2).to_csv(source, index=False)
    target = tmp_path / "out.feather"
    failed = runner.invoke(app, ["data", "convert", str(source), str(target)])
    assert failed.exit_code == 1 and failed.stderr.count("\n") == 1
    assert "gap of 1 missing 1h bar(s)" in failed.stderr
    assert not target.exists()
    kept = runner.invoke(app, ["data", "convert", str(source), str(target), "--gaps", "fill"])
    assert kept.exit_code == 0 and len(read_candles(target)) == 6
    wrong = runner.invoke(app, ["data", "info", str(source), "--gaps", "maybe"])
    assert wrong.exit_code == 1 and "--gaps must be one of" in wrong.stderr
    not_dir = runner.invoke(app, ["data", "list", str(source)])
    assert not_dir.exit_code == 1 and "not a directory" in not_dir.stderr


@pytest.mark.shared
def test_list_freqtrade_directory(shared_data: Path) -> None:
    result = runner.invoke(app, ["data", "list", str(shared_data / "freqtrade_testdata"), "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert {
        "symbol": "XRP/USDT:USDT",
        "timeframe": "8h",
        "candle_type": "funding_rate",
    }.items() <= (next(r for r in rows if r["candle_type"] == "funding_rate").items())
    assert all(r["layout"] == "freqtrade" for r in rows)


@pytest.mark.shared
def test_list_freqtrade_directory_shows_rows_and_dates(shared_data: Path) -> None:
    # figures from freqtrade_testdata/README.md (FreqTrade's own test data)
    folder = shared_data / "freqtrade_testdata"
    result = runner.invoke(app, ["data", "list", str(folder), "--json"])
    assert result.exit_code == 0
    rows = {Path(r["path"]).name: r for r in json.loads(result.stdout)}
    expected = {
        "XRP_USDT_USDT-5m-futures.feather": (1999, "2021-11-15T00:00:00Z", "2021-11-21T22:30:00Z"),
        "XRP_USDT_USDT-1h-mark.feather": (100, "2021-11-15T06:00:00Z", "2021-11-19T09:00:00Z"),
        "XRP_USDT_USDT-1h-futures.json.gz": (100, "2021-11-17T01:00:00Z", "2021-11-21T04:00:00Z"),
        "XRP_USDT_USDT-8h-funding_rate.feather": (
            91,
            "2021-11-18T00:00:00Z",
            "2021-12-18T00:00:00Z",
        ),
        "ADA_BTC-5m.feather": (5720, "2018-01-10T04:55:00Z", "2018-01-30T04:50:00Z"),
        "UNITTEST_BTC-1m.json": (13681, "2017-11-04T23:02:00Z", "2017-11-14T22:59:00Z"),
        "UNITTEST_BTC-30m.feather": (1920, "2017-12-03T13:00:00Z", "2018-01-12T12:30:00Z"),
    }
    for name, (count, start, end) in expected.items():
        assert (rows[name]["rows"], rows[name]["start"], rows[name]["end"]) == (count, start, end)
    # the README's gap counts of the spot files: ETH_BTC none, TRX_BTC six single candles
    assert rows["ETH_BTC-5m.feather"]["missing_bars"] == 0
    assert rows["TRX_BTC-5m.feather"]["missing_bars"] == 6
    # 1m candles under an "8m" name (FreqTrade keeps it to test a timeframe mismatch)
    assert "rows" not in rows["UNITTEST_BTC-8m.json.gz"]
    assert "interval of 1m" in rows["UNITTEST_BTC-8m.json.gz"]["error"]
    table = runner.invoke(app, ["data", "list", str(folder)], env={"COLUMNS": "200"})
    assert table.exit_code == 0
    line = next(x for x in table.stdout.splitlines() if "XRP_USDT_USDT-5m-futures" in x)
    assert "1999" in line and "2021-11-15T00:00:00Z" in line and "2021-11-21T22:30:00Z" in line
