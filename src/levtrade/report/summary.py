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
from levtrade.report.exports import rounded
from levtrade.report.tables import (
    ResultBundle,
    analyzer_files,
    derived_series,
    journal_frame,
    market_changes,
    prices_frame,
    split_analyzers,
    trader_book,
)

__all__ = [
    "build_summary",
    "bundle_from_result",
    "margin_section",
    "plausibility_warnings",
    "trade_statistics",
]


def _iso(ms: Any) -> str | None:
    if ms is None or (isinstance(ms, float) and math.isnan(ms)):
        return None
    return format_ts(int(ms))


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def _per_pair(
    trades: pd.DataFrame,
    series: pd.DataFrame,
    pairs: Sequence[str],
    funding: Mapping[str, Any],
    changes: Mapping[str, float],
) -> list[dict[str, Any]]:
    equity = series["equity"].to_numpy(dtype=np.float64) if len(series) else np.array([])
    rows = []
    for pair in pairs:
        own = trades[trades["symbol"] == pair] if len(trades) else trades
        pnl = own["pnl"].to_numpy(dtype=np.float64) if len(own) else np.array([])
        pct = own["pnl_pct"].to_numpy(dtype=np.float64) if len(own) else np.array([])
        durations = own["duration_ms"].to_numpy(dtype=np.float64) if len(own) else np.array([])
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
                "avg_pnl_pct": _mean(pct),
                "avg_duration_ms": _mean(durations),
                "fees": float(own["fees"].sum()) if len(own) else 0.0,
                "funding": float(funding.get(pair, {}).get("net", 0.0)),
                "liquidations": liquidated,
                "leverage": float(own["leverage"].max()) if len(own) else None,
                "max_exposure": leverage,
                "market_change": changes.get(pair),
            }
        )
    return rows


def _trade_row(trade: pd.Series) -> dict[str, Any]:
    return {
        "pair": str(trade["symbol"]),
        "side": str(trade["side"]),
        "entry_time": int(trade["entry_time"]),
        "exit_time": int(trade["exit_time"]),
        "pnl": float(trade["pnl"]),
        "pnl_pct": float(trade["pnl_pct"]),
        "exit_reason": str(trade["exit_reason"]),
    }


def _group_rows(trades: pd.DataFrame, column: str, name: str) -> list[dict[str, Any]]:
    """Per value of ``column``: trades, wins, losses, PnL, average PnL % and duration."""
    rows: list[dict[str, Any]] = []
    for value, own in trades.groupby(column, sort=True):
        pnl = own["pnl"].to_numpy(dtype=np.float64)
        wins = int((pnl > 0).sum())
        rows.append(
            {
                name: str(value),
                "trades": int(pnl.size),
                "wins": wins,
                "losses": int((pnl < 0).sum()),
                "win_rate": wins / pnl.size,
                "pnl": float(pnl.sum()),
                "avg_pnl_pct": _mean(own["pnl_pct"].to_numpy(dtype=np.float64)),
                "avg_duration_ms": _mean(own["duration_ms"].to_numpy(dtype=np.float64)),
            }
        )
    rows.sort(key=lambda row: -int(row["trades"]))
    return rows


def trade_statistics(trades: pd.DataFrame, per_pair: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What FreqTrade's backtest output shows about the trades: average durations (all,
    winners, losers), the best and worst trade (by PnL % of the stake) and pair (by PnL),
    the long/short split and the exit reasons (counts, wins, losses, PnL)."""
    if not len(trades):
        return {
            "durations": {"all": None, "winners": None, "losers": None},
            "best_trade": None,
            "worst_trade": None,
            "best_pair": None,
            "worst_pair": None,
            "sides": [],
            "exit_reasons": [],
        }
    pnl = trades["pnl"].to_numpy(dtype=np.float64)
    durations = trades["duration_ms"].to_numpy(dtype=np.float64)
    pct = trades["pnl_pct"].to_numpy(dtype=np.float64)
    ranked = np.where(np.isfinite(pct), pct, pnl)
    traded = [row for row in per_pair if row.get("trades")]
    by_pnl = sorted(traded, key=lambda row: float(row["pnl"]))
    return {
        "durations": {
            "all": _mean(durations),
            "winners": _mean(durations[pnl > 0]),
            "losers": _mean(durations[pnl < 0]),
        },
        "best_trade": _trade_row(trades.iloc[int(np.argmax(ranked))]),
        "worst_trade": _trade_row(trades.iloc[int(np.argmin(ranked))]),
        "best_pair": {"pair": by_pnl[-1]["pair"], "pnl": by_pnl[-1]["pnl"]} if by_pnl else None,
        "worst_pair": {"pair": by_pnl[0]["pair"], "pnl": by_pnl[0]["pnl"]} if by_pnl else None,
        "sides": _group_rows(trades, "side", "side"),
        "exit_reasons": _group_rows(trades, "exit_reason", "reason"),
    }


def rejected_entries(orders: pd.DataFrame) -> dict[str, int]:
    """Entry orders the run refused, counted by reason (the orders table's ``reason``)."""
    if not len(orders) or "status" not in orders.columns:
        return {}
    refused = orders[(orders["status"] == "rejected") & ~orders["reduce_only"].astype(bool)]
    counts = refused["reason"].astype(str).value_counts()
    return {str(reason): int(count) for reason, count in counts.items()}


def foresight_bound(prices: pd.DataFrame, leverage: float) -> float:
    """Growth factor of perfect foresight: on every bar, the whole equity in the pair with
    the widest high-low range, caught from its low to its high at ``leverage``, without fees:
    ``Π_t max_j (1 + L·(high − low) / low)``. No strategy on these bars can end above it."""
    if not len(prices):
        return 1.0
    swing = leverage * (prices["high"] - prices["low"]) / prices["low"]
    widest = swing.groupby(prices["time"].to_numpy(np.int64)).max().to_numpy(np.float64)
    with np.errstate(over="ignore"):  # beyond a float: no bound worth stating
        return float(np.exp(np.log1p(np.maximum(widest, 0.0)).sum()))


SUSPICIOUS_WIN_RATE = 0.95
"""With at least :data:`SUSPICIOUS_TRADES` trades, a win rate at or above this is flagged."""
SUSPICIOUS_PROFIT_FACTOR = 10.0
"""With at least :data:`SUSPICIOUS_TRADES` trades, a profit factor at or above this is flagged."""
SUSPICIOUS_TRADES = 50


def plausibility_warnings(
    metrics: Mapping[str, Any], prices: pd.DataFrame, leverage: float
) -> list[str]:
    """Warnings that a result is not possible, or hardly plausible, on its data: a final
    equity above :func:`foresight_bound` at the run's highest leverage; over
    :data:`SUSPICIOUS_TRADES` trades or more, a win rate of :data:`SUSPICIOUS_WIN_RATE` or a
    profit factor of :data:`SUSPICIOUS_PROFIT_FACTOR` or more (what a strategy that reads
    future bars produces)."""
    warnings: list[str] = []
    growth = float(metrics.get("final_equity", 0.0)) / float(metrics.get("initial_equity", 1.0))
    bound = foresight_bound(prices, leverage)
    if growth > bound:
        warnings.append(
            f"the equity grew {growth:,.4g}-fold, more than the {bound:,.4g}-fold that perfect "
            f"foresight of every bar's range allows at {leverage:g}x: the strategy reads data "
            "it cannot have had; check it with levtrade lookahead"
        )
    trades = int(metrics.get("trades", 0) or 0)
    win_rate = _float(metrics.get("win_rate"))
    factor = _float(metrics.get("profit_factor"))
    if trades >= SUSPICIOUS_TRADES and win_rate >= SUSPICIOUS_WIN_RATE:
        warnings.append(
            f"{win_rate:.1%} of {trades} trades won: results like this usually come from a "
            "strategy that reads future bars; check it with levtrade lookahead"
        )
    elif trades >= SUSPICIOUS_TRADES and factor >= SUSPICIOUS_PROFIT_FACTOR:
        warnings.append(
            f"a profit factor of {factor:,.1f} over {trades} trades: results like this usually "
            "come from a strategy that reads future bars; check it with levtrade lookahead"
        )
    return warnings


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def merged_notes(notes: Sequence[str]) -> list[str]:
    """Each note once; notes that differ only in their leading ``<pair>: `` become one note
    naming every pair."""
    by_text: dict[str, list[str]] = {}
    for note in dict.fromkeys(str(n) for n in notes):
        head, sep, rest = note.partition(": ")
        key = rest if sep and "/" in head and " " not in head else note
        pair = head if key is rest else ""
        by_text.setdefault(key, []).append(pair)
    merged = []
    for text, pairs in by_text.items():
        named = [p for p in pairs if p]
        merged.append(f"{', '.join(named)}: {text}" if named else text)
    return merged


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


def every_entry_rejected(orders: pd.DataFrame) -> list[str]:
    """The warning a reader must not miss: every entry of the run was refused, so it made no
    trade (one item, or none)."""
    if not len(orders) or "status" not in orders.columns:
        return []
    entries = int((~orders["reduce_only"].astype(bool)).sum())
    refused = rejected_entries(orders)
    if not entries or sum(refused.values()) < entries:
        return []
    reasons = ", ".join(f"{reason} {count}" for reason, count in refused.items())
    return [
        f"every entry was rejected ({entries} of {entries} entry orders; {reasons}): the run "
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
    result: BacktestResult,
    series: pd.DataFrame,
    info: Mapping[str, Any],
    *,
    trades: pd.DataFrame | None = None,
    prices: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The summary of a run; ``series`` is the derived series
    (:func:`levtrade.report.tables.derived_series`), ``info`` the run's facts (strategy,
    data source, notes, ...; :meth:`levtrade.configuration.RunOutcome.info`), ``trades`` the
    journal (:func:`levtrade.report.tables.journal_frame`, built when not given), ``prices``
    the bars (:func:`levtrade.report.tables.prices_frame`; without them no market change and
    no plausibility check)."""
    journal = journal_frame(result, series) if trades is None else trades
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
    changes = market_changes(prices, pairs) if prices is not None else {}
    per_pair = _per_pair(journal, series, pairs, funding["by_pair"], changes)
    leverage = max([float(config.leverage), *(float(v) for v in journal["leverage"])])
    metrics = {str(k): v for k, v in result.metrics.items()}
    warnings = plausibility_warnings(metrics, prices, leverage) if prices is not None else []
    warnings += every_entry_rejected(result.orders)
    spec = result.run_spec()
    instruments = {
        pair: {
            "tick_size": spec.instrument(pair).tick_size,
            "lot_size": spec.instrument(pair).lot_size,
        }
        for pair in pairs
    }
    summary: dict[str, Any] = {
        "levtrade": __version__,
        "strategy": info.get("strategy"),
        "strategy_style": info.get("strategy_style"),
        "strategy_source": info.get("strategy_source"),
        "config": info.get("config"),
        "engine": meta.get("engine", info.get("engine")),
        "venue": meta.get("venue", config.venue),
        "trading_mode": info.get("trading_mode", config.trading_mode),
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
        "notes": merged_notes(list(info.get("notes") or [])),
        "plot_config": dict(info.get("plot_config") or {}),
        "params": dict(info.get("params") or {}),
        "warnings": warnings,
        "ignored_keys": list(info.get("ignored_keys") or []),
        "metrics": {str(k): v for k, v in result.metrics.items()},
        "trade_leverage": sorted(
            {float(v) for v in result.trades["leverage"]} if len(result.trades) else set()
        ),
        "max_effective_leverage": float(finite.max()) if finite.size else 0.0,
        "max_margin_ratio": _max_margin_ratio(series),
        "per_pair": per_pair,
        "market": {
            "by_pair": changes,
            "change": float(np.mean(list(changes.values()))) if changes else None,
            "buy_and_hold_return": (
                float(series["buy_and_hold"].iloc[-1]) / float(config.wallet) - 1.0
                if "buy_and_hold" in series.columns and len(series)
                else None
            ),
        },
        "trade_stats": trade_statistics(journal, per_pair),
        "rejected_entries": rejected_entries(result.orders),
        "instruments": instruments,
        "liquidations": _liquidations(result),
        "funding": funding,
        "risk": dict(info.get("risk") or {}) or None,
        "margin": margin_section(result.analyzers, info.get("risk")),
        "analyzers": mappings,
        "analyzer_tables": analyzer_files(tables),
    }
    return dict(to_json_value(summary))


def bundle_from_result(
    result: BacktestResult,
    data: MarketData | Portfolio,
    info: Mapping[str, Any] | None = None,
    indicators: Mapping[str, pd.DataFrame] | None = None,
) -> ResultBundle:
    """The bundle of a finished run; ``info`` adds the run's facts to the summary (strategy,
    data source, notes, ``plot_config``: see :func:`levtrade.report.summary.build_summary`),
    ``indicators`` a signal strategy's populated DataFrame per pair (its indicator columns go
    to the prices table)."""
    prices = prices_frame(data, indicators)
    series = derived_series(result, prices)
    trades = journal_frame(result, series)
    summary = build_summary(result, series, info or {}, trades=trades, prices=prices)
    _, tables = split_analyzers(result.analyzers)
    steps = summary.get("instruments")
    return ResultBundle(
        summary=summary,
        trades=rounded(trades, steps),
        orders=rounded(result.orders.reset_index(drop=True), steps),
        ledger=rounded(result.ledger.reset_index(drop=True), steps),
        series=series,
        prices=prices,
        analyzers=tables,
    )
