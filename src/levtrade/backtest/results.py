"""BacktestResult: what a run returns, the same for both engines (docs/backtest.md, "Results").

The futures event engine hands the functions that build its tables on first read to
:func:`deferred_result` (:func:`build_result` takes tables already built), which computes the
metrics from the tables and runs the analyzers; the frame builders here fix the column order
and dtypes (the spot engine and pooled runs use them too). The compiled kernel builds the
same columns from its arrays (:func:`levtrade.backtest.kernel.build`), so a result from
either engine compares column by column.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from levtrade._json import to_json_value
from levtrade.backtest.market import RunData
from levtrade.backtest.metrics import compute_metrics
from levtrade.errors import BacktestError
from levtrade.margin import Account, SpotAccount
from levtrade.margin.ledger import Ledger
from levtrade.margin.scopes import ScopedAccount
from levtrade.model.orders import Order, Trade
from levtrade.spec import BacktestConfig, RunSpec

SERIES_COLUMNS = ("time", "equity", "cross_equity", "maintenance_margin", "margin_ratio", "wallet")
"""Leading columns of ``series``; then ``liq:<symbol>`` and ``notional:<symbol>`` per symbol
(``liq:<symbol>:LONG``/``:SHORT`` in hedge mode)."""
LEDGER_COLUMNS = ("time", "kind", "symbol", "debit", "credit", "amount", "currency")
"""``debit`` is the book the amount moved into, ``credit`` the book it came from."""

ORDER_COLUMNS = (
    "id",
    "symbol",
    "leg",
    "side",
    "type",
    "size",
    "price",
    "reduce_only",
    "origin",
    "tag",
    "parent",
    "created_time",
    "status",
    "reason",
    "message",
    "fill_time",
    "fill_price",
    "filled_size",
    "fee",
)


def order_row(order: Order) -> tuple[object, ...]:
    """The order as a row of the orders table (columns :data:`ORDER_COLUMNS`)."""
    return (
        order.id,
        order.symbol,
        order.leg,
        order.side,
        str(order.type),
        order.size,
        order.price,
        order.reduce_only,
        order.origin,
        order.tag,
        None if order.parent is None else order.parent.id,
        order.created_time,
        str(order.status),
        order.reason,
        order.message,
        order.fill_time,
        order.fill_price,
        order.filled_size,
        order.fee,
    )


TRADE_COLUMNS = (
    "symbol",
    "leg",
    "side",
    "entry_time",
    "exit_time",
    "entry_price",
    "exit_price",
    "size",
    "leverage",
    "margin_mode",
    "pnl",
    "fees",
    "funding",
    "exit_reason",
)


def trade_row(trade: Trade) -> tuple[object, ...]:
    """The trade as a row of the trades table (columns :data:`TRADE_COLUMNS`)."""
    return (
        trade.symbol,
        trade.leg,
        trade.side,
        trade.entry_time,
        trade.exit_time,
        trade.entry_price,
        trade.exit_price,
        trade.size,
        trade.leverage,
        trade.margin_mode,
        trade.pnl,
        trade.fees,
        trade.funding,
        trade.exit_reason,
    )


def decision(order: Order, size: float, price: float) -> tuple[object, ...]:
    """What an order says at submission (bar, symbol, side, type, size, level, flags), with
    the ``size`` and ``price`` it had then (the engine rounds them to the lot and tick, and
    moves trailing levels, after submission)."""
    return (
        order.created_bar,
        order.symbol,
        order.side,
        str(order.type),
        None if math.isnan(size) else round(size, 12),
        None if math.isnan(price) else round(price, 9),
        order.reduce_only,
        order.close_position,
        order.leverage,
        order.tag,
    )


@runtime_checkable
class Analyzer(Protocol):
    """Anything with a ``name`` and ``analyze(result)``; run on the finished result."""

    name: str

    def analyze(self, result: BacktestResult) -> pd.DataFrame | Mapping[str, Any]: ...


@dataclass(eq=False)
class BacktestResult:
    """Tables of one run (see the module docstring); ``account`` is the event engine's final
    margin account (None for the compiled kernel and for spot and margin runs, whose account
    is ``spot_account``)."""

    trades: pd.DataFrame
    orders: pd.DataFrame
    ledger: pd.DataFrame
    series: pd.DataFrame
    metrics: pd.Series
    config: BacktestConfig
    metadata: dict[str, Any] = field(default_factory=dict)
    analyzers: dict[str, pd.DataFrame | Mapping[str, Any]] = field(default_factory=dict)
    account: Account | None = None
    spec: RunSpec | None = None
    """The run's resolved specification (set by both engines)."""
    spot_account: SpotAccount | None = None
    """A spot or margin run's final account (the futures runs' ``account`` is None then)."""
    scoped_account: ScopedAccount | None = None
    """A run with collateral pooled by ``account_type``: its pools' accounts (``account`` is
    None then)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Wall seconds of the run's stages, for profiling (two identical runs differ here; no
    figure of the run depends on them): ``prepare_s`` laying out the run (the kernel's input
    arrays, the event engine's set-up), ``simulate_s`` the bar loop (the compiled core, or the
    event engine's run). The tables built on first read come after."""

    @classmethod
    def deferred(
        cls, tables: Mapping[str, Callable[[], pd.DataFrame | pd.Series]], **fields: Any
    ) -> BacktestResult:
        """A result whose ``tables`` (some of ``trades``, ``orders``, ``ledger``, ``series``
        and ``metrics``, by name) are built on first read and then kept, so that a caller who
        reads only some never builds the others; ``fields`` are the others."""
        result = cls.__new__(cls)
        for item in dataclasses.fields(cls):
            if item.name in tables:
                continue
            if item.name in fields:
                value = fields[item.name]
            elif item.default is not dataclasses.MISSING:
                value = item.default
            elif item.default_factory is not dataclasses.MISSING:
                value = item.default_factory()
            else:
                raise TypeError(f"BacktestResult.deferred: missing field {item.name!r}")
            setattr(result, item.name, value)
        result.__dict__["_builders"] = {name: _Once(build) for name, build in tables.items()}
        return result

    if not TYPE_CHECKING:  # to the type checker every field is set

        def __getattr__(self, name: str) -> Any:
            """A deferred table, built now (only called for a name not set)."""
            builders = self.__dict__.get("_builders")
            if builders is None or name not in builders:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            value = builders[name]()
            self.__dict__[name] = value
            return value

    def __getstate__(self) -> dict[str, Any]:
        """The fields with every deferred table built: a copy carries the tables, not the
        functions that build them."""
        state = dict(self.__dict__)
        for name, build in state.pop("_builders", {}).items():
            state.setdefault(name, build())
        return state

    def run_spec(self) -> RunSpec:
        """The run's instruments and tier tables: the engines' own, or resolved from
        ``config`` for a result assembled by hand."""
        if self.spec is None:
            self.spec = RunSpec.resolve(self.config, self.metadata.get("symbols", ()))
        return self.spec

    @property
    def equity(self) -> pd.Series:
        return self.series["equity"]

    @property
    def final_equity(self) -> float:
        """Equity at the end of the run (after the end-of-data close): the last value of
        :attr:`equity`, read from ``metadata["final_equity"]`` where the engine recorded it,
        so that it costs no series (the compiled kernel replays its series to build it)."""
        recorded = self.metadata.get("final_equity")
        if recorded is not None:
            return float(recorded)
        equity = self.series["equity"]
        return float(equity.iloc[-1]) if len(equity) else float(self.config.wallet)

    def summary(self) -> dict[str, Any]:
        """Metrics and run facts as plain JSON-friendly values."""
        values = {k: to_json_value(v) for k, v in self.metrics.items()}
        return {**{k: to_json_value(v) for k, v in self.metadata.items()}, "metrics": values}


class _Once:
    """A deferred table's builder: it builds the table on the first call and returns the same
    table to every later one (copies of a result share it)."""

    def __init__(self, build: Callable[[], pd.DataFrame | pd.Series]) -> None:
        self._build: Callable[[], pd.DataFrame | pd.Series] | None = build
        self._table: pd.DataFrame | pd.Series | None = None

    def __call__(self) -> pd.DataFrame | pd.Series:
        if self._build is not None:
            self._table = self._build()
            self._build = None
        assert self._table is not None
        return self._table


@dataclass(frozen=True)
class RunFigures:
    """What a sweep ranks a run by, without its tables: the run's metrics (the values of
    :attr:`BacktestResult.metrics`, by name) and its rejected orders by reason."""

    metrics: dict[str, Any]
    rejected: dict[str, int]
    """Rejected orders by reason (the orders table's ``reason``), reasons in name order."""

    @property
    def rejected_orders(self) -> int:
        return sum(self.rejected.values())

    @classmethod
    def of(cls, result: BacktestResult) -> RunFigures:
        """The figures of a full result."""
        orders = result.orders
        rejected = orders["status"] == "rejected"
        counts = Counter(str(reason) for reason in orders["reason"][rejected])
        metrics = {str(name): value for name, value in result.metrics.items()}
        return cls(metrics, dict(sorted(counts.items())))


def ledger_frame(ledger: Ledger, end: int | None = None) -> pd.DataFrame:
    """The account ledger with ``debit``/``credit`` columns (:data:`LEDGER_COLUMNS`): its
    first ``end`` entries (all by default)."""
    frame = ledger.to_frame(end)
    return pd.DataFrame(
        {
            "time": frame["time"].to_numpy(),
            "kind": frame["kind"],
            "symbol": frame["symbol"],
            "debit": frame["destination"],
            "credit": frame["source"],
            "amount": frame["amount"],
            "currency": frame["currency"],
        },
        copy=False,
    )


def trades_frame(rows: Iterable[Sequence[object]]) -> pd.DataFrame:
    """Trades table from rows in :data:`TRADE_COLUMNS` order."""
    return _rows_frame(rows, TRADE_COLUMNS, _TRADE_DTYPES)


def orders_frame(rows: Iterable[Sequence[object]]) -> pd.DataFrame:
    """Orders table from rows in :data:`ORDER_COLUMNS` order."""
    return _rows_frame(rows, ORDER_COLUMNS, _ORDER_DTYPES)


_TRADE_DTYPES: dict[str, Any] = {
    **dict.fromkeys(("entry_time", "exit_time"), np.int64),
    **dict.fromkeys(
        ("entry_price", "exit_price", "size", "leverage", "pnl", "fees", "funding"), np.float64
    ),
}
_ORDER_DTYPES: dict[str, Any] = {
    **dict.fromkeys(("size", "price", "fill_price", "filled_size", "fee"), np.float64),
    "created_time": np.int64,
    "fill_time": "Int64",
    "parent": "Int64",
}


def _rows_frame(
    rows: Iterable[Sequence[object]], columns: Sequence[str], dtypes: Mapping[str, Any]
) -> pd.DataFrame:
    """``pd.DataFrame(rows, columns=columns)`` with ``dtypes`` cast, built column by column:
    each column without a dtype comes out as the row constructor infers it, the others are
    built in their dtype directly."""
    listed = rows if isinstance(rows, list) else list(rows)
    data: dict[str, Any] = {}
    if not listed:  # the row constructor gives empty object columns
        for name in columns:
            dtype = dtypes.get(name, object)
            data[name] = pd.array([], dtype=dtype) if dtype == "Int64" else np.array([], dtype)
        return pd.DataFrame(data, copy=False)
    text = text_dtype()
    for name, values in zip(columns, zip(*listed, strict=True), strict=True):
        dtype = dtypes.get(name)
        if dtype is None:
            data[name] = _inferred(values, text)
        elif dtype == "Int64":
            data[name] = pd.array(values, dtype=dtype)
        else:
            data[name] = np.array(values, dtype=dtype)
    return pd.DataFrame(data, copy=False)


_NONE = type(None)


def text_dtype() -> Any:
    """The dtype pandas infers for a column of strings (its options decide: read once per
    table, not once per process)."""
    return pd.Series(["-"]).dtype


@functools.cache
def _takes_dtype(array_type: Any) -> bool:
    return "dtype" in inspect.signature(array_type).parameters


def _arrow_strings(values: Any, text: pd.StringDtype) -> Any:
    """The pandas string array of dtype ``text`` over the Arrow strings ``values``: where the
    array class takes the dtype (pandas 3) it wraps them as they are; ``pd.array`` would
    convert them once more, which took most of a column's time."""
    array_type: Any = text.construct_array_type()
    if _takes_dtype(array_type):
        return array_type(values, dtype=text)
    return pd.array(values, dtype=text)


def _inferred(values: Sequence[object], text: Any) -> Any:
    """The column pandas infers for ``values`` (as ``pd.Series(values)`` does), as an array;
    the common homogeneous cases are built directly. ``text``: the dtype pandas infers for
    strings."""
    kinds = set(map(type, values))
    if kinds <= {str, _NONE} and str in kinds:
        if isinstance(text, pd.StringDtype):
            return pd.array(values, dtype=text)
    elif kinds == {_NONE}:
        return np.array(values, dtype=object)
    elif kinds == {float}:
        return np.array(values, dtype=np.float64)
    elif kinds == {bool}:
        return np.array(values, dtype=np.bool_)
    elif kinds == {int}:
        try:
            return np.array(values, dtype=np.int64)
        except OverflowError:
            pass
    return pd.Series(list(values)).array


def text_column(names: Sequence[str | None], codes: np.ndarray, text: Any) -> Any:
    """The column pandas infers for the values ``names[codes]`` (as :func:`trades_frame` and
    :func:`orders_frame` build a column of their rows): strings (None where a name is None),
    or objects when every value is None; taken from ``names`` by code in one step. ``text``:
    the table's :func:`text_dtype`."""
    lookup = np.array(list(names), dtype=object)
    index = np.asarray(codes, dtype=np.intp)
    used = np.zeros(lookup.size, dtype=np.bool_)
    used[index] = True
    if all(name is None for name in lookup[used]):  # no string: objects, as _inferred
        return lookup[index]
    if isinstance(text, pd.StringDtype) and text.storage == "pyarrow":
        import pyarrow as pa  # the storage of pandas' strings; loaded by then

        taken = pa.array(list(names), type=pa.large_string()).take(pa.array(index))
        return _arrow_strings(taken, text)
    if isinstance(text, pd.StringDtype):
        return pd.array(lookup[index], dtype=text)
    return lookup[index]


def series_frame(
    times: np.ndarray, columns: Mapping[str, np.ndarray], *, copy: bool = True
) -> pd.DataFrame:
    """Per-bar series with a UTC DatetimeIndex; ``columns`` must hold :data:`SERIES_COLUMNS`
    after ``time``, then the per-symbol columns.

    ``copy=False`` takes the columns over as they are, without copying them into one block:
    for columns built for this frame alone (a run's series are as long as the run, so the
    copy is not free). The times are copied either way.
    """
    missing = [c for c in SERIES_COLUMNS[1:] if c not in columns]
    if missing:
        raise BacktestError(f"series: missing column(s) {', '.join(missing)}")
    time = np.asarray(times, dtype=np.int64)
    data = {"time": time if copy else time.copy(), **columns}
    index = pd.DatetimeIndex(pd.to_datetime(data["time"], unit="ms", utc=True), name="date")
    return pd.DataFrame(data, index=index, copy=copy)


def run_metadata(
    engine: str,
    run: RunData,
    venue: str,
    insurance_fund: float,
    final_equity: float | None = None,
) -> dict[str, Any]:
    """The metadata every result carries, the same for both engines; ``final_equity`` (the
    futures runs', whose positions the end of data closes: their cross wallet then) is kept
    when given (:attr:`BacktestResult.final_equity`)."""
    extra = {} if final_equity is None else {"final_equity": final_equity}
    return {
        "engine": engine,
        "symbols": list(run.symbols),
        "timeframe_ms": run.timeframe_ms,
        "bars": run.bars,
        "start": int(run.timestamps[0]),
        "end": int(run.timestamps[-1]),
        "venue": venue,
        "funding_constant": list(run.funding_constant),
        "synthetic": run.synthetic,
        "insurance_fund": insurance_fund,
        **extra,
    }


def build_result(
    *,
    trades: pd.DataFrame,
    orders: pd.DataFrame,
    ledger: pd.DataFrame,
    series: pd.DataFrame,
    spec: RunSpec,
    timeframe_ms: int,
    metadata: Mapping[str, Any] | None = None,
    analyzers: Iterable[Analyzer] = (),
    account: Account | None = None,
) -> BacktestResult:
    """Assemble a result: metrics from the tables, then each analyzer on the result."""
    return deferred_result(
        trades=lambda: trades,
        orders=lambda: orders,
        ledger=lambda: ledger,
        series=lambda: series,
        spec=spec,
        timeframe_ms=timeframe_ms,
        metadata=metadata,
        analyzers=analyzers,
        account=account,
    )


def deferred_result(
    *,
    trades: Callable[[], pd.DataFrame],
    orders: Callable[[], pd.DataFrame],
    ledger: Callable[[], pd.DataFrame],
    series: Callable[[], pd.DataFrame],
    spec: RunSpec,
    timeframe_ms: int,
    metadata: Mapping[str, Any] | None = None,
    analyzers: Iterable[Analyzer] = (),
    account: Account | None = None,
) -> BacktestResult:
    """:func:`build_result` from functions that build the tables: each table is built on its
    first read and the metrics from the tables on theirs (:meth:`BacktestResult.deferred`),
    so a caller who reads only the trades never builds the series, orders or ledger. The
    analyzers run at once and build what they read."""
    config = spec.config

    def metrics() -> pd.Series:
        return compute_metrics(
            result.series,
            result.trades,
            result.ledger,
            initial=config.wallet,
            timeframe_ms=timeframe_ms,
        )

    result = BacktestResult.deferred(
        {
            "trades": trades,
            "orders": orders,
            "ledger": ledger,
            "series": series,
            "metrics": metrics,
        },
        config=config,
        metadata=dict(metadata or {}),
        account=account,
        spec=spec,
    )
    run_analyzers(result, analyzers)
    return result


def run_analyzers(result: BacktestResult, analyzers: Iterable[Analyzer]) -> None:
    """Call each analyzer on the finished result and keep its output under its name."""
    for analyzer in analyzers:
        name = getattr(analyzer, "name", None)
        if not isinstance(name, str) or not callable(getattr(analyzer, "analyze", None)):
            raise BacktestError(
                f"analyzers: {analyzer!r} needs a str `name` and an `analyze(result)` method"
            )
        if name in result.analyzers:
            raise BacktestError(f"analyzers: two analyzers are named {name!r}")
        result.analyzers[name] = analyzer.analyze(result)
