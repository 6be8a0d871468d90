"""The HTML report of a backtest: one self-contained file with Plotly charts.

:func:`render_report` builds the page from a :class:`~levtrade.report.tables.ResultBundle`
(a finished run, or a results directory read back by ``levtrade report``):

* the run's facts, notes and metrics, the per-pair table, every liquidation and the margin
  analyzers' figures (the Margin table: margin calls, minimum margin level, time below each
  threshold, liquidations, funding, maximum effective leverage, distance to liquidation);
* per pair, the price with entries, exits and liquidations marked and each open position's
  liquidation price drawn as a line (``liq:<pair>`` of the series);
* equity and drawdown; the margin ratio with the liquidation threshold (maintenance margin ÷
  equity reaching 100 %: the cross account's, or each isolated position's), the margin-call
  level and each margin call (the ``margin_calls`` analyzer's episodes: a marker where the
  level fell below it, the episode shaded); cumulative funding per pair; effective leverage
  (Σ |notional| ÷ equity).

plotly.js is inlined (the page needs no network). A small script at the top of the page
records JavaScript errors and ``console.error`` calls into ``#levtrade-errors`` (shown when not
empty) and counts rendered charts in ``<body data-charts-rendered>``, so a headless browser can
check the page.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from levtrade.report.files import write_text_atomic
from levtrade.report.formatting import (
    MARGIN_NOTE,
    METRIC_LABELS,
    SYNTHETIC_LABEL,
    fmt_metric,
    fmt_money,
    fmt_pct,
    fmt_price,
    fmt_ratio,
    fmt_time,
    leverage_text,
    margin_rows,
)
from levtrade.report.tables import ResultBundle

__all__ = ["CANDLESTICK_MAX_BARS", "chart_figures", "render_report", "write_report"]

CANDLESTICK_MAX_BARS = 2000
"""Up to this many bars a pair's price is drawn as candles, beyond it as a close line."""
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
EXIT_COLORS = {
    "signal": "#555555",
    "stop_loss": "#d62728",
    "trailing_stop": "#d62728",
    "take_profit": "#2ca02c",
    "roi": "#2ca02c",
    "end_of_data": "#999999",
    "order": "#555555",
}
LIQUIDATION_COLOR = "#b00020"
MARGIN_CALL_COLOR = "#ef6c00"

ERROR_HOOK = """
window.levtradeErrors = [];
(function () {
  function show() {
    var box = document.getElementById("levtrade-errors");
    if (box && window.levtradeErrors.length) {
      box.textContent = window.levtradeErrors.join("\\n");
      box.hidden = false;
    }
  }
  window.levtradeRecordError = function (message) {
    window.levtradeErrors.push(String(message));
    show();
  };
  window.addEventListener("error", function (event) {
    window.levtradeRecordError("error: " + event.message);
  });
  window.addEventListener("unhandledrejection", function (event) {
    window.levtradeRecordError("unhandled rejection: " + event.reason);
  });
  var original = console.error;
  console.error = function () {
    window.levtradeRecordError(
      "console.error: " + Array.prototype.map.call(arguments, String).join(" "));
    return original.apply(console, arguments);
  };
  document.addEventListener("DOMContentLoaded", show);
})();
"""

PLOT_FUNCTION = """
window.levtradeRendered = 0;
function levtradePlot(id, figure) {
  try {
    Plotly.newPlot(id, figure.data, figure.layout,
                   {responsive: true, displaylogo: false}).then(function () {
      window.levtradeRendered += 1;
      document.body.setAttribute("data-charts-rendered", String(window.levtradeRendered));
    }, function (error) {
      window.levtradeRecordError("plot " + id + ": " + error);
    });
  } catch (error) {
    window.levtradeRecordError("plot " + id + ": " + error);
  }
}
"""

STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       margin: 0; color: #1d2330; background: #f5f6f8; }
main { max-width: 1280px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
.facts { color: #4a5263; font-size: 14px; line-height: 1.5; }
.synthetic { background: #ffd54f; color: #3e2d00; font-weight: 600; padding: 8px 12px;
             border-radius: 4px; margin: 8px 0; }
.notes { color: #7a5b00; font-size: 13px; }
.card { background: #fff; border-radius: 6px; box-shadow: 0 1px 3px rgba(0,0,0,.12);
        padding: 12px 16px; margin: 12px 0; }
.metrics { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr));
           gap: 6px 18px; }
.metric { display: flex; justify-content: space-between; font-size: 14px;
          border-bottom: 1px solid #eef0f3; padding: 3px 0; }
.metric span:last-child { font-variant-numeric: tabular-nums; font-weight: 600; }
table.data { border-collapse: collapse; width: 100%; font-size: 13px; }
table.data th, table.data td { padding: 4px 8px; border-bottom: 1px solid #eef0f3; }
table.data th { text-align: left; color: #4a5263; font-weight: 600; }
table.data td.num, table.data th.num { text-align: right; font-variant-numeric: tabular-nums; }
.neg { color: #c62828; } .pos { color: #2e7d32; }
.none { color: #2e7d32; font-size: 14px; }
.chart { width: 100%; height: 420px; }
.chart.tall { height: 520px; }
#levtrade-errors { background: #ffebee; color: #b71c1c; padding: 8px 12px; white-space: pre-wrap; }
footer { color: #8a92a3; font-size: 12px; margin-top: 32px; }
"""


# ============================================================================================
# Figures
# ============================================================================================


def _values(frame: pd.DataFrame, name: str) -> np.ndarray:
    return np.asarray(frame[name].to_numpy(dtype=np.float64), dtype=np.float64)


def _finite(values: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(values), values, np.nan)


def _positive(values: np.ndarray) -> np.ndarray:
    """Finite positive values (a log axis shows no zero: no margin in use), NaN elsewhere."""
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


def _base_layout(title: str, yaxis: str) -> dict[str, Any]:
    return {
        "title": {"text": title, "x": 0.01, "y": 0.98, "yanchor": "top", "font": {"size": 15}},
        "template": "plotly_white",
        "margin": {"l": 64, "r": 24, "t": 76, "b": 40},
        "hovermode": "x unified",
        "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0, "xanchor": "left"},
        "xaxis": {"type": "date", "title": {"text": "UTC"}},
        "yaxis": {"title": {"text": yaxis}},
    }


def _liquidation_levels(series: pd.DataFrame, pair: str, sign: float) -> np.ndarray | None:
    """The pair's liquidation price on bars holding a position on one side (``sign`` 1: long,
    -1: short), NaN elsewhere, so each side's line breaks between positions."""
    liq, notional = f"liq:{pair}", f"notional:{pair}"
    if liq not in series.columns or notional not in series.columns:
        return None
    held = np.sign(_values(series, notional)) == sign
    if not held.any():
        return None
    return np.where(held, _finite(_values(series, liq)), np.nan)


def _price_figure(bundle: ResultBundle, pair: str, color: str) -> go.Figure:
    prices = bundle.prices[bundle.prices["symbol"] == pair]
    times = prices["time"].to_numpy(dtype=np.int64)
    figure = go.Figure()
    if len(prices) <= CANDLESTICK_MAX_BARS:
        figure.add_trace(
            go.Candlestick(
                x=times,
                open=_values(prices, "open"),
                high=_values(prices, "high"),
                low=_values(prices, "low"),
                close=_values(prices, "close"),
                name="price",
                increasing={"line": {"color": "#26a69a"}},
                decreasing={"line": {"color": "#ef5350"}},
            )
        )
    else:
        figure.add_trace(
            go.Scatter(
                x=times,
                y=_values(prices, "close"),
                mode="lines",
                name="close",
                line={"color": color, "width": 1.2},
            )
        )
    series = bundle.series
    low, high = float(np.nanmin(_values(prices, "low"))), float(np.nanmax(_values(prices, "high")))
    for side, sign, line_color in (("long", 1.0, LIQUIDATION_COLOR), ("short", -1.0, "#6a1b9a")):
        levels = _liquidation_levels(series, pair, sign)
        if levels is None:
            continue
        figure.add_trace(
            go.Scatter(
                x=series["time"].to_numpy(dtype=np.int64),
                y=levels,
                mode="lines",
                name=f"liquidation price ({side})",
                line={"color": line_color, "width": 1.4, "dash": "dash"},
                connectgaps=False,
            )
        )
        near = levels[np.isfinite(levels) & (levels > low * 0.65) & (levels < high * 1.35)]
        if near.size:
            low, high = min(low, float(near.min())), max(high, float(near.max()))
    trades = bundle.trades[bundle.trades["symbol"] == pair] if len(bundle.trades) else None
    if trades is not None and len(trades):
        for side, symbol, marker_color in (
            ("long", "triangle-up", "#2e7d32"),
            ("short", "triangle-down", "#c62828"),
        ):
            own = trades[trades["side"] == side]
            if not len(own):
                continue
            figure.add_trace(
                go.Scatter(
                    x=own["entry_time"].to_numpy(dtype=np.int64),
                    y=_values(own, "entry_price"),
                    mode="markers",
                    name=f"{side} entry",
                    marker={
                        "symbol": symbol,
                        "size": 10,
                        "color": marker_color,
                        "line": {"width": 1, "color": "#ffffff"},
                    },
                    text=[
                        f"{side} {size:.6g} @ {fmt_price(price)}, {lev:g}x"
                        for size, price, lev in zip(
                            own["size"], own["entry_price"], own["leverage"], strict=True
                        )
                    ],
                    hoverinfo="text+x",
                )
            )
        for reason, own in trades.groupby("exit_reason", sort=True):
            liquidation = reason == "liquidation"
            figure.add_trace(
                go.Scatter(
                    x=own["exit_time"].to_numpy(dtype=np.int64),
                    y=_values(own, "exit_price"),
                    mode="markers",
                    name="liquidation" if liquidation else f"exit ({reason})",
                    marker={
                        "symbol": "x" if liquidation else "circle-open",
                        "size": 14 if liquidation else 8,
                        "color": LIQUIDATION_COLOR
                        if liquidation
                        else EXIT_COLORS.get(str(reason), "#555555"),
                        "line": {"width": 2},
                    },
                    text=[
                        f"{reason}: {side} exit @ {fmt_price(price)}, PnL {fmt_money(pnl)}"
                        for side, price, pnl in zip(
                            own["side"], own["exit_price"], own["pnl"], strict=True
                        )
                    ],
                    hoverinfo="text+x",
                )
            )
    layout = _base_layout(f"{pair} — price, trades and liquidation price", "price")
    layout["xaxis"]["rangeslider"] = {"visible": False}
    pad = 0.03 * (high - low) if high > low else 0.03 * abs(high)
    layout["yaxis"]["range"] = [low - pad, high + pad]
    figure.update_layout(layout)
    return figure


def _equity_figure(bundle: ResultBundle) -> go.Figure:
    series = bundle.series
    times = series["time"].to_numpy(dtype=np.int64)
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.06
    )
    figure.add_trace(
        go.Scatter(
            x=times,
            y=_values(series, "equity"),
            mode="lines",
            name="equity",
            line={"color": "#1f77b4", "width": 1.6},
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=times,
            y=_values(series, "wallet"),
            mode="lines",
            name="cross wallet",
            line={"color": "#9aa5b8", "width": 1, "dash": "dot"},
        ),
        row=1,
        col=1,
    )
    figure.add_trace(
        go.Scatter(
            x=times,
            y=-100.0 * _values(series, "drawdown"),
            mode="lines",
            name="drawdown",
            fill="tozeroy",
            line={"color": "#c62828", "width": 1},
        ),
        row=2,
        col=1,
    )
    layout = _base_layout("Equity and drawdown", "")
    layout.pop("xaxis")
    layout.pop("yaxis")
    figure.update_layout(layout)
    figure.update_xaxes(type="date")
    figure.update_xaxes(title_text="UTC", row=2, col=1)
    figure.update_yaxes(title_text="equity", row=1, col=1)
    figure.update_yaxes(title_text="drawdown %", row=2, col=1)
    return figure


def _margin_figure(bundle: ResultBundle) -> go.Figure:
    series = bundle.series
    times = series["time"].to_numpy(dtype=np.int64)
    figure = go.Figure()
    isolated = [c for c in series.columns if c.startswith("margin_ratio:")]
    if isolated:
        for k, name in enumerate(isolated):
            values = _positive(100.0 * _values(series, name))
            figure.add_trace(
                go.Scatter(
                    x=times,
                    y=_finite(values),
                    mode="lines",
                    name=f"{name.split(':', 1)[1]} (isolated)",
                    line={"color": COLORS[k % len(COLORS)], "width": 1.3},
                )
            )
        title = "Margin ratio of each isolated position (maintenance margin ÷ position equity)"
    else:
        values = _positive(100.0 * _values(series, "margin_ratio"))
        figure.add_trace(
            go.Scatter(
                x=times,
                y=_finite(values),
                mode="lines",
                name="cross margin ratio",
                line={"color": "#1f77b4", "width": 1.4},
            )
        )
        title = "Margin ratio (cross maintenance margin ÷ cross equity)"
    figure.add_shape(
        type="line",
        xref="paper",
        x0=0,
        x1=1,
        y0=100.0,
        y1=100.0,
        line={"color": LIQUIDATION_COLOR, "dash": "dash", "width": 1.5},
    )
    figure.add_annotation(
        xref="paper",
        x=0.0,
        xanchor="left",
        y=2.0,  # log10(100): annotations on a log axis are placed in log units
        yanchor="bottom",
        text="liquidation at 100 %",
        showarrow=False,
        font={"color": LIQUIDATION_COLOR, "size": 12},
    )
    if not isolated:
        _margin_calls(figure, bundle)
    layout = _base_layout(title, "margin ratio % (log scale)")
    shown = [
        v
        for trace in figure.data
        for v in np.asarray(trace.y, dtype=np.float64)
        if math.isfinite(v) and v > 0
    ]
    bottom = min([0.1, *shown]) if shown else 0.1
    top = max([200.0, *shown]) if shown else 200.0
    layout["yaxis"].update(type="log", range=[math.log10(bottom) - 0.1, math.log10(top) + 0.1])
    figure.update_layout(layout)
    return figure


def _margin_calls(figure: go.Figure, bundle: ResultBundle) -> None:
    """The margin-call level as a line (ratio 100 % ÷ level) and each margin call of the
    ``margin_calls`` analyzer: a marker at the bar the margin level fell below the level, the
    episode shaded up to the first bar back above it."""
    margin = bundle.summary.get("margin")
    level = margin.get("margin_call_level") if isinstance(margin, Mapping) else None
    if isinstance(level, int | float) and level > 1:
        ratio = 100.0 / float(level)
        figure.add_shape(
            type="line",
            xref="paper",
            x0=0,
            x1=1,
            y0=ratio,
            y1=ratio,
            line={"color": MARGIN_CALL_COLOR, "dash": "dot", "width": 1.2},
        )
        figure.add_annotation(
            xref="paper",
            x=1.0,
            xanchor="right",
            y=math.log10(ratio),
            yanchor="top",
            text=f"margin call below level {float(level):g} ({ratio:.1f} %)",
            showarrow=False,
            font={"color": MARGIN_CALL_COLOR, "size": 12},
        )
    calls = bundle.analyzers.get("margin_calls")
    if calls is None or not len(calls) or "start" not in calls.columns:
        return
    series = bundle.series
    ratios = pd.Series(
        _values(series, "margin_ratio"), index=series["time"].to_numpy(dtype=np.int64)
    )
    starts = calls["start"].to_numpy(dtype=np.int64)
    y = 100.0 * ratios.reindex(starts).to_numpy(dtype=np.float64)
    ends = [None if pd.isna(end) else int(end) for end in calls["end"]]
    last = int(series["time"].iloc[-1]) if len(series) else 0
    for start, end in zip(starts, ends, strict=True):
        figure.add_shape(
            type="rect",
            xref="x",
            yref="paper",
            x0=int(start),
            x1=last if end is None else end,
            y0=0,
            y1=1,
            fillcolor=MARGIN_CALL_COLOR,
            opacity=0.12,
            line={"width": 0},
            layer="below",
        )
    text = []
    for k, start in enumerate(starts):
        level_now = 100.0 / y[k] if y[k] > 0 else math.inf
        back = "not back above" if ends[k] is None else f"back above {fmt_time(ends[k])}"
        text.append(
            f"margin call {fmt_time(int(start))}: level {fmt_ratio(level_now)}; minimum "
            f"{fmt_ratio(calls['min_margin_level'].iloc[k])} at "
            f"{fmt_time(int(calls['min_time'].iloc[k]))}; {back}"
        )
    figure.add_trace(
        go.Scatter(
            x=starts,
            y=_finite(y),
            mode="markers",
            name="margin call",
            marker={
                "symbol": "diamond",
                "size": 11,
                "color": MARGIN_CALL_COLOR,
                "line": {"width": 1, "color": "#ffffff"},
            },
            text=text,
            hoverinfo="text",
        )
    )


def _funding_figure(bundle: ResultBundle, pairs: Sequence[str]) -> go.Figure:
    series = bundle.series
    times = series["time"].to_numpy(dtype=np.int64)
    figure = go.Figure()
    for k, pair in enumerate(pairs):
        name = f"funding:{pair}"
        if name in series.columns:
            figure.add_trace(
                go.Scatter(
                    x=times,
                    y=_values(series, name),
                    mode="lines",
                    name=pair,
                    line={"color": COLORS[k % len(COLORS)], "width": 1.2},
                )
            )
    if "funding" in series.columns:
        figure.add_trace(
            go.Scatter(
                x=times,
                y=_values(series, "funding"),
                mode="lines",
                name="total",
                line={"color": "#1d2330", "width": 2},
            )
        )
    figure.update_layout(
        _base_layout(
            "Cumulative funding (received − paid)",
            bundle.summary.get("stake_currency") or "funding",
        )
    )
    return figure


def _leverage_figure(bundle: ResultBundle) -> go.Figure:
    series = bundle.series
    times = series["time"].to_numpy(dtype=np.int64)
    figure = go.Figure(
        go.Scatter(
            x=times,
            y=_finite(_values(series, "effective_leverage")),
            mode="lines",
            name="effective leverage",
            fill="tozeroy",
            line={"color": "#8e24aa", "width": 1.3},
        )
    )
    layout = _base_layout("Effective leverage (Σ |notional| ÷ equity)", "x equity")
    layout["yaxis"]["rangemode"] = "tozero"
    figure.update_layout(layout)
    return figure


def chart_figures(bundle: ResultBundle) -> list[tuple[str, str, go.Figure]]:
    """Every chart of the report as ``(id, section title, figure)``, in page order."""
    pairs = bundle.pairs
    charts: list[tuple[str, str, go.Figure]] = []
    for k, pair in enumerate(pairs):
        charts.append((f"chart-price-{k}", pair, _price_figure(bundle, pair, COLORS[k % 8])))
    charts.append(("chart-equity", "Equity and drawdown", _equity_figure(bundle)))
    charts.append(("chart-margin", "Margin ratio", _margin_figure(bundle)))
    charts.append(("chart-funding", "Funding", _funding_figure(bundle, pairs)))
    charts.append(("chart-leverage", "Effective leverage", _leverage_figure(bundle)))
    return charts


# ============================================================================================
# The page
# ============================================================================================


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _signed_class(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return ""
    if math.isnan(number) or number == 0:
        return ""
    return "pos" if number > 0 else "neg"


def _table(
    headers: Sequence[tuple[str, bool]], rows: Sequence[Sequence[tuple[str, str]]], table_id: str
) -> str:
    head = "".join(
        f'<th class="num">{_esc(h)}</th>' if numeric else f"<th>{_esc(h)}</th>"
        for h, numeric in headers
    )
    body = []
    for row in rows:
        cells = []
        for (text, css), (_, numeric) in zip(row, headers, strict=True):
            classes = " ".join(c for c in ("num" if numeric else "", css) if c)
            attr = f' class="{classes}"' if classes else ""
            cells.append(f"<td{attr}>{_esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table class="data" id="{table_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _header_html(summary: Mapping[str, Any]) -> str:
    stake = summary.get("stake_amount")
    stake_text = stake if isinstance(stake, str) else fmt_money(stake)
    facts = [
        f"{summary.get('venue')} · {summary.get('trading_mode')} · "
        f"{summary.get('margin_mode')} margin · {summary.get('position_mode')} · "
        f"{summary.get('timeframe')} · {fmt_time(summary.get('start'))} → "
        f"{fmt_time(summary.get('end'))} UTC ({summary.get('bars')} bars)",
        f"pairs {', '.join(summary.get('pairs', []))} · wallet "
        f"{fmt_money(summary.get('wallet'))} {summary.get('stake_currency') or ''} · stake "
        f"{stake_text} · {leverage_text(summary)} · {summary.get('engine')} engine",
        f"strategy {summary.get('strategy')} ({summary.get('strategy_style')}, "
        f"{summary.get('strategy_source')}) · data {summary.get('data_source')}",
    ]
    parts = [f"<h1>levtrade backtest — {_esc(summary.get('strategy'))}</h1>"]
    if summary.get("synthetic"):
        parts.append(f'<div class="synthetic" id="synthetic">{_esc(SYNTHETIC_LABEL)}</div>')
    parts.append('<div class="facts">' + "<br>".join(_esc(f) for f in facts) + "</div>")
    notes = list(summary.get("notes", []))
    if notes:
        items = "".join(f"<li>{_esc(n)}</li>" for n in notes)
        parts.append(f'<ul class="notes">{items}</ul>')
    return "\n".join(parts)


def _metrics_html(summary: Mapping[str, Any]) -> str:
    metrics = summary.get("metrics", {})
    cells = []
    for key, label, kind in METRIC_LABELS:
        if key in metrics:
            value = fmt_metric(metrics[key], kind)
            css = _signed_class(metrics[key]) if key == "total_return" else ""
            cells.append(
                f'<div class="metric"><span>{_esc(label)}</span>'
                f'<span class="{css}">{_esc(value)}</span></div>'
            )
    cells.append(
        '<div class="metric"><span>Max effective leverage</span>'
        f"<span>{_esc(fmt_ratio(summary.get('max_effective_leverage')))}x</span></div>"
    )
    return f'<div class="card metrics" id="metrics">{"".join(cells)}</div>'


def _pairs_html(summary: Mapping[str, Any]) -> str:
    headers = [
        ("pair", False),
        ("trades", True),
        ("win rate", True),
        ("PnL", True),
        ("fees", True),
        ("funding", True),
        ("liquidations", True),
        ("max eff. leverage", True),
    ]
    rows = [
        [
            (str(r["pair"]), ""),
            (str(r["trades"]), ""),
            (fmt_pct(r.get("win_rate")), ""),
            (fmt_money(r.get("pnl")), _signed_class(r.get("pnl"))),
            (fmt_money(r.get("fees")), ""),
            (fmt_money(r.get("funding")), _signed_class(r.get("funding"))),
            (str(r.get("liquidations", 0)), "neg" if r.get("liquidations") else ""),
            (f"{fmt_ratio(r.get('max_effective_leverage'))}x", ""),
        ]
        for r in summary.get("per_pair", [])
    ]
    return f'<div class="card">{_table(headers, rows, "pairs-table")}</div>'


def _liquidations_html(summary: Mapping[str, Any]) -> str:
    rows = summary.get("liquidations", [])
    if not rows:
        return '<div class="card none" id="liquidations-none">No liquidations.</div>'
    headers = [
        ("time (UTC)", False),
        ("pair", False),
        ("side", False),
        ("mode", False),
        ("leverage", True),
        ("entry", True),
        ("liquidated at", True),
        ("size", True),
        ("notional", True),
        ("PnL", True),
    ]
    body = [
        [
            (fmt_time(r.get("time")), ""),
            (str(r["pair"]), ""),
            (str(r["side"]), ""),
            (str(r["margin_mode"]), ""),
            (f"{fmt_ratio(r.get('leverage'))}x", ""),
            (fmt_price(r.get("entry_price")), ""),
            (fmt_price(r.get("price")), ""),
            (f"{float(r['size']):,.6g}", ""),
            (fmt_money(r.get("notional")), ""),
            (fmt_money(r.get("pnl")), "neg"),
        ]
        for r in rows
    ]
    return f'<div class="card">{_table(headers, body, "liquidations-table")}</div>'


def _margin_html(summary: Mapping[str, Any]) -> str:
    rows = [
        [(label, ""), (value, "neg" if style == "bad" else "")]
        for label, value, style in margin_rows(summary)
    ]
    table = _table([("figure", False), ("value", False)], rows, "margin-table")
    return f'<div class="card">{table}<p class="notes">{_esc(MARGIN_NOTE)}</p></div>'


def _figure_json(figure: go.Figure) -> str:
    text = str(pio.to_json(figure, validate=False))
    # keep "</script>" and "<!--" inside strings from ending the script element
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def render_report(bundle: ResultBundle) -> str:
    """The complete HTML page (plotly.js inlined)."""
    summary = bundle.summary
    charts = chart_figures(bundle)
    title = f"levtrade backtest — {summary.get('strategy')}"
    if summary.get("synthetic"):
        title += " (SYNTHETIC DATA)"
    sections: list[str] = [_header_html(summary), "<h2>Metrics</h2>", _metrics_html(summary)]
    sections += ["<h2>Per pair</h2>", _pairs_html(summary)]
    count = len(summary.get("liquidations", []))
    sections += [f"<h2>Liquidations ({count})</h2>", _liquidations_html(summary)]
    if margin_rows(summary):
        sections += ["<h2>Margin</h2>", _margin_html(summary)]
    scripts = []
    for chart_id, heading, figure in charts:
        tall = " tall" if chart_id == "chart-equity" else ""
        sections.append(f"<h2>{_esc(heading)}</h2>")
        sections.append(
            f'<div class="card"><div class="chart{tall}" id="{chart_id}" data-chart></div></div>'
        )
        scripts.append(f"levtradePlot({json.dumps(chart_id)}, {_figure_json(figure)});")
    footer = (
        f"Generated by levtrade {_esc(summary.get('levtrade') or '')}. Prices and times are "
        "UTC; money is in the settle currency."
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta name="generator" content="levtrade {_esc(summary.get("levtrade") or "")}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_esc(title)}</title>",
            f"<script>{ERROR_HOOK}</script>",
            f"<style>{STYLE}</style>",
            f"<script>{get_plotlyjs()}</script>",
            f"<script>{PLOT_FUNCTION}</script>",
            "</head>",
            f'<body data-charts="{len(charts)}" data-charts-rendered="0">',
            '<pre id="levtrade-errors" hidden></pre>',
            "<main>",
            *sections,
            f"<footer>{footer}</footer>",
            "</main>",
            "<script>",
            *scripts,
            "</script>",
            "</body>",
            "</html>",
        ]
    )


def write_report(bundle: ResultBundle, path: str | Path) -> Path:
    """Render and write the report atomically (temporary file renamed into place)."""
    target = Path(path)
    write_text_atomic(target, render_report(bundle))
    return target
