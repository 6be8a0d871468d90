"""The trading journal: exit reasons an event-driven strategy's trades can have, each trade's
stake, PnL %, duration and liquidation price, the FreqTrade-style statistics built from them,
the market's own move and the plausibility warnings; all worked out by hand."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "backtest"))
from backtest_helpers import HOUR, T0, Scripted, config, flat, market

from levtrade.backtest import run
from levtrade.report.html import render_report
from levtrade.report.summary import (
    bundle_from_result,
    foresight_bound,
    merged_notes,
    plausibility_warnings,
)
from levtrade.report.terminal import render_summary

# one long at a time, 1 BTC, isolated margin, 10x unless given, no fees:
# bars 1-2: a bracket entry at 100, its stop at 95 hit by bar 2's low 94        -> stop_loss
# bars 4-5: a bracket entry at 100, its take-profit at 105 hit by bar 5's high  -> take_profit
# bars 7-9: a market entry at 100, close() at bar 8's close, filled at 102      -> close
# bars 10-11: an entry at 102 at 50x: margin 102/50 = 2.04; liquidation price (102 − 2.04) /
#   (1 − 0.004) = 100.36 (Binance BTC tier 1, MMR 0.4 %), reached by bar 11's low 90; the
#   trader loses the whole margin                                               -> liquidation
# bars 13-14: an entry at 100 (the symbol stays at 50x), held to the last close 110
#                                                                                -> end_of_data
# bar 0 also asks for 500x, above the tier's 150x: refused (leverage_above_tier)
BARS = [
    flat(100),
    flat(100),
    (100, 100, 94, 96),
    flat(100),
    flat(100),
    (100, 106, 100, 105),
    flat(100),
    flat(100),
    flat(100),
    flat(102),
    flat(102),
    (102, 102, 90, 95),
    flat(100),
    flat(100),
    flat(110),
]
SCRIPT = {
    0: [
        lambda s: s.buy_bracket(size=1, stopprice=95, limitprice=110),
        lambda s: s.buy(size=1, leverage=500),
    ],
    3: [lambda s: s.buy_bracket(size=1, stopprice=90, limitprice=105)],
    6: [lambda s: s.buy(size=1)],
    8: [lambda s: s.close()],
    9: [lambda s: s.buy(size=1, leverage=50)],
    12: [lambda s: s.buy(size=1)],
}
REASONS = ["stop_loss", "take_profit", "close", "liquidation", "end_of_data"]
PNL = [-5.0, 5.0, 2.0, -2.04, 10.0]
STAKE = [10.0, 10.0, 10.0, 2.04, 2.0]  # entry notional ÷ leverage
HOURS = [1, 1, 2, 1, 1]
INFO = {"strategy": "Scripted", "strategy_style": "event", "stake_currency": "USDT"}


def journal_run() -> tuple[object, object]:
    data = market(BARS)
    result = run(
        Scripted, data, config(margin_mode="isolated", leverage=10), params={"script": SCRIPT}
    )
    return result, data


def test_exit_reasons_of_an_event_strategy_are_told_apart() -> None:
    result, _ = journal_run()
    trades = result.trades  # type: ignore[attr-defined]
    assert trades["exit_reason"].tolist() == REASONS
    assert trades["pnl"].tolist() == pytest.approx(PNL, abs=1e-9)
    orders = result.orders  # type: ignore[attr-defined]
    assert orders.loc[orders["status"] == "filled", "origin"].tolist() == [
        "order",
        "stop_loss",
        "order",
        "take_profit",
        "order",
        "close",
        "order",
        "order",
        "end_of_data",
    ]


def test_journal_columns_and_statistics_by_hand() -> None:
    result, data = journal_run()
    bundle = bundle_from_result(result, data, INFO)  # type: ignore[arg-type]
    trades = bundle.trades
    assert trades["stake"].tolist() == pytest.approx(STAKE, rel=1e-12)
    assert trades["pnl_pct"].tolist() == pytest.approx(
        [p / s for p, s in zip(PNL, STAKE, strict=True)], rel=1e-9
    )
    assert trades["duration_ms"].tolist() == [h * HOUR for h in HOURS]
    # the liquidation price each position had at the close of its entry bar: the 10x longs
    # at (100 − 10) / 0.996 = 90.361; the 50x one (entered at 102) (102 − 2.04) / 0.996
    liq = trades["liquidation_price"].tolist()
    assert liq[0] == pytest.approx(90.0 / 0.996, rel=1e-9)
    assert liq[3] == pytest.approx((102.0 - 2.04) / 0.996, rel=1e-9)
    summary = bundle.summary
    stats = summary["trade_stats"]
    # durations: all (1 + 1 + 2 + 1 + 1) / 5 = 1.2 h; winners (1 + 2 + 1) / 3; losers 1 h
    assert stats["durations"]["all"] == pytest.approx(1.2 * HOUR)
    assert stats["durations"]["winners"] == pytest.approx(4 / 3 * HOUR)
    assert stats["durations"]["losers"] == pytest.approx(1.0 * HOUR)
    # by PnL % of the stake: best the end-of-data trade, 10 / 2 = 500 %; worst the
    # liquidation, −100 %
    assert stats["best_trade"]["exit_reason"] == "end_of_data"
    assert stats["best_trade"]["pnl_pct"] == pytest.approx(5.0)
    assert stats["worst_trade"]["exit_reason"] == "liquidation"
    assert stats["worst_trade"]["pnl_pct"] == pytest.approx(-1.0, abs=1e-9)
    reasons = {row["reason"]: row for row in stats["exit_reasons"]}
    assert set(reasons) == set(REASONS)
    assert reasons["take_profit"]["wins"] == 1 and reasons["stop_loss"]["losses"] == 1
    assert reasons["close"]["avg_duration_ms"] == 2 * HOUR
    [longs] = stats["sides"]
    assert (longs["side"], longs["trades"], longs["wins"]) == ("long", 5, 3)
    assert longs["pnl"] == pytest.approx(sum(PNL))
    # expectancy (FreqTrade): avg win 17/3, avg loss 7.04/2; 0.6·17/3 − 0.4·3.52 = 1.992
    metrics = summary["metrics"]
    assert metrics["expectancy"] == pytest.approx(0.6 * 17 / 3 - 0.4 * 3.52)
    assert metrics["expectancy_ratio"] == pytest.approx((1 + (17 / 3) / 3.52) * 0.6 - 1)
    assert summary["rejected_entries"] == {"leverage_above_tier": 1}
    # the market: 100 → 110, +10 %, buy and hold the same (one pair)
    assert summary["market"]["change"] == pytest.approx(0.1)
    assert summary["market"]["buy_and_hold_return"] == pytest.approx(0.1)
    assert bundle.series["buy_and_hold"].iloc[-1] == pytest.approx(11_000.0)
    [pair] = summary["per_pair"]
    assert pair["leverage"] == 50.0 and pair["market_change"] == pytest.approx(0.1)
    # under 30 days: nothing annualised
    assert metrics["days"] == pytest.approx(15 / 24)
    assert all(metrics[k] is None for k in ("cagr", "sharpe", "sortino", "calmar"))  # NaN in JSON


def test_terminal_and_report_show_the_journal() -> None:
    result, data = journal_run()
    bundle = bundle_from_result(result, data, INFO)  # type: ignore[arg-type]
    console = Console(width=80, record=True, color_system=None)
    render_summary(bundle.summary, console)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    for reason in REASONS:
        assert re.search(rf"^ {reason} +1 ", text, re.M), reason
    assert "entries refused  1 leverage above tier" in text
    assert "Sharpe               n/a (< 30 days)" in text
    page = render_report(bundle)
    table = re.search(r'id="trades-table">(.*?)</table>', page, re.S)
    assert table is not None
    rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)[1:]
    assert [re.findall(r">([a-z_]+)</td>", row)[-1] for row in rows] == REASONS
    assert table.group(1).count("data-sort") == 16  # every column sorts
    assert 'id="exits-table"' in page and "buy &amp; hold" in page


def test_plausibility_warnings() -> None:
    # two bars of one pair, ranges 10 % and 20 % of the low: perfect foresight at 10x grows
    # the equity at most (1 + 10·0.1)·(1 + 10·0.2) = 6-fold
    prices = pd.DataFrame(
        {"time": [0, 1], "high": [110.0, 120.0], "low": [100.0, 100.0], "close": [105.0, 110.0]}
    )
    assert foresight_bound(prices, 10.0) == pytest.approx(6.0)
    fine = {"initial_equity": 100.0, "final_equity": 590.0, "trades": 2, "win_rate": 1.0}
    assert plausibility_warnings(fine, prices, 10.0) == []
    beyond = plausibility_warnings({**fine, "final_equity": 610.0}, prices, 10.0)
    assert len(beyond) == 1 and "6.1-fold" in beyond[0] and "levtrade lookahead" in beyond[0]
    # 60 trades, 59 won (98.3 %): flagged; 50 won (83 %): not
    many = {**fine, "trades": 60, "win_rate": 59 / 60, "profit_factor": 2.0}
    assert "98.3% of 60 trades won" in plausibility_warnings(many, prices, 10.0)[0]
    assert plausibility_warnings({**many, "win_rate": 50 / 60}, prices, 10.0) == []
    # a profit factor of 25 over 60 trades is flagged too; over 40 trades it is not
    lucky = {**many, "win_rate": 0.7, "profit_factor": 25.0}
    assert "profit factor of 25.0 over 60 trades" in plausibility_warnings(lucky, prices, 10.0)[0]
    assert plausibility_warnings({**lucky, "trades": 40}, prices, 10.0) == []


def test_each_note_once_and_per_pair_notes_merged() -> None:
    notes = [
        "BTC/USDT:USDT: no mark-price candles; the trade candles stand in for the mark",
        "ETH/USDT:USDT: no mark-price candles; the trade candles stand in for the mark",
        "ignored FreqTrade settings: bot_name",
        "ignored FreqTrade settings: bot_name",
    ]
    assert merged_notes(notes) == [
        "BTC/USDT:USDT, ETH/USDT:USDT: no mark-price candles; the trade candles stand in for "
        "the mark",
        "ignored FreqTrade settings: bot_name",
    ]


def test_first_day_returns_count_from_the_wallet() -> None:
    # buy and hold is the wallet's value, not a price: it starts at the wallet on bar 0
    result, data = journal_run()
    bundle = bundle_from_result(result, data, INFO)  # type: ignore[arg-type]
    assert bundle.series["buy_and_hold"].iloc[0] == pytest.approx(10_000.0)
    assert np.all(bundle.series["time"].to_numpy() == T0 + HOUR * np.arange(len(BARS)))
