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

from levtrade.report.atomic import write_text_atomic
from levtrade.report.formatting import (
    MARGIN_NOTE,
    METRIC_LABELS,
    METRIC_NOTES,
    SYNTHETIC_LABEL,
    fmt_duration,
    fmt_metric,
    fmt_money,
    fmt_move,
    fmt_pct,
    fmt_price,
    fmt_ratio,
    fmt_time,
    leverage_text,
    margin_rows,
)
from levtrade.report.tables import INDICATOR_PREFIX, ResultBundle

__all__ = ["CANDLESTICK_MAX_BARS", "chart_figures", "render_report", "write_report"]

CANDLESTICK_MAX_BARS = 2000
"""Up to this many bars a pair's price is drawn as candles, beyond it as a close line."""
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
EXIT_SYMBOLS = {
    "signal": "circle",
    "stop_loss": "square",
    "trailing_stop": "square-open",
    "take_profit": "star",
    "roi": "star",
    "close": "diamond",
    "end_of_data": "circle-open",
    "order": "circle",
}
"""Marker of an exit by its reason; its colour says whether the trade made money."""
PROFIT_COLOR = "#2e7d32"
LOSS_COLOR = "#c62828"
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

SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th[data-sort]").forEach(function (th, column) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var ascending = th.getAttribute("data-order") !== "asc";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("data-order"); });
      th.setAttribute("data-order", ascending ? "asc" : "desc");
      rows.sort(function (a, b) {
        var x = a.cells[column].getAttribute("data-key");
        var y = b.cells[column].getAttribute("data-key");
        var nx = parseFloat(x), ny = parseFloat(y);
        var order = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : String(x).localeCompare(String(y));
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
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
table.sortable th[data-sort] { cursor: pointer; user-select: none; }
table.sortable th[data-order="asc"]::after { content: " ▲"; }
table.sortable th[data-order="desc"]::after { content: " ▼"; }
.scroll { max-height: 520px; overflow: auto; }
.warning { background: #ffebee; color: #b71c1c; font-weight: 600; padding: 8px 12px;
           border-radius: 4px; margin: 8px 0; }
.market { font-size: 15px; margin: 6px 0; }
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


def _indicator_panels(
    prices: pd.DataFrame, plot_config: Mapping[str, Any]
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, dict[str, Any]]]]:
    """(indicators over the price, subplots) by column name with their style: FreqTrade's
    ``plot_config`` when the strategy has one, else every indicator column, over the price
    when its values lie within half and twice the price, in an "indicators" subplot
    otherwise."""
    present = [c[len(INDICATOR_PREFIX) :] for c in prices.columns if c.startswith(INDICATOR_PREFIX)]
    main: dict[str, dict[str, Any]] = {}
    subplots: dict[str, dict[str, dict[str, Any]]] = {}
    if plot_config:
        for name, style in dict(plot_config.get("main_plot") or {}).items():
            if name in present:
                main[str(name)] = dict(style or {})
        for title, columns in dict(plot_config.get("subplots") or {}).items():
            shown = {
                str(n): dict(style or {})
                for n, style in dict(columns or {}).items()
                if n in present
            }
            if shown:
                subplots[str(title)] = shown
        return main, subplots
    close = float(np.nanmedian(_values(prices, "close"))) if len(prices) else math.nan
    for name in present:
        values = _values(prices, INDICATOR_PREFIX + name)
        level = float(np.nanmedian(values)) if np.isfinite(values).any() else math.nan
        if math.isfinite(level) and 0.5 * close <= level <= 2.0 * close:
            main[name] = {}
        elif math.isfinite(level):
            subplots.setdefault("indicators", {})[name] = {}
    return main, subplots


def _profit_color(pnl: float) -> str:
    return PROFIT_COLOR if pnl > 0 else LOSS_COLOR


def _price_figure(bundle: ResultBundle, pair: str, color: str) -> go.Figure:
    prices = bundle.prices[bundle.prices["symbol"] == pair]
    times = prices["time"].to_numpy(dtype=np.int64)
    main, subplots = _indicator_panels(prices, bundle.summary.get("plot_config") or {})
    has_volume = "volume" in prices.columns and bool(np.nansum(_values(prices, "volume")) > 0)
    rows = 1 + int(has_volume) + len(subplots)
    heights = [
        0.62,
        *([0.14] if has_volume else []),
        *([0.24 / max(1, len(subplots))] * len(subplots)),
    ]
    figure = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.03,
        row_heights=[h / sum(heights) for h in heights],
    )
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
            ),
            row=1,
            col=1,
        )
    else:
        figure.add_trace(
            go.Scatter(
                x=times,
                y=_values(prices, "close"),
                mode="lines",
                name="close",
                line={"color": color, "width": 1.2},
            ),
            row=1,
            col=1,
        )
    for k, (name, style) in enumerate(main.items()):
        figure.add_trace(
            go.Scatter(
                x=times,
                y=_finite(_values(prices, INDICATOR_PREFIX + name)),
                mode="lines",
                name=name,
                line={"color": style.get("color", COLORS[(k + 1) % len(COLORS)]), "width": 1.2},
            ),
            row=1,
            col=1,
        )
    series = bundle.series
    low, high = float(np.nanmin(_values(prices, "low"))), float(np.nanmax(_values(prices, "high")))
    if bundle.summary.get("margin_mode") != "cross":
        for side, sign, line_color in (
            ("long", 1.0, LIQUIDATION_COLOR),
            ("short", -1.0, "#6a1b9a"),
        ):
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
                ),
                row=1,
                col=1,
            )
            near = levels[np.isfinite(levels) & (levels > low * 0.65) & (levels < high * 1.35)]
            if near.size:
                low, high = min(low, float(near.min())), max(high, float(near.max()))
    trades = bundle.trades[bundle.trades["symbol"] == pair] if len(bundle.trades) else None
    if trades is not None and len(trades):
        pnl = _values(trades, "pnl")
        for side, symbol in (("long", "triangle-up"), ("short", "triangle-down")):
            mine = (trades["side"] == side).to_numpy()
            if not mine.any():
                continue
            own = trades[mine]
            figure.add_trace(
                go.Scatter(
                    x=own["entry_time"].to_numpy(dtype=np.int64),
                    y=_values(own, "entry_price"),
                    mode="markers",
                    name=f"{side} entry",
                    marker={
                        "symbol": symbol,
                        "size": 11,
                        "color": [_profit_color(v) for v in pnl[mine]],
                        "line": {"width": 1, "color": "#1d2330"},
                    },
                    text=[
                        f"{side} {size:.6g} @ {fmt_price(price)}, {lev:g}x; trade PnL "
                        f"{fmt_money(value)}"
                        for size, price, lev, value in zip(
                            own["size"], own["entry_price"], own["leverage"], pnl[mine], strict=True
                        )
                    ],
                    hoverinfo="text+x",
                ),
                row=1,
                col=1,
            )
        for reason, own in trades.groupby("exit_reason", sort=True):
            liquidation = reason == "liquidation"
            values = _values(own, "pnl")
            figure.add_trace(
                go.Scatter(
                    x=own["exit_time"].to_numpy(dtype=np.int64),
                    y=_values(own, "exit_price"),
                    mode="markers",
                    name="liquidation" if liquidation else f"exit ({reason})",
                    marker={
                        "symbol": "x" if liquidation else EXIT_SYMBOLS.get(str(reason), "circle"),
                        "size": 14 if liquidation else 9,
                        "color": LIQUIDATION_COLOR
                        if liquidation
                        else [_profit_color(v) for v in values],
                        "line": {"width": 1.5, "color": "#1d2330"},
                    },
                    text=[
                        f"{reason}: {side} exit @ {fmt_price(price)}, PnL {fmt_money(value)}"
                        for side, price, value in zip(
                            own["side"], own["exit_price"], values, strict=True
                        )
                    ],
                    hoverinfo="text+x",
                ),
                row=1,
                col=1,
            )
    row = 2
    if has_volume:
        closes, opens = _values(prices, "close"), _values(prices, "open")
        figure.add_trace(
            go.Bar(
                x=times,
                y=_values(prices, "volume"),
                name="volume",
                marker={"color": np.where(closes >= opens, "#80cbc4", "#ef9a9a").tolist()},
                showlegend=False,
            ),
            row=row,
            col=1,
        )
        figure.update_yaxes(title_text="volume", row=row, col=1)
        row += 1
    for title, columns in subplots.items():
        for k, (name, style) in enumerate(columns.items()):
            figure.add_trace(
                go.Scatter(
                    x=times,
                    y=_finite(_values(prices, INDICATOR_PREFIX + name)),
                    mode="lines",
                    name=name,
                    line={"color": style.get("color", COLORS[k % len(COLORS)]), "width": 1.2},
                ),
                row=row,
                col=1,
            )
        figure.update_yaxes(title_text=title, row=row, col=1)
        row += 1
    layout = _base_layout(f"{pair} — price, trades and liquidation price", "")
    layout.pop("xaxis")
    layout.pop("yaxis")
    figure.update_layout(layout)
    figure.update_xaxes(type="date", rangeslider_visible=False)
    pad = 0.03 * (high - low) if high > low else 0.03 * abs(high)
    figure.update_yaxes(title_text="price", range=[low - pad, high + pad], row=1, col=1)
    return figure


def _liquidation_marks(
    figure: go.Figure, bundle: ResultBundle, y: pd.Series, row: int | None
) -> None:
    """Each liquidation of the run as a marker on a chart's line ``y`` (indexed by bar time)
    and a vertical line across the chart."""
    rows = bundle.summary.get("liquidations") or []
    if not rows:
        return
    times = np.array([int(r["time"]) for r in rows], dtype=np.int64)
    bar_times = y.index.to_numpy(dtype=np.int64)
    at = np.clip(np.searchsorted(bar_times, times, side="right") - 1, 0, max(0, len(y) - 1))
    values = y.to_numpy(dtype=np.float64)[at] if len(y) else np.full(times.size, np.nan)
    grid = {"row": row, "col": 1} if row is not None else {}
    for t in sorted(set(times.tolist())):
        figure.add_vline(
            x=int(t), line={"color": LIQUIDATION_COLOR, "width": 1, "dash": "dot"}, **grid
        )
    figure.add_trace(
        go.Scatter(
            x=times,
            y=_finite(values),
            mode="markers",
            name="liquidation",
            marker={"symbol": "x", "size": 13, "color": LIQUIDATION_COLOR, "line": {"width": 2}},
            text=[
                f"liquidation {fmt_time(r['time'])}: {r['pair']} {r['side']} "
                f"{float(r['leverage']):g}x at {fmt_price(r['price'])}, PnL {fmt_money(r['pnl'])}"
                for r in rows
            ],
            hoverinfo="text",
        ),
        **grid,
    )


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
    if "buy_and_hold" in series.columns:
        figure.add_trace(
            go.Scatter(
                x=times,
                y=_values(series, "buy_and_hold"),
                mode="lines",
                name="buy & hold (unleveraged)",
                line={"color": "#ef6c00", "width": 1.2, "dash": "dash"},
            ),
            row=1,
            col=1,
        )
    _liquidation_marks(figure, bundle, pd.Series(_values(series, "equity"), index=times), row=1)
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
        if "margin_history" in bundle.analyzers:
            with np.errstate(divide="ignore"):
                worst = 100.0 / _bar_levels(bundle)
            figure.add_trace(
                go.Scatter(
                    x=times,
                    y=_finite(_positive(worst)),
                    mode="lines",
                    name="highest inside the bar (at the adverse mark extremes)",
                    line={"color": "#ef6c00", "width": 1, "dash": "dot"},
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
    # a pool is liquidated where its margin ratio reaches 100 %
    _liquidation_marks(figure, bundle, pd.Series(100.0, index=times), row=None)
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


def _bar_levels(bundle: ResultBundle) -> np.ndarray:
    """The cross margin level per bar as the margin analyzers measure it (the lowest inside
    the bar, :func:`levtrade.risk.monitors.bar_levels`), else at the close."""
    history = bundle.analyzers.get("margin_history")
    if (
        history is not None
        and "margin_level" in history.columns
        and len(history) == len(bundle.series)
    ):
        return _values(history, "margin_level")
    with np.errstate(divide="ignore"):
        return 1.0 / _values(bundle.series, "margin_ratio")


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
    with np.errstate(divide="ignore"):
        worst = 100.0 / _bar_levels(bundle)
    ratios = pd.Series(worst, index=series["time"].to_numpy(dtype=np.int64))
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


def _joint_move_figure(bundle: ResultBundle) -> go.Figure:
    """The cross pool's distance to liquidation as one joint move of every mark."""
    series = bundle.series
    times = series["time"].to_numpy(dtype=np.int64)
    figure = go.Figure()
    for name, label, line_color in (
        ("joint_move_down", "joint fall that liquidates", LOSS_COLOR),
        ("joint_move_up", "joint rise that liquidates", "#6a1b9a"),
    ):
        figure.add_trace(
            go.Scatter(
                x=times,
                y=100.0 * _finite(_values(series, name)),
                mode="lines",
                name=label,
                line={"color": line_color, "width": 1.3},
            )
        )
    _liquidation_marks(figure, bundle, pd.Series(0.0, index=times), row=None)
    layout = _base_layout(
        "Cross pool: the move of every mark together that liquidates it (0 % = liquidated)",
        "joint move %",
    )
    figure.update_layout(layout)
    return figure


def chart_figures(bundle: ResultBundle) -> list[tuple[str, str, go.Figure]]:
    """Every chart of the report as ``(id, section title, figure)``, in page order."""
    pairs = bundle.pairs
    charts: list[tuple[str, str, go.Figure]] = []
    charts.append(("chart-equity", "Equity, buy & hold and drawdown", _equity_figure(bundle)))
    charts.append(("chart-margin", "Margin ratio", _margin_figure(bundle)))
    if "joint_move_down" in bundle.series.columns:
        charts.append(
            ("chart-joint", "Cross pool: joint move to liquidation", _joint_move_figure(bundle))
        )
    for k, pair in enumerate(pairs):
        charts.append((f"chart-price-{k}", pair, _price_figure(bundle, pair, COLORS[k % 8])))
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
    headers: Sequence[tuple[str, bool]],
    rows: Sequence[Sequence[tuple[str, str]]],
    table_id: str,
    keys: Sequence[Sequence[Any]] | None = None,
) -> str:
    """A table; with ``keys`` (one sort key per cell) it sorts by a column when its header is
    clicked."""
    sortable = keys is not None
    head = "".join(
        f'<th class="{"num" if numeric else ""}"{" data-sort" if sortable else ""}>{_esc(h)}</th>'
        for h, numeric in headers
    )
    body = []
    for k, row in enumerate(rows):
        cells = []
        for c, ((text, css), (_, numeric)) in enumerate(zip(row, headers, strict=True)):
            classes = " ".join(x for x in ("num" if numeric else "", css) if x)
            attr = f' class="{classes}"' if classes else ""
            if keys is not None:
                attr += f' data-key="{_esc(_sort_key(keys[k][c]))}"'
            cells.append(f"<td{attr}>{_esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    css = "data sortable" if sortable else "data"
    return (
        f'<table class="{css}" id="{table_id}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _sort_key(value: Any) -> str:
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        number = float(value)
        return "" if math.isnan(number) else repr(number)
    return str(value)


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
    for warning in summary.get("warnings", []):
        parts.append(f'<div class="warning">warning: {_esc(warning)}</div>')
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
            value = fmt_metric(metrics[key], kind, metrics.get("days"))
            css = _signed_class(metrics[key]) if key == "total_return" else ""
            cells.append(
                f'<div class="metric"><span>{_esc(label)}</span>'
                f'<span class="{css}">{_esc(value)}</span></div>'
            )
    cells.append(
        '<div class="metric"><span>Max effective leverage</span>'
        f"<span>{_esc(fmt_ratio(summary.get('max_effective_leverage')))}x</span></div>"
    )
    notes = "".join(f'<p class="notes">{_esc(n)}</p>' for n in METRIC_NOTES)
    return (
        f'<div class="card"><div class="metrics" id="metrics">{"".join(cells)}</div>{notes}</div>'
    )


def _pairs_html(summary: Mapping[str, Any]) -> str:
    headers = [
        ("pair", False),
        ("trades", True),
        ("win rate", True),
        ("PnL", True),
        ("avg PnL %", True),
        ("avg duration", True),
        ("fees", True),
        ("funding", True),
        ("liquidations", True),
        ("leverage traded", True),
        ("max exposure ÷ equity", True),
        ("market change", True),
    ]
    rows = []
    for r in summary.get("per_pair", []):
        traded = r.get("leverage")
        rows.append(
            [
                (str(r["pair"]), ""),
                (str(r["trades"]), ""),
                (fmt_pct(r.get("win_rate")), ""),
                (fmt_money(r.get("pnl")), _signed_class(r.get("pnl"))),
                (fmt_pct(r.get("avg_pnl_pct")), _signed_class(r.get("avg_pnl_pct"))),
                (fmt_duration(r.get("avg_duration_ms")), ""),
                (fmt_money(r.get("fees")), ""),
                (fmt_money(r.get("funding")), _signed_class(r.get("funding"))),
                (str(r.get("liquidations", 0)), "neg" if r.get("liquidations") else ""),
                ("—" if traded is None else f"{float(traded):g}x", ""),
                (f"{fmt_ratio(r.get('max_exposure'))}x", ""),
                (fmt_pct(r.get("market_change")), _signed_class(r.get("market_change"))),
            ]
        )
    return f'<div class="card">{_table(headers, rows, "pairs-table")}</div>'


def _comparison_html(summary: Mapping[str, Any]) -> str:
    rows = summary.get("leverage_comparison") or []
    if not rows:
        return ""
    headers = [
        ("leverage", True),
        ("return", True),
        ("max drawdown", True),
        ("liquidations", True),
        ("funding paid", True),
        ("funding received", True),
        ("fees", True),
        ("entries refused", True),
    ]
    body = [
        [
            (f"{float(r['leverage']):g}x", ""),
            (fmt_pct(r.get("total_return")), _signed_class(r.get("total_return"))),
            (fmt_pct(r.get("max_drawdown")), ""),
            (str(r.get("liquidations", 0)), "neg" if r.get("liquidations") else ""),
            (fmt_money(r.get("funding_paid")), ""),
            (fmt_money(r.get("funding_received")), ""),
            (fmt_money(r.get("fees")), ""),
            (str(r.get("rejected_entries", 0)), ""),
        ]
        for r in rows
    ]
    market = (summary.get("market") or {}).get("buy_and_hold_return")
    return (
        f"<h2>Leverage at work: the same strategy at {len(rows)} leverages</h2>"
        f'<div class="card">{_table(headers, body, "comparison-table")}'
        f'<p class="notes">Buy &amp; hold over the same bars: {_esc(fmt_pct(market))} '
        "(the wallet split equally over the pairs, held unleveraged). This page shows the "
        f"{float(summary.get('leverage') or 1):g}x run.</p></div>"
    )


def _market_html(summary: Mapping[str, Any]) -> str:
    market = summary.get("market") or {}
    if market.get("buy_and_hold_return") is None:
        return ""
    total = summary.get("metrics", {}).get("total_return")
    moves = ", ".join(
        f"{pair} {fmt_move(change)}" for pair, change in (market.get("by_pair") or {}).items()
    )
    return (
        f'<div class="market" id="market">Strategy <b class="{_signed_class(total)}">'
        f"{_esc(fmt_pct(total))}</b> vs. buy &amp; hold <b "
        f'class="{_signed_class(market["buy_and_hold_return"])}">'
        f"{_esc(fmt_pct(market['buy_and_hold_return']))}</b> "
        f'<span class="facts">(market change: {_esc(moves)})</span></div>'
    )


def _exit_reasons_html(summary: Mapping[str, Any]) -> str:
    rows = (summary.get("trade_stats") or {}).get("exit_reasons") or []
    if not rows:
        return ""
    headers = [
        ("exit reason", False),
        ("trades", True),
        ("wins", True),
        ("losses", True),
        ("PnL", True),
        ("avg PnL %", True),
        ("avg duration", True),
    ]
    body = [
        [
            (str(r["reason"]), "neg" if r["reason"] == "liquidation" else ""),
            (str(r["trades"]), ""),
            (str(r["wins"]), ""),
            (str(r["losses"]), ""),
            (fmt_money(r.get("pnl")), _signed_class(r.get("pnl"))),
            (fmt_pct(r.get("avg_pnl_pct")), _signed_class(r.get("avg_pnl_pct"))),
            (fmt_duration(r.get("avg_duration_ms")), ""),
        ]
        for r in rows
    ]
    return f'<h2>Exit reasons</h2><div class="card">{_table(headers, body, "exits-table")}</div>'


def _overview_html(summary: Mapping[str, Any]) -> str:
    stats = summary.get("trade_stats") or {}
    if not stats.get("best_trade"):
        return ""
    metrics = summary.get("metrics", {})
    durations = stats.get("durations") or {}
    rows: list[tuple[str, str]] = [
        (
            "average duration",
            f"{fmt_duration(durations.get('all'))} (winners "
            f"{fmt_duration(durations.get('winners'))}, losers "
            f"{fmt_duration(durations.get('losers'))})",
        )
    ]
    for label, key in (("best trade", "best_trade"), ("worst trade", "worst_trade")):
        t = stats[key]
        rows.append(
            (
                label,
                f"{t['pair']} {t['side']} {fmt_pct(t['pnl_pct'])} ({fmt_money(t['pnl'])}, "
                f"{t['exit_reason']}, {fmt_time(t['exit_time'])})",
            )
        )
    for label, key in (("best pair", "best_pair"), ("worst pair", "worst_pair")):
        pair = stats.get(key)
        if pair:
            rows.append((label, f"{pair['pair']} {fmt_money(pair['pnl'])}"))
    for side in stats.get("sides") or []:
        rows.append(
            (
                f"{side['side']}s",
                f"{side['trades']} trades, {side['wins']} won ({fmt_pct(side['win_rate'])}), "
                f"PnL {fmt_money(side['pnl'])}, avg {fmt_pct(side.get('avg_pnl_pct'))}",
            )
        )
    rows.append(
        (
            "expectancy",
            f"{fmt_money(metrics.get('expectancy'))} per trade (ratio "
            f"{fmt_ratio(metrics.get('expectancy_ratio'))})",
        )
    )
    refused = summary.get("rejected_entries") or {}
    text = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in refused.items())
    rows.append(("entries refused", text or "none"))
    table = _table(
        [("", False), ("", False)], [[(a, ""), (b, "")] for a, b in rows], "overview-table"
    )
    return f'<h2>Trades overview</h2><div class="card">{table}</div>'


def _trades_html(bundle: ResultBundle) -> str:
    trades = bundle.trades
    headers = [
        ("#", True),
        ("pair", False),
        ("side", False),
        ("leverage", True),
        ("entry (UTC)", False),
        ("entry price", True),
        ("exit (UTC)", False),
        ("exit price", True),
        ("liq. price at entry", True),
        ("size", True),
        ("PnL", True),
        ("PnL %", True),
        ("fees", True),
        ("funding", True),
        ("exit reason", False),
        ("duration", True),
    ]
    rows, keys = [], []
    n = len(trades)
    nan = np.full(n, np.nan)
    pcts = _values(trades, "pnl_pct") if "pnl_pct" in trades.columns else nan
    liqs = _values(trades, "liquidation_price") if "liquidation_price" in trades.columns else nan
    columns = zip(
        trades["symbol"].astype(str),
        trades["side"].astype(str),
        _values(trades, "leverage"),
        trades["entry_time"].to_numpy(dtype=np.int64),
        _values(trades, "entry_price"),
        trades["exit_time"].to_numpy(dtype=np.int64),
        _values(trades, "exit_price"),
        liqs,
        _values(trades, "size"),
        _values(trades, "pnl"),
        pcts,
        _values(trades, "fees"),
        _values(trades, "funding"),
        trades["exit_reason"].astype(str),
        strict=True,
    )
    for k, row in enumerate(columns):
        symbol, side, lev, entry, entry_price, exit_, exit_price, liq, size = row[:9]
        pnl, pct, fees, funding, reason = row[9:]
        duration = int(exit_) - int(entry)
        rows.append(
            [
                (str(k + 1), ""),
                (symbol, ""),
                (side, ""),
                (f"{lev:g}x", ""),
                (fmt_time(int(entry)), ""),
                (fmt_price(entry_price), ""),
                (fmt_time(int(exit_)), ""),
                (fmt_price(exit_price), ""),
                (fmt_price(liq), ""),
                (f"{size:,.6g}", ""),
                (fmt_money(pnl), _signed_class(pnl)),
                (fmt_pct(pct), _signed_class(pct)),
                (fmt_money(fees), ""),
                (fmt_money(funding), _signed_class(funding)),
                (reason, "neg" if reason == "liquidation" else ""),
                (fmt_duration(duration), ""),
            ]
        )
        keys.append(
            [
                k + 1,
                symbol,
                side,
                lev,
                int(entry),
                entry_price,
                int(exit_),
                exit_price,
                liq,
                size,
                pnl,
                pct,
                fees,
                funding,
                reason,
                duration,
            ]
        )
    table = _table(headers, rows, "trades-table", keys)
    return (
        f"<h2>Trades ({len(trades)})</h2>"
        '<p class="notes">Click a column to sort. PnL is net of fees and funding; PnL % is of '
        "the trade's stake (its margin at entry); the liquidation price is the one the "
        "position had at the close of its entry bar.</p>"
        f'<div class="card scroll">{table}</div>'
    )


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
    scripts: list[str] = []

    def place(group: list[tuple[str, str, go.Figure]]) -> list[str]:
        placed = []
        for chart_id, heading, figure in group:
            tall = " tall" if chart_id == "chart-equity" else ""
            placed.append(f"<h2>{_esc(heading)}</h2>")
            placed.append(
                f'<div class="card"><div class="chart{tall}" id="{chart_id}" data-chart>'
                "</div></div>"
            )
            scripts.append(f"levtradePlot({json.dumps(chart_id)}, {_figure_json(figure)});")
        return placed

    account = [c for c in charts if c[0] in ("chart-equity", "chart-margin", "chart-joint")]
    others = [c for c in charts if c not in account]
    # the account first (what the run did), then the journal, then each pair's chart
    sections: list[str] = [_header_html(summary), _comparison_html(summary)]
    sections += ["<h2>Metrics</h2>", _market_html(summary), _metrics_html(summary)]
    sections += place(account)
    count = len(summary.get("liquidations", []))
    sections += [f"<h2>Liquidations ({count})</h2>", _liquidations_html(summary)]
    if margin_rows(summary):
        sections += ["<h2>Margin</h2>", _margin_html(summary)]
    sections += ["<h2>Per pair</h2>", _pairs_html(summary), _exit_reasons_html(summary)]
    sections += [_overview_html(summary), _trades_html(bundle)]
    sections += place(others)
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
            SORT_SCRIPT,
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
