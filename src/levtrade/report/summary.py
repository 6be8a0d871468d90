"""The summary of a backtest, a JSON-friendly dict (``--json``, ``summary.json``), and the
bundle a report is made from.

:func:`build_summary` collects the run's facts, the metrics of
:mod:`levtrade.backtest.metrics`, a table per pair, every liquidation and the funding paid and
received per pair; :func:`bundle_from_result` puts it beside the run's tables.
:mod:`levtrade.report.terminal` and :mod:`levtrade.report.html` render it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from levtrade._json import to_json_value
from levtrade._version import __version__
from levtrade.backtest.results import BacktestResult
from levtrade.data import MarketData, Portfolio, format_timeframe, format_ts
from levtrade.margin import contracts
from levtrade.report.tables import (
    ResultBundle,
    analyzer_files,
    derived_series,
    prices_frame,
    split_analyzers,
    trader_book,
)

__all__ = ["build_summary", "bundle_from_result", "margin_section"]

def _iso(ms: Any) -> str | None:
    if ms is None or (isinstance(ms, float) and math.isnan(ms)):
        return None
    return format_ts(int(ms))


def _per_pair(
    trades: pd.DataFrame, series: pd.DataFrame, pairs: Sequence[str], funding: Mapping[str, Any]
) -> list[dict[str, Any]]:
    equity = series["equity"].to_numpy(dtype=np.float64) if len(series) else np.array([])
    rows = []
    for pair in pairs:
        own = trades[trades["symbol"] == pair] if len(trades) else trades
        pnl = own["pnl"].to_numpy(dtype=np.float64) if len(own) else np.array([])
        wins = int((pnl > 0).sum())
        name = f"notional:{pair}"
        leverage = math.nan
        if name in series.columns and equity.size:
            notional = np.abs(series[name].to_numpy(dtype=np.float64))
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(equity > 0, notional / equity, np.nan)
            leverage = float(np.nanmax(ratio)) if np.isfinite(ratio).any() else 0.0
        liquidated = int((own["exit_reason"] == "liquidation").sum()) if len(own) else 0
        rows.append(
            {
                "pair": pair,
                "trades": int(pnl.size),
                "wins": wins,
                "win_rate": wins / pnl.size if pnl.size else math.nan,
                "pnl": float(pnl.sum()),
                "fees": float(own["fees"].sum()) if len(own) else 0.0,
                "funding": float(funding.get(pair, {}).get("net", 0.0)),
                "liquidations": liquidated,
                "max_effective_leverage": leverage,
            }
        )
    return rows


def _liquidations(result: BacktestResult) -> list[dict[str, Any]]:
    trades = result.trades
    if not len(trades):
        return []
    rows = []
    for _, trade in trades[trades["exit_reason"] == "liquidation"].iterrows():
        symbol = str(trade["symbol"])
        instrument = result.config.instrument(symbol)
        price = float(trade["exit_price"])
        size = float(trade["size"])
        rows.append(
            {
                "time": int(trade["exit_time"]),
                "time_iso": format_ts(int(trade["exit_time"])),
                "pair": symbol,
                "side": str(trade["side"]),
                "margin_mode": str(trade["margin_mode"]),
                "leverage": float(trade["leverage"]),
                "entry_time": int(trade["entry_time"]),
                "entry_price": float(trade["entry_price"]),
                "price": price,
                "size": size,
                "notional": contracts.notional(instrument, size, price),
                "pnl": float(trade["pnl"]),
            }
        )
    rows.sort(key=lambda r: (r["time"], r["pair"]))
    return rows


def _funding(
    ledger: pd.DataFrame, pairs: Sequence[str], sources: Mapping[str, str]
) -> dict[str, Any]:
    rows = ledger[ledger["kind"] == "funding"] if len(ledger) else ledger
    by_pair: dict[str, dict[str, Any]] = {}
    total_paid = total_received = 0.0
    for pair in pairs:
        own = rows[rows["symbol"] == pair] if len(rows) else rows
        paid = received = 0.0
        if len(own):
            amount = own["amount"].to_numpy(dtype=np.float64)
            into, out_of = trader_book(own["debit"]), trader_book(own["credit"])
            received = float(amount[into & ~out_of].sum())
            paid = float(amount[out_of & ~into].sum())
        total_paid += paid
        total_received += received
        by_pair[pair] = {
            "paid": paid,
            "received": received,
            "net": received - paid,
            "source": sources.get(pair, "data"),
        }
    return {
        "paid": total_paid,
        "received": total_received,
        "net": total_received - total_paid,
        "by_pair": by_pair,
    }


def _orders(orders: pd.DataFrame) -> dict[str, Any]:
    """Entry orders placed and rejected, and every rejected order by reason."""
    if not len(orders):
        return {"entries": 0, "entries_rejected": 0, "rejected": 0, "rejected_by_reason": {}}
    rejected = (orders["status"].astype(str) == "rejected").to_numpy()
    entry = ~orders["reduce_only"].fillna(False).astype(bool).to_numpy()
    reasons = orders.loc[rejected, "reason"].fillna("").astype(str).value_counts()
    return {
        "entries": int(entry.sum()),
        "entries_rejected": int((entry & rejected).sum()),
        "rejected": int(rejected.sum()),
        "rejected_by_reason": {str(k): int(v) for k, v in reasons.items()},
    }


def _warnings(orders: Mapping[str, Any]) -> list[str]:
    """What a reader must not miss: a run whose every entry was refused made no trade."""
    entries, refused = orders["entries"], orders["entries_rejected"]
    if not entries or refused < entries:
        return []
    reasons = ", ".join(f"{k} {v}" for k, v in orders["rejected_by_reason"].items())
    return [
        f"every entry was rejected ({refused} of {entries} entry orders; {reasons}): the run "
        "made no trade"
    ]


def _max_margin_ratio(series: pd.DataFrame) -> float | None:
    columns = [c for c in series.columns if c == "margin_ratio" or c.startswith("margin_ratio:")]
    best = -math.inf
    for name in columns:
        values = series[name].to_numpy(dtype=np.float64)
        values = values[~np.isnan(values)]
        if values.size:
            best = max(best, float(values.max()))
    return None if best == -math.inf else best


def _frame(outputs: Mapping[str, Any], name: str) -> pd.DataFrame | None:
    value = outputs.get(name)
    return value if isinstance(value, pd.DataFrame) else None


def _mapping(outputs: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = outputs.get(name)
    return value if isinstance(value, Mapping) else None


def _nearest(frame: pd.DataFrame, prefix: str, column: str) -> dict[str, Any]:
    """The smallest value of ``column`` of a distance table, its time and the position
    (``<prefix><key>`` column holding it)."""
    values = frame[column].to_numpy(dtype=np.float64) if column in frame.columns else None
    if values is None or not np.isfinite(values).any():
        return {"value": None, "time": None, "position": None}
    row = int(np.nanargmin(np.where(np.isfinite(values), values, np.nan)))
    position = None
    for name in frame.columns:
        if str(name).startswith(prefix) and frame[name].iloc[row] == values[row]:
            position = str(name)[len(prefix) :]
            break
    return {
        "value": float(values[row]),
        "time": _iso(frame["time"].iloc[row]),
        "position": position,
    }


def margin_section(
    outputs: Mapping[str, Any], risk: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """The figures of the standard margin analyzers (:func:`levtrade.risk.margin_analyzers`)
    in ``outputs`` (a result's ``analyzers``): margin calls below ``risk["margin_call_level"]``
    (count, first), minimum margin level, time below each threshold (share of bars, hours),
    liquidations, funding, maximum effective leverage, minimum distance to liquidation (fraction
    of the mark and ATR multiples). None when none of them ran; the figures of an analyzer that
    did not run are absent. Times are ISO 8601 UTC."""
    names = (
        "margin_calls",
        "min_margin_level",
        "time_below_thresholds",
        "liquidations",
        "funding",
        "effective_leverage",
        "distance_to_liquidation",
    )
    if not any(name in outputs for name in names):
        return None
    risk = risk or {}
    section: dict[str, Any] = {
        "margin_call_level": risk.get("margin_call_level"),
        "atr_period": risk.get("atr_period"),
    }
    calls = _frame(outputs, "margin_calls")
    if calls is not None:
        section["margin_calls"] = len(calls)
        section["first_margin_call"] = _iso(calls["start"].min()) if len(calls) else None
    lowest = _mapping(outputs, "min_margin_level")
    if lowest is not None:
        section["min_margin_level"] = lowest.get("min_margin_level")
        section["min_margin_level_time"] = _iso(lowest.get("min_margin_level_time"))
    below = _frame(outputs, "time_below_thresholds")
    if below is not None:
        section["time_below"] = [
            {
                "threshold": float(row["threshold"]),
                "bars": int(row["bars"]),
                "fraction": float(row["fraction"]),
                "hours": float(row["duration_ms"]) / 3_600_000.0,
            }
            for _, row in below.iterrows()
        ]
    liquidations = _mapping(outputs, "liquidations")
    if liquidations is not None:
        section["liquidations"] = liquidations.get("liquidations")
    funding = _mapping(outputs, "funding")
    if funding is not None:
        section["funding_paid"] = funding.get("paid")
        section["funding_received"] = funding.get("received")
        section["funding_net"] = funding.get("net")
    leverage = _mapping(outputs, "effective_leverage")
    if leverage is not None:
        section["max_effective_leverage"] = leverage.get("max")
        section["max_effective_leverage_time"] = _iso(leverage.get("time_of_max"))
    distance = _frame(outputs, "distance_to_liquidation")
    if distance is not None:
        for column, prefix in (
            ("min_distance", "distance:"),
            ("min_distance_atr", "distance_atr:"),
        ):
            nearest = _nearest(distance, prefix, column)
            section[column] = nearest["value"]
            section[f"{column}_time"] = nearest["time"]
            section[f"{column}_position"] = nearest["position"]
    return section


def build_summary(
    result: BacktestResult, series: pd.DataFrame, info: Mapping[str, Any]
) -> dict[str, Any]:
    """The summary of a run; ``series`` is the derived series
    (:func:`levtrade.report.tables.derived_series`), ``info`` the run's facts (strategy,
    data source, notes, ...; :meth:`levtrade.configuration.RunOutcome.info`)."""
    meta = result.metadata
    config = result.config
    pairs = [str(s) for s in meta.get("symbols", [])]
    sources = dict(info.get("funding_source") or {})
    for pair in meta.get("funding_constant", []):
        sources[str(pair)] = "constant"
    funding = _funding(result.ledger, pairs, sources)
    effective = (
        series["effective_leverage"].to_numpy(dtype=np.float64)
        if "effective_leverage" in series.columns
        else np.array([])
    )
    finite = effective[np.isfinite(effective)]
    timeframe_ms = int(meta.get("timeframe_ms", 0))
    mappings, tables = split_analyzers(result.analyzers)
    orders = _orders(result.orders)
    summary: dict[str, Any] = {
        "levtrade": __version__,
        "strategy": info.get("strategy"),
        "strategy_style": info.get("strategy_style"),
        "strategy_source": info.get("strategy_source"),
        "config": info.get("config"),
        "engine": meta.get("engine", info.get("engine")),
        "venue": meta.get("venue", config.venue),
        "trading_mode": info.get("trading_mode", "futures"),
        "margin_mode": config.margin_mode,
        "position_mode": config.position_mode,
        "timeframe": format_timeframe(timeframe_ms) if timeframe_ms else info.get("timeframe"),
        "timerange": info.get("timerange"),
        "start": _iso(meta.get("start")),
        "end": _iso(meta.get("end")),
        "bars": int(meta.get("bars", len(series))),
        "pairs": pairs,
        "stake_currency": info.get("stake_currency"),
        "wallet": float(config.wallet),
        "stake_amount": config.stake_amount,
        "leverage": float(config.leverage),
        "max_open_trades": config.max_open_trades,
        "liquidation_buffer": float(config.liquidation_buffer),
        "synthetic": bool(meta.get("synthetic", False) or info.get("synthetic", False)),
        "data_source": info.get("data_source"),
        "mark_candles": dict(info.get("mark_candles") or {}),
        "funding_source": sources,
        "futures_funding_rate": config.funding_rate,
        "funding_interval_hours": float(config.funding_interval_hours),
        "warnings": _warnings(orders),
        "notes": list(info.get("notes") or []),
        "ignored_keys": list(info.get("ignored_keys") or []),
        "metrics": {str(k): v for k, v in result.metrics.items()},
        "orders": orders,
        "trade_leverage": sorted(
            {float(v) for v in result.trades["leverage"]} if len(result.trades) else set()
        ),
        "max_effective_leverage": float(finite.max()) if finite.size else 0.0,
        "max_margin_ratio": _max_margin_ratio(series),
        "per_pair": _per_pair(result.trades, series, pairs, funding["by_pair"]),
        "liquidations": _liquidations(result),
        "funding": funding,
        "risk": dict(info.get("risk") or {}) or None,
        "margin": margin_section(result.analyzers, info.get("risk")),
        "analyzers": mappings,
        "analyzer_tables": analyzer_files(tables),
    }
    return dict(to_json_value(summary))


def bundle_from_result(
    result: BacktestResult, data: MarketData | Portfolio, info: Mapping[str, Any] | None = None
) -> ResultBundle:
    """The bundle of a finished run; ``info`` adds the run's facts to the summary (strategy,
    data source, notes: see :func:`levtrade.report.summary.build_summary`)."""
    prices = prices_frame(data)
    series = derived_series(result, prices)
    summary = build_summary(result, series, info or {})
    _, tables = split_analyzers(result.analyzers)
    return ResultBundle(
        summary=summary,
        trades=result.trades.reset_index(drop=True),
        orders=result.orders.reset_index(drop=True),
        ledger=result.ledger.reset_index(drop=True),
        series=series,
        prices=prices,
        analyzers=tables,
    )
