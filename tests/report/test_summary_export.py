"""The summary, the derived series and the results directory, on the hand-made market of
``report_helpers`` (every expected number is worked out there or beside the assertion)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from report_helpers import BTC, ETH, INFO, T0_MS, hand_run
from rich.console import Console

from levtrade.errors import LevtradeError
from levtrade.report.export import (
    RESULT_FILES,
    bundle_from_result,
    load_results,
    save_results,
    to_json_value,
)
from levtrade.report.summary import fmt_price, render_summary

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
    assert per_pair[BTC]["max_effective_leverage"] == pytest.approx(10_000.0 / 9_988.0)
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
    assert {p.name for p in target.iterdir()} == set(RESULT_FILES)
    loaded = load_results(target)
    assert loaded.summary == json.loads(json.dumps(bundle.summary))
    for name in ("trades", "orders", "ledger", "series", "prices"):
        pd.testing.assert_frame_equal(_plain(getattr(loaded, name)), _plain(getattr(bundle, name)))
    # a second save replaces the directory whole: stray files go with it
    (target / "stale.txt").write_text("old", encoding="utf-8")
    save_results(bundle, target)
    assert {p.name for p in target.iterdir()} == set(RESULT_FILES)
    assert {p.name for p in tmp_path.iterdir()} == {"results"}  # no temporary leftovers
    (target / "series.parquet").unlink()
    with pytest.raises(LevtradeError, match=r"not a complete levtrade results .*series\.parquet"):
        load_results(target)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep", encoding="utf-8")
    with pytest.raises(LevtradeError, match="is not a levtrade results directory"):
        save_results(bundle, foreign)
    assert (foreign / "notes.txt").read_text("utf-8") == "keep"


def test_json_values_are_plain() -> None:
    value = to_json_value({"a": math.inf, "b": [math.nan, 1.5], "c": (1, 2)})
    assert value == {"a": None, "b": [None, 1.5], "c": [1, 2]}
