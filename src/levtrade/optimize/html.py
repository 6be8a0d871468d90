"""The HTML page of a sweep: one self-contained file with Plotly charts.

* heatmaps of the objective over two parameters (leverage on one axis when it varies; each
  cell the best variant over the other parameters);
* the liquidation frontier: per value of the other parameter, the share of variants
  liquidated at each leverage, and the lowest leverage at which liquidations start;
* parallel coordinates of every variant, coloured by the objective;
* the top variants (meeting the constraints first) with their equity curves, each rerun as a
  single backtest (only where the strategy and data are at hand: ``levtrade sweep`` draws
  them, ``levtrade sweep show --html`` does not).
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from levtrade.data import MarketData, Portfolio
from levtrade.optimize.evaluate import Evaluator, Segment, Task
from levtrade.optimize.runner import ranked
from levtrade.report.atomic import write_text_atomic
from levtrade.report.html import ERROR_HOOK, PLOT_FUNCTION, STYLE
from levtrade.spec import BacktestConfig


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _score_column(table: pd.DataFrame, info: Mapping[str, Any]) -> str:
    return str(info.get("score_prefix", "")) + str(info.get("objective", "sharpe"))


def _axes(table: pd.DataFrame, params: list[str]) -> tuple[str, str] | None:
    """Two varying parameters for the heatmaps: leverage on the y axis when it varies."""
    varying = [p for p in params if table[p].nunique(dropna=False) > 1]
    if len(varying) < 2:
        return None
    y = "leverage" if "leverage" in varying else varying[1]
    x = next(p for p in varying if p != y)
    return x, y


def _pivot(
    table: pd.DataFrame, x: str, y: str, column: str, how: Literal["max", "min", "mean"]
) -> pd.DataFrame:
    return table.pivot_table(index=y, columns=x, values=column, aggfunc=how, dropna=False)


def _heatmap(frame: pd.DataFrame, x: str, y: str, title: str, scale: str) -> go.Figure:
    figure = go.Figure(
        go.Heatmap(
            z=frame.to_numpy(dtype=float),
            x=[str(v) for v in frame.columns],
            y=[str(v) for v in frame.index],
            colorscale=scale,
            colorbar={"title": title},
            hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{title}=%{{z:.4g}}<extra></extra>",
        )
    )
    figure.update_layout(xaxis_title=x, yaxis_title=y, margin={"t": 30})
    return figure


def _frontier(table: pd.DataFrame, x: str) -> go.Figure:
    """Share of variants liquidated at each (x, leverage), and the lowest leverage with one."""
    liquidated = table.assign(_liq=(table["liquidations"] > 0).astype(float))
    share = _pivot(liquidated, x, "leverage", "_liq", "mean")
    figure = _heatmap(share, x, "leverage", "liquidated share", "Reds")
    levels = [str(v) for v in share.index]  # ascending: the pivot sorts its index
    lowest = [
        next((lev for lev, s in zip(levels, share[c].to_numpy(), strict=True) if s > 0), None)
        for c in share.columns
    ]
    figure.add_trace(
        go.Scatter(
            x=[str(v) for v in share.columns],
            y=lowest,
            mode="lines+markers",
            name="liquidations start",
            line={"color": "black"},
        )
    )
    return figure


def _parallel(table: pd.DataFrame, params: list[str], column: str) -> go.Figure:
    dims = []
    for name in [*params, column]:
        values = table[name]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            codes, labels = pd.factorize(values.astype(str), sort=True)
            dims.append(
                {
                    "label": name,
                    "values": codes,
                    "tickvals": list(range(len(labels))),
                    "ticktext": list(labels),
                }
            )
        else:
            dims.append({"label": name, "values": values.to_numpy(dtype=float)})
    color = table[column].to_numpy(dtype=float)
    return go.Figure(
        go.Parcoords(
            line={
                "color": np.nan_to_num(
                    color, nan=np.nanmin(color) if np.isfinite(color).any() else 0.0
                ),
                "colorscale": "Viridis",
                "showscale": True,
            },
            dimensions=dims,
        )
    )


def _equity_curves(
    best: pd.DataFrame,
    params: list[str],
    info: Mapping[str, Any],
    source: Any,
    data: MarketData | Portfolio,
) -> go.Figure:
    config = BacktestConfig(**info["config"])
    warmup = int(info.get("warmup", 0))
    task = Task(
        source,
        config,
        warmup=warmup,
        engine=str(info.get("engine", "auto")),
        fixed=dict(info.get("fixed_params", {})),
    )
    evaluator = Evaluator(task, data)
    whole = Segment("", 0, len(data) - warmup)
    figure = go.Figure()
    for row in best.to_dict("records"):
        values = {p: row[p] for p in params}
        result = evaluator.backtest(values, whole)
        label = ", ".join(f"{k}={v}" for k, v in values.items())
        figure.add_trace(
            go.Scatter(x=result.series.index, y=result.series["equity"], mode="lines", name=label)
        )
    figure.update_layout(yaxis_title="equity", margin={"t": 30}, legend={"orientation": "h"})
    return figure


def render_sweep_report(
    table: pd.DataFrame,
    *,
    source: Any = None,
    data: MarketData | Portfolio | None = None,
    top: int = 5,
) -> str:
    """The page (see the module docstring)."""
    info: Mapping[str, Any] = table.attrs.get("levtrade.sweep", {})
    params = [p for p in info.get("params", []) if p in table.columns]
    column = _score_column(table, info)
    objective = str(info.get("objective", "sharpe"))
    charts: list[tuple[str, go.Figure]] = []
    flat = table[table["fold"] == table["fold"].min()] if "fold" in table.columns else table
    axes = _axes(flat, params)
    if axes is not None:
        x, y = axes
        how: Literal["max", "min"] = "max" if info.get("maximize", True) else "min"
        charts.append(
            (
                f"{objective} by {x} and {y} (best over the other parameters)",
                _heatmap(_pivot(flat, x, y, column, how), x, y, objective, "Viridis"),
            )
        )
        liq = (
            "liquidations"
            if "liquidations" in flat.columns
            else f"{info.get('score_prefix', '')}liquidations"
        )
        if "leverage" in params and x != "leverage" and liq in flat.columns:
            charts.append(
                (
                    f"Liquidation frontier over {x} and leverage",
                    _frontier(flat.assign(liquidations=flat[liq]), x),
                )
            )
    if params:
        charts.append(("Every variant (parallel coordinates)", _parallel(flat, params, column)))
    best = ranked(table, None).head(top)
    if source is not None and data is not None and len(best) and top:
        charts.append(("Top variants: equity", _equity_curves(best, params, info, source, data)))
    shown = [
        c
        for c in [
            "variant",
            *params,
            column,
            "total_return",
            "max_drawdown",
            "liquidations",
            "feasible",
        ]
        if c in best.columns
    ]
    rows = "".join(
        "<tr>" + "".join(f"<td>{_esc(_fmt(r[c]))}</td>" for c in shown) + "</tr>"
        for r in ranked(table, None).head(max(top, 20))[shown].to_dict("records")
    )
    head = "".join(f"<th>{_esc(c)}</th>" for c in shown)
    facts = [
        ("strategy", info.get("strategy_name")),
        ("search", info.get("search")),
        ("variants", info.get("variants", table["variant"].nunique())),
        ("objective", f"{objective} ({'max' if info.get('maximize', True) else 'min'})"),
        ("constraints", ", ".join(info.get("constraints", [])) or "none"),
        (
            "split",
            f"oos {info['oos']}"
            if info.get("oos")
            else (
                f"walk-forward {info['walk_forward']} folds" if info.get("walk_forward") else "none"
            ),
        ),
        ("rerun a row", f"{info.get('rerun', 'levtrade backtest')} --param NAME=VALUE ..."),
    ]
    sections = [
        f"<h1>levtrade sweep — {_esc(info.get('strategy_name', ''))}</h1>",
        '<div class="card"><table>'
        + "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in facts)
        + "</table></div>",
        "<h2>Best variants</h2>",
        f'<div class="card"><table id="top-table"><tr>{head}</tr>{rows}</table></div>',
    ]
    scripts = []
    for k, (heading, figure) in enumerate(charts):
        chart_id = f"chart-{k}"
        sections.append(f"<h2>{_esc(heading)}</h2>")
        sections.append(
            f'<div class="card"><div class="chart" id="{chart_id}" data-chart></div></div>'
        )
        text = (
            str(pio.to_json(figure, validate=False)).replace("</", "<\\/").replace("<!--", "<\\!--")
        )
        scripts.append(f"levtradePlot({json.dumps(chart_id)}, {text});")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            f"<title>levtrade sweep — {_esc(info.get('strategy_name', ''))}</title>",
            f"<script>{ERROR_HOOK}</script>",
            f"<style>{STYLE}</style>",
            f"<script>{get_plotlyjs()}</script>",
            f"<script>{PLOT_FUNCTION}</script>",
            "</head>",
            f'<body data-charts="{len(charts)}" data-charts-rendered="0">',
            '<pre id="levtrade-errors" hidden></pre>',
            "<main>",
            *sections,
            "</main>",
            "<script>",
            *scripts,
            "</script>",
            "</body>",
            "</html>",
        ]
    )


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_sweep_report(
    table: pd.DataFrame,
    path: Path,
    *,
    source: Any = None,
    data: MarketData | Portfolio | None = None,
    top: int = 5,
) -> Path:
    """Render the page and write it atomically."""
    write_text_atomic(path, render_sweep_report(table, source=source, data=data, top=top))
    return path
