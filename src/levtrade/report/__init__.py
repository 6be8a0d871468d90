"""Reporting: summary metrics of a backtest (formulas in :mod:`levtrade.report.metrics`)."""

from __future__ import annotations

from levtrade.report.metrics import (
    MS_PER_YEAR,
    bar_returns,
    cagr,
    compute_metrics,
    max_drawdown,
    sharpe,
    sortino,
)

__all__ = [
    "MS_PER_YEAR",
    "bar_returns",
    "cagr",
    "compute_metrics",
    "max_drawdown",
    "sharpe",
    "sortino",
]
