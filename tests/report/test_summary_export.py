"""The summary, the derived series and the results directory, on the hand-made market of
``report_helpers`` (every expected number is worked out there or beside the assertion)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from report_helpers import BTC, ETH, INFO, MARGIN_INFO, T0_MS, hand_run, margin_call_run
from rich.console import Console

from levtrade._json import to_json_value
from levtrade.errors import LevtradeError
from levtrade.report.files import RESULTS_MARKER, load_results, save_results
from levtrade.report.formatting import fmt_price, margin_rows
from levtrade.report.summary import bundle_from_result
from levtrade.report.tables import ANALYZERS_DIR, RESULT_FILES
from levtrade.report.terminal import render_summary

LIQ = (10_000.0 - 999.0) / (100.0 * 0.996)


def test_isolated_summary_by_hand() -> None:
    result, data = hand_run("isolated")
    summary = bundle_from_result(result, data, INFO).summary
    assert summary["pairs"] == [BTC, ETH]
    assert summary["strategy"] == "EnterFirst" and summary["notes"] == ["a note"]
    assert summary["synthetic"] is False
    [liq] = summary["liquidations"]
    assert (liq["pair"], liq["side"], liq["margin_mode"]) == (BTC, "long", "isolated")
    assert liq["price"] == pytest.approx(LIQ, rel=1e-12)
    assert liq["notional"] == pytest.approx(100.0 * LIQ, rel=1e-12)
    assert liq["time"] == T0_MS + 4 * 3_600_000
    per_pair = {row["pair"]: row for row in summary["per_pair"]}
    assert per_pair[BTC]["pnl"] == pytest.approx(-1_005.0)
    assert per_pair[BTC]["liquidations"] == 1
    assert per_pair[ETH]["pnl"] == pytest.approx(-11.0)  # fees 5 + 5, funding 1
    assert per_pair[ETH]["fees"] == pytest.approx(10.0)
    assert per_pair[ETH]["funding"] == pytest.approx(-1.0)
    assert per_pair[ETH]["win_rate"] == 0.0
    # BTC's notional 10,000 over the equity 9,988 after fees and funding (bars 2-3)
    assert per_pair[BTC]["max_exposure"] == pytest.approx(10_000.0 / 9_988.0)
    assert summary["max_effective_leverage"] == pytest.approx(20_000.0 / 9_988.0)
    funding = summary["funding"]
    assert funding["paid"] == pytest.approx(2.0) and funding["received"] == 0.0
    assert funding["by_pair"][ETH] == {
        "paid": pytest.approx(1.0),
        "received": 0.0,
        "net": pytest.approx(-1.0),
        "source": "data",
    }
    # isolated margin ratios: 40 / 999 for each position after the funding
    assert summary["max_margin_ratio"] == pytest.approx(40.0 / 999.0, rel=1e-12)
    assert summary["trade_leverage"] == [10.0]
    json.dumps(summary, allow_nan=False)  # plain JSON: no NaN or inf


def test_cross_series_by_hand() -> None:
    result, data = hand_run("cross")
    bundle = bundle_from_result(result, data, INFO)
    series = bundle.series
    assert not [c for c in series.columns if c.startswith("margin_ratio:")]
    # MM 0.4 % of 10,000 for each pair over the cross equity 9,990 (after two fees of 5)
    assert series.loc[1, "margin_ratio"] == pytest.approx(80.0 / 9_990.0, rel=1e-12)
    # bar 4: BTC at 88 (notional 8,800, MM 35.2) + ETH MM 40 over 10,000 − 10 − 2 − 1,200
    assert series.loc[4, "margin_ratio"] == pytest.approx(75.2 / 8_788.0, rel=1e-12)
    assert series.loc[4, "effective_leverage"] == pytest.approx(18_800.0 / 8_788.0, rel=1e-12)
    assert series.loc[4, "drawdown"] == pytest.approx(1.0 - 8_788.0 / 10_000.0, rel=1e-12)
    assert series.loc[9, "funding"] == pytest.approx(-2.0)
    assert bundle.summary["liquidations"] == []
    # prices: long format, trade OHLC with NaN marks (the market has none)
    prices = bundle.prices
    assert list(prices["symbol"].unique()) == [BTC, ETH]
    btc = prices[prices["symbol"] == BTC].reset_index(drop=True)
    assert btc.loc[4, ["open", "high", "low", "close"]].tolist() == [100.0, 100.0, 85.0, 88.0]
    assert btc["mark_close"].isna().all()


def test_terminal_rendering_fits_80_columns() -> None:
    result, data = hand_run("isolated")
    summary = bundle_from_result(result, data, INFO).summary
    console = Console(width=80, record=True, color_system=None)
    render_summary(summary, console)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text  # nothing truncated
    assert "Liquidations (1, isolated margin)" in text
    assert fmt_price(LIQ) in text and fmt_price(LIQ) == "90.3715"
    assert "note: a note" in text


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as objects with None for missing (Parquet reads text back as pandas
    strings with NaN)."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object or isinstance(out[name].dtype, pd.StringDtype):
            column = out[name].astype(object)
            out[name] = column.where(column.notna(), None)
    return out


def test_results_directory_round_trip_and_replacement(tmp_path: Path) -> None:
    result, data = hand_run("isolated")
    bundle = bundle_from_result(result, data, INFO)
    target = save_results(bundle, tmp_path / "results")
    assert {p.name for p in target.iterdir()} == {*RESULT_FILES, RESULTS_MARKER}
    loaded = load_results(target)
    assert loaded.summary == json.loads(json.dumps(bundle.summary))
    for name in ("trades", "orders", "ledger", "series", "prices"):
        pd.testing.assert_frame_equal(_plain(getattr(loaded, name)), _plain(getattr(bundle, name)))
    # a second save replaces the directory whole; a file levtrade did not write stops it
    save_results(bundle, target)
    assert {p.name for p in target.iterdir()} == {*RESULT_FILES, RESULTS_MARKER}
    assert {p.name for p in tmp_path.iterdir()} == {"results"}  # no temporary leftovers
    (target / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(
        LevtradeError, match=r"holds 1 file\(s\) levtrade did not write \(notes\.txt\)"
    ):
        save_results(bundle, target)
    assert (target / "notes.txt").read_text("utf-8") == "mine"
    (target / "notes.txt").unlink()
    (target / "series.parquet").unlink()
    with pytest.raises(LevtradeError, match=r"not a complete levtrade results .*series\.parquet"):
        load_results(target)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(LevtradeError, match="is not a levtrade results directory"):
        save_results(bundle, foreign)
    assert (foreign / "notes.txt").read_text("utf-8") == "keep"


def test_margin_rows_from_the_analyzers_by_hand() -> None:
    # the lowest margin levels inside the bars, at the mark low (report_helpers.MARGIN_CLOSES,
    # tabulated in tests/cli/cli_helpers.py): 10, 5.26, 2.17, 1.64, 1.32, 1.10, 1.10, 1.37,
    # 1.37 on bars 1-9
    result, data = margin_call_run()
    summary = bundle_from_result(result, data, MARGIN_INFO).summary
    assert margin_rows(summary) == [
        # below 1.5 from bar 5 (05:00) to the end: one call
        ("margin calls (level < 1.5)", "1, first 2025-01-01 05:00", "bad"),
        # 100 − 9,000 / 91 = 1.0989 on bar 6
        ("minimum margin level", "1.10 at 2025-01-01 06:00", ""),
        # 6 (bars 4-9), 5 (5-9) and 2 (6, 7) of the 10 hourly bars
        ("time below level 2", "60.00 % of bars, 6.0 h", ""),
        ("time below level 1.5", "50.00 % of bars, 5.0 h", ""),
        ("time below level 1.2", "20.00 % of bars, 2.0 h", ""),
        ("liquidations", "0", ""),
        # 100 BTC × 91.25 × 0.01 % at 09:00
        ("funding paid", "0.91 (received 0.00, net -0.91)", ""),
        # notional 9,100 over equity 100 on bar 6
        ("max effective leverage", "91.00x at 2025-01-01 06:00", ""),
        # liquidation at 9,000 / 99 = 90.909: (91 − 90.909) / 91 = 0.0999 %
        ("min distance to liquidation", f"0.10 % at 2025-01-01 06:00, {BTC}", ""),
        # ATR(3) on bar 6: 0.99753 (tests/cli/test_cli_margin.py): 0.0909 / 0.99753 = 0.0911
        ("  in ATR(3) multiples", f"0.09 at 2025-01-01 06:00, {BTC}", ""),
    ]
    console = Console(width=80, record=True, color_system=None)
    render_summary(summary, console)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    assert "margin calls (level < 1.5)   1, first 2025-01-01 05:00" in text


def test_a_run_without_analyzers_has_no_margin_section() -> None:
    result, data = hand_run("cross")
    summary = bundle_from_result(result, data, INFO).summary
    assert summary["margin"] is None and summary["analyzers"] == {}
    assert summary["analyzer_tables"] == {}
    assert margin_rows(summary) == []
    console = Console(width=80, record=True, color_system=None)
    render_summary(summary, console)
    assert "Margin" not in console.export_text()


def test_analyzers_round_trip_through_the_results_directory(tmp_path: Path) -> None:
    result, data = margin_call_run()
    bundle = bundle_from_result(result, data, MARGIN_INFO)
    assert set(bundle.analyzers) == {
        "margin_history",
        "margin_calls",
        "time_below_thresholds",
        "distance_to_liquidation",
    }
    target = save_results(bundle, tmp_path / "results")
    assert {p.name for p in target.iterdir()} == {*RESULT_FILES, ANALYZERS_DIR, RESULTS_MARKER}
    loaded = load_results(target)
    assert loaded.summary == json.loads(json.dumps(bundle.summary))
    assert loaded.summary["analyzers"]["funding"]["paid"] == pytest.approx(0.9125)
    assert set(loaded.analyzers) == set(bundle.analyzers)
    for name, frame in bundle.analyzers.items():
        pd.testing.assert_frame_equal(loaded.analyzers[name], frame)
    assert str(loaded.analyzers["margin_calls"]["end"].dtype) == "Int64"


def test_json_values_are_plain() -> None:
    value = to_json_value({"a": math.inf, "b": [math.nan, 1.5], "c": (1, 2)})
    assert value == {"a": None, "b": [None, 1.5], "c": [1, 2]}
