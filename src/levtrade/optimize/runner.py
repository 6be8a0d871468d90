"""``sweep``: many variants of one strategy, each a backtest, as one table.

Everything is checked before any work starts (the space against the strategy, the objective
and constraints against the metrics, the search, the executor and a Ray address); then the
search hands out rounds of variants, cut into chunks; the executor runs the chunks; each
finished chunk's rows are written as a part (with ``out``); the table is sorted by variant.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from levtrade.data import MarketData, Portfolio
from levtrade.errors import ConfigError
from levtrade.optimize.evaluate import Chunk, Row, Task, score_prefix, split_segments
from levtrade.optimize.executors import check_executor, make_executor
from levtrade.optimize.objective import (
    Constraint,
    Objective,
    constraints_from,
    feasible,
    metric_names,
)
from levtrade.optimize.search import OptunaSearch, make_search, params_equal
from levtrade.optimize.space import Space
from levtrade.optimize.store import PartStore
from levtrade.spec import BacktestConfig
from levtrade.strategy.base import Strategy


class SweepProgress(Protocol):
    """Receives the number of variants in all, then the variants done as chunks finish."""

    def start(self, total: int) -> None: ...

    def advance(self, done: int) -> None: ...


def _fingerprint(parts: Mapping[str, Any]) -> str:
    text = json.dumps(parts, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def data_description(data: MarketData | Portfolio) -> dict[str, Any]:
    """The data a sweep ran on, with a checksum of its prices (resume refuses other data)."""
    digest = hashlib.sha256()
    for name in ("open", "high", "low", "close"):
        digest.update(np.ascontiguousarray(getattr(data, name)).tobytes())
    if data.mark is not None:
        digest.update(np.ascontiguousarray(data.mark.low).tobytes())
        digest.update(np.ascontiguousarray(data.mark.high).tobytes())
    digest.update(np.ascontiguousarray(data.funding_rate).tobytes())
    return {
        "symbols": list(data.symbols),
        "timeframe_ms": data.timeframe_ms,
        "bars": len(data),
        "start": int(data.timestamps[0]),
        "end": int(data.timestamps[-1]),
        "checksum": digest.hexdigest()[:16],
    }


def _chunks(variants: Sequence[Any], size: int, first: int) -> list[Chunk]:
    return [
        (first + k, list(variants[start : start + size]))
        for k, start in enumerate(range(0, len(variants), size))
    ]


def sweep(
    strategy: Any,
    data: MarketData | Portfolio,
    space: Mapping[str, Any] | Sequence[str] | Space,
    *,
    config: BacktestConfig | None = None,
    search: str = "grid",
    trials: int | None = None,
    seed: int = 0,
    sampler: str = "tpe",
    objective: str | Objective = "sharpe",
    direction: str = "auto",
    constraints: Sequence[str | Constraint] = (),
    executor: str = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    chunk_size: int | None = None,
    batch: int | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    oos: float | None = None,
    walk_forward: int | None = None,
    warmup: int = 0,
    engine: str = "auto",
    params: Mapping[str, Any] | None = None,
    progress: SweepProgress | None = None,
    info: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """Backtest every variant ``search`` picks from ``space`` and return one row per variant
    (per walk-forward fold): its parameters, its metrics (``is_``/``oos_`` ones with a split),
    liquidations, funding, fees, rejected orders, and ``feasible`` (the constraints hold).

    ``strategy``: a SignalStrategy (or Strategy) class or a configured instance; ``space``:
    ``{name: values}`` (a list, a ``range``, the command line's text such as ``"5:50:5"``, a
    :class:`Dimension`) or ``["name=values", ...]``; names are run settings (``leverage``,
    ``margin_mode``, ``stake_amount``, ``stoploss``, ``roi``, ...) or strategy parameters.
    ``search``: ``grid``, ``random`` or ``optuna`` (``trials`` of them; ``sampler`` tpe,
    random, nsgaii, qmc, cmaes or gp; ``batch`` trials per ask/tell round). ``objective`` and
    ``direction``: what optuna optimises and ``show`` ranks by. ``executor``: ``local`` (a
    process pool of ``workers``, default all cores), ``ray`` (at ``ray_address``, or a local
    Ray) or ``serial``. ``out``: a Parquet file written as parts per chunk, ``resume`` to
    finish a sweep that stopped. ``oos``: score in sample and on the last ``oos`` share;
    ``walk_forward``: that many rolling folds. ``warmup``: bars that only warm the indicators
    up (as in :func:`levtrade.backtest.run`). ``params``: strategy parameters every variant
    has. ``info``: extra facts stored in the table's metadata.
    """
    started = time.perf_counter()
    strategy_class = strategy if isinstance(strategy, type) else type(strategy)
    fixed = dict(params or {})
    if isinstance(strategy, type) and issubclass(strategy, Strategy) and warmup:
        raise ConfigError(f"warmup: {strategy.__name__} warms up in prenext(), got {warmup}")
    if not (isinstance(warmup, int) and 0 <= warmup < len(data)):
        raise ConfigError(f"warmup: a number of bars in [0, {len(data)}), got {warmup!r}")
    resolved = Space.build(space, strategy_class)
    goal = objective if isinstance(objective, Objective) else Objective(objective, direction)
    limits = constraints_from(constraints)
    segments = split_segments(len(data) - warmup, oos=oos, walk_forward=walk_forward)
    prefix = score_prefix(segments)
    workers = (os.cpu_count() or 1) if workers is None else workers
    check_executor(executor, workers, ray_address)
    searcher = make_search(
        search,
        resolved,
        trials=trials,
        seed=seed,
        objective=goal,
        constraints=limits,
        prefix=prefix,
        sampler=sampler,
        batch=batch or max(8, 4 * workers),
    )
    if searcher.total == 0:
        raise ConfigError("param: the space has no variant")
    size = chunk_size or _chunk_size(searcher.total, workers, search)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"chunk_size: a number of variants ≥ 1, got {chunk_size!r}")
    base = config if config is not None else BacktestConfig()
    description: dict[str, Any] = {
        "strategy": f"{strategy_class.__module__}:{strategy_class.__qualname__}",
        "strategy_name": strategy_class.__name__,
        "fixed_params": fixed,
        "space": resolved.describe(),
        "params": list(resolved.names),
        **searcher.describe(),
        "objective": goal.metric,
        "maximize": goal.maximize,
        "constraints": [str(c) for c in limits],
        "oos": oos,
        "walk_forward": walk_forward,
        "score_prefix": prefix,
        "warmup": warmup,
        "engine": engine,
        "config": json.loads(base.model_dump_json()),
        "data": data_description(data),
        "chunk_size": size,
    }
    store = None
    if out is not None:
        # a grid's or a random search's rows do not depend on what ranks them
        ranking = () if search == "optuna" else ("objective", "maximize", "constraints")
        fingerprint = _fingerprint({k: v for k, v in description.items() if k not in ranking})
        store = PartStore(Path(out).expanduser(), fingerprint, resume=resume)
    elif resume:
        raise ConfigError("resume: needs out, the table a stopped sweep was writing")
    description.update(info or {})

    task = Task(strategy, base, warmup=warmup, engine=engine, segments=segments, fixed=fixed)
    rows: list[Row] = []
    if progress is not None:
        progress.start(searcher.total)
    done_variants = 0
    pool = None
    try:
        if store is not None:
            store.open()
        stored = store.done() if store is not None else set()
        next_chunk = 0
        for variants in searcher.rounds():
            per_round = (
                size if not isinstance(searcher, OptunaSearch) else _round_chunk(variants, workers)
            )
            chunks = _chunks(variants, per_round, next_chunk)
            next_chunk += len(chunks)
            round_rows: list[Row] = []
            todo: list[Chunk] = []
            for chunk in chunks:
                if store is not None and chunk[0] in stored:
                    kept = store.read(chunk[0])
                    _check_part(chunk, kept, resolved.names)
                    round_rows.extend(kept)
                    done_variants += len(chunk[1])
                else:
                    todo.append(chunk)
            if progress is not None and done_variants:
                progress.advance(done_variants)
            if todo:
                if pool is None:
                    pool = make_executor(
                        executor, task, data, workers=workers, ray_address=ray_address
                    )
                for chunk, chunk_rows in pool.run(todo):
                    if store is not None:
                        store.write(chunk[0], chunk_rows)
                    round_rows.extend(chunk_rows)
                    done_variants += len(chunk[1])
                    if progress is not None:
                        progress.advance(done_variants)
            searcher.tell(round_rows)
            rows.extend(round_rows)
    finally:
        if pool is not None:
            pool.close()
    table = _table(rows, resolved.names, limits, prefix)
    description["seconds"] = time.perf_counter() - started
    table.attrs["levtrade.sweep"] = description
    if store is not None:
        store.finish(table, description)
    return table


def _chunk_size(total: int, workers: int, search: str) -> int:
    """Hundreds to a thousand variants per task, and enough tasks to keep every worker busy
    to the end (about eight per worker)."""
    if search == "optuna":
        return total
    return max(1, min(1000, math.ceil(total / (8 * workers))))


def _round_chunk(variants: Sequence[Any], workers: int) -> int:
    """An optuna round cut into one chunk per worker."""
    return max(1, math.ceil(len(variants) / workers))


def _check_part(chunk: Chunk, rows: Sequence[Row], names: Sequence[str]) -> None:
    """A stored part must hold this chunk's variants with these parameters."""
    stored = {int(r["variant"]): {n: r[n] for n in names} for r in rows}
    for variant, params in chunk[1]:
        if variant not in stored or not params_equal(stored[variant], params):
            raise ConfigError(
                f"resume: the stored part of chunk {chunk[0]} does not hold variant {variant} "
                f"as this sweep defines it; remove the parts folder to start again"
            )


def _table(
    rows: Sequence[Row], names: Sequence[str], limits: Sequence[Constraint], prefix: str
) -> pd.DataFrame:
    """The rows sorted by variant (and fold), with ``feasible``."""
    table = pd.DataFrame(list(rows))
    keys = ["variant", "fold"] if "fold" in table.columns else ["variant"]
    table = table.sort_values(keys, kind="stable").reset_index(drop=True)
    table["feasible"] = [
        feasible({str(k): v for k, v in r.items()}, limits, prefix)
        for r in table.to_dict("records")
    ]
    return table


def ranked(
    table: pd.DataFrame, by: str | None = None, *, maximize: bool | None = None
) -> pd.DataFrame:
    """The table's rows best first by metric ``by`` (default: the sweep's objective), the
    rows meeting the constraints before the others, NaN last."""
    info = table.attrs.get("levtrade.sweep", {})
    prefix = info.get("score_prefix", "")
    metric = by or info.get("objective", "sharpe")
    column = metric if metric in table.columns else prefix + metric
    if column not in table.columns:
        raise ConfigError(
            f"by: no column {metric!r} in the sweep table; metrics: "
            + ", ".join(c.removeprefix(prefix) for c in table.columns if c.startswith(prefix))
        )
    if maximize is None and by:
        plain = metric.removeprefix("is_").removeprefix("oos_")
        maximize = Objective(plain).maximize if plain in metric_names() else True
    elif maximize is None:
        maximize = bool(info.get("maximize", True))
    feasible_rows = table["feasible"] if "feasible" in table.columns else True
    order = table.assign(_feasible=~pd.Series(feasible_rows, index=table.index, dtype=bool))
    order = order.sort_values(
        ["_feasible", column], ascending=[True, not maximize], na_position="last", kind="stable"
    )
    return order.drop(columns="_feasible")
