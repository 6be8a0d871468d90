"""The compiled core of the signal kernel: Numba functions over plain arrays.

:func:`simulate` runs docs/backtest.md for a signal table, step for step as the event engine
(:class:`~levtrade.backtest.engine.Engine` driven by
:class:`~levtrade.backtest.signal_exec.SignalDriver`) does. Every margin number is a call into
:mod:`levtrade.margin.formulas`, every intrabar decision a call into
:mod:`levtrade.backtest.path`, and money moves as :class:`~levtrade.margin.account.Account`
moves it: the same ledger entries (books, kinds, amounts), in the same order. One position per
symbol (one-way) or per leg (hedge), linear contracts, one margin mode for the run.

State lives in two arrays, ``st`` (a row per position: per symbol, or in hedge mode rows 2j
and 2j + 1 for symbol j's LONG and SHORT legs; ``X_*`` columns, ``X_SYMBOL`` the row's market
column) and ``acc`` (account, ``A_*``). Output rows name the state row (symbol and leg), which
:mod:`levtrade.backtest.kernel` translates. The run's constants travel as ``ctx`` =
(symbol parameters, parameters, tier tables, ROI table) and the outputs as ``out`` =
(ledger, trades, orders, counters): tables of a capacity the caller chooses, written in
place; a table that fills up keeps counting, and the caller repeats the run with the exact
sizes (:mod:`levtrade.backtest.kernel`). Each function has an explicit signature, so it is
compiled once: ahead of time when the package is installed (:mod:`levtrade.backtest.kernel_aot`),
or else by :func:`compile_kernels` on the first run, cached on disk.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final, TypeVar, cast

import numba
import numba.extending
import numpy as np
from numpy.typing import NDArray

from levtrade.backtest import kernel_layout, path
from levtrade.backtest.kernel_layout import (
    A_CROSS_MULTI,
    A_DIRTY,
    A_FUND,
    A_LAST_PARTIAL,
    A_NEXT_ID,
    A_POSITIONS,
    A_SEQ,
    A_STALE,
    A_TIME,
    A_WALLET,
    B_CROSS,
    B_EXTERNAL,
    B_FEES,
    B_INSURANCE_FUND,
    B_ISOLATED,
    B_LIQUIDATION_FEES,
    B_LIQUIDATOR_VAULT,
    B_MARKET,
    C_LEDGER,
    C_LOG,
    C_ORDERS,
    C_TRADES,
    D_CLOSE,
    D_CREATED,
    D_ID,
    D_LEVERAGE,
    D_ORIGIN,
    D_PRICE,
    D_SIDE,
    D_SIZE,
    D_STAKE,
    D_TAG,
    D_TYPE,
    G_BAR,
    G_ENTRY,
    G_LP,
    G_MARGIN,
    G_MARK,
    G_MULTI,
    G_ROW,
    G_SEQ,
    G_SIZE,
    G_WALLET,
    K_DEPOSIT,
    K_FEE,
    K_FUNDING,
    K_INSURANCE_FUND,
    K_LIQUIDATION,
    K_LIQUIDATION_FEE,
    K_REALIZED_PNL,
    K_TRANSFER,
    L_AMOUNT,
    L_DESTINATION,
    L_KIND,
    L_SOURCE,
    L_SYMBOL,
    L_TIME,
    M_BANKRUPTCY_CLOSE,
    M_PENALTY_CLOSE,
    MS_PER_MINUTE,
    N_ACCOUNT,
    N_LOG,
    N_STATE,
    N_WORK,
    NEVER,
    NUDGES,
    O_CREATED,
    O_FEE,
    O_FILL_PRICE,
    O_FILL_TIME,
    O_FILLED_SIZE,
    O_ID,
    O_ORIGIN,
    O_PRICE,
    O_REASON,
    O_REDUCE_ONLY,
    O_SIDE,
    O_SIZE,
    O_STATUS,
    O_SYMBOL,
    O_TAG,
    O_TYPE,
    ORIGIN_END_OF_DATA,
    ORIGIN_LIQUIDATION,
    ORIGIN_ROI,
    ORIGIN_SIGNAL,
    ORIGIN_STOP_LOSS,
    ORIGIN_TRAILING_STOP,
    P_BACKSTOP,
    P_BUFFER,
    P_CAN_SHORT,
    P_HEDGE,
    P_IGNORE_ROI,
    P_INTEGER_LEVERAGE,
    P_ISOLATED,
    P_LEVERAGE,
    P_LIQ_SLIPPAGE,
    P_MAX_OPEN,
    P_MM_AT_ENTRY,
    P_OUTCOME,
    P_PARTIAL_FRACTION,
    P_PARTIAL_NOTIONAL,
    P_PENALTY,
    P_SLIPPAGE,
    P_STAKE,
    P_STOPLOSS,
    P_TRADABLE_RATIO,
    P_TRAIL_OFFSET,
    P_TRAIL_ONLY_OFFSET,
    P_TRAIL_POSITIVE,
    P_TRAILING,
    P_VOLUME_SLIPPAGE,
    P_WALLET,
    PARTIAL_COOLDOWN_MS,
    REASON_BANKRUPT,
    REASON_END_OF_DATA,
    REASON_INSUFFICIENT_MARGIN,
    REASON_LEVERAGE,
    REASON_LIQUIDATION,
    REASON_MAX_OPEN_TRADES,
    REASON_MIN_NOTIONAL,
    REASON_NO_POSITION,
    REASON_NONE,
    REASON_POSITION_CLOSED,
    REASON_SIZE,
    S_CROSS_EQUITY,
    S_EQUITY,
    S_MAINTENANCE,
    S_MARGIN_RATIO,
    S_WALLET,
    SIG_ENTER_LONG,
    SIG_ENTER_SHORT,
    SIG_EXIT_LONG,
    SIG_EXIT_SHORT,
    SIG_ROI_HOLD_LONG,
    SIG_ROI_HOLD_SHORT,
    STATUS_CANCELLED,
    STATUS_FILLED,
    STATUS_REJECTED,
    T_ENTRY_PRICE,
    T_ENTRY_TIME,
    T_EXIT_PRICE,
    T_EXIT_TIME,
    T_FEES,
    T_FUNDING,
    T_LEVERAGE,
    T_PNL,
    T_REASON,
    T_SIDE,
    T_SIZE,
    T_SYMBOL,
    TAG_ENTER_LONG,
    TAG_ENTER_SHORT,
    TAG_EXIT_LONG,
    TAG_EXIT_SHORT,
    TAG_NONE,
    TYPE_MARKET,
    TYPE_STOP,
    TYPE_TAKE_PROFIT,
    TYPE_TRAILING_STOP,
    W_SAVED_ACCOUNT,
    W_SAVED_STATE,
    X_ENTRY,
    X_ENTRY_CREATED,
    X_ENTRY_ID,
    X_ENTRY_LEVERAGE,
    X_ENTRY_SIDE,
    X_ENTRY_STAKE,
    X_EXIT_CREATED,
    X_EXIT_ID,
    X_EXIT_SIDE,
    X_EXIT_SIZE,
    X_LEG,
    X_LEVERAGE,
    X_LP,
    X_MARGIN,
    X_MARK,
    X_R_ENTRY,
    X_R_INITIAL_STOP,
    X_R_LEVERAGE,
    X_R_OPEN,
    X_R_TIME,
    X_SEQ,
    X_SETTING,
    X_SIZE,
    X_STOP_CREATED,
    X_STOP_ID,
    X_STOP_ORIGIN,
    X_STOP_PRICE,
    X_STOP_TYPE,
    X_SUM_IM,
    X_SUM_MM,
    X_SUM_UPNL,
    X_SYMBOL,
    X_T_CLOSED,
    X_T_ENTRY_VALUE,
    X_T_EXIT_VALUE,
    X_T_FEES,
    X_T_FUNDING,
    X_T_LEVERAGE,
    X_T_REALIZED,
    X_T_SIZE,
    X_T_TIME,
    X_TP_CREATED,
    X_TP_ID,
    X_TP_PRICE,
    X_WATCH,
    X_WATCH_DIR,
    Y_CLEARANCE,
    Y_CONTRACT_SIZE,
    Y_LAST_ACTIVE,
    Y_LOT,
    Y_MAKER,
    Y_MIN_NOTIONAL,
    Y_TAKER,
)
from levtrade.margin import formulas

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
ByteArray = NDArray[np.uint8]
Tiers = tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, IntArray]
"""floors, caps, MM rates (OKX: + taker fee), maintenance amounts, max leverage, offsets."""
Context = tuple[FloatArray, FloatArray, Tiers, FloatArray]
"""symbol parameters (Y_*), parameters (P_*), tiers, ROI table (minutes; ratios)."""
Outputs = tuple[FloatArray, FloatArray, FloatArray, IntArray, FloatArray]
"""ledger, trades, orders tables, their row counters (C_*) and the state log (G_*)."""

F = TypeVar("F", bound=Callable[..., Any])

nt: Any = numba.types
_njit: Any = numba.njit
"""Untyped: the stubs do not list the wrapper options (``no_cpython_wrapper``)."""

_f8 = nt.float64
_i8 = nt.int64
_b1 = nt.boolean
_F1 = nt.float64[::1]
_F2 = nt.float64[:, ::1]
_I1 = nt.int64[::1]
_B1 = nt.boolean[::1]
_B2 = nt.boolean[:, ::1]
_U1 = nt.uint8[::1]
_U2 = nt.uint8[:, ::1]
_TIERS = nt.Tuple((_F1, _F1, _F1, _F1, _F1, _I1))
_CTX = nt.Tuple((_F2, _F1, _TIERS, _F2))
_OUT = nt.Tuple((_F2, _F2, _F2, _I1, _F2))
_BAR = nt.UniTuple(_f8, 9)
_void = nt.void
_RF2 = nt.Array(nt.float64, 2, "C", readonly=True)
_RB2 = nt.Array(nt.boolean, 2, "C", readonly=True)
_MARKET = nt.Tuple((_RF2,) * 11 + (_RB2, _RB2))
"""Market arrays are read-only (they may be views of the caller's data)."""

# the market tuple (``mkt``): arrays of shape (bars, symbols)
MK_OPEN: Final = 0
MK_HIGH: Final = 1
MK_LOW: Final = 2
MK_CLOSE: Final = 3
MK_VOLUME: Final = 4
MK_MARK_OPEN: Final = 5
MK_MARK_HIGH: Final = 6
MK_MARK_LOW: Final = 7
MK_MARK_CLOSE: Final = 8
MK_FUNDING_PRICE: Final = 9
MK_FUNDING_RATE: Final = 10
MK_FUNDED: Final = 11
MK_ACTIVE: Final = 12
Market = tuple[
    FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, FloatArray,
    FloatArray, FloatArray, FloatArray, FloatArray, BoolArray, BoolArray,
]  # fmt: skip


@functools.cache
def source_digest() -> str:
    """A digest of everything the kernel's machine code is compiled from: this module, the
    margin formulas, the path rule, the array layout and Numba's version. It names the
    sources of the ahead-of-time build (:mod:`levtrade.backtest.kernel_aot`) and stamps the
    on-disk cache, whose own key watches this file alone. Read once per process."""
    digest = hashlib.sha256(numba.__version__.encode())
    for module in (formulas, path, kernel_layout):
        digest.update(Path(str(module.__file__)).read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


CERTAIN_ROUNDING: Final = 2.0**-52
"""Twice the unit roundoff: per summed value, the share of the magnitudes by which a margin
read from plain sums must clear zero for the exactly summed test to agree
(:func:`_pool_triggered`)."""

_DIGEST = source_digest()
_STAMP = "levtrade-kernel-dependencies.txt"
_stale_cache: bool | None = None
"""Whether the on-disk cache was built from other dependencies (decided at the first
function, so every function of this module drops its entries alike)."""
_KERNELS: list[tuple[Any, Any]] = []
"""Every kernel function with its signature, in definition order (callees first)."""
_compiled = False


def _kernel(
    signature: Any, *, from_python: bool = False, allocates: bool = False
) -> Callable[[F], F]:
    """Declare a kernel function with an explicit signature, cached on disk; it is compiled
    by :func:`compile_kernels` (once, no literal re-specialisation), not at import: a process
    that runs the ahead-of-time build never compiles it. Numba's cache is keyed on this file
    only, but each compiled function carries the formulas and path functions it calls: when
    those change, the cached entries are dropped.

    Only ``from_python`` functions get the wrapper that unboxes Python arguments: the steps
    are called from compiled code alone, and the wrappers of their tuples of arrays were a
    large share of the first (cold) compilation. No function gets a C-callable wrapper.

    Only functions that allocate (``allocates``, and the ``from_python`` ones) are compiled
    with Numba's reference counting: in the others every array argument would still cost a
    call to count it up and down, even for a borrowed view (:func:`_borrowed`) that has
    nothing to count, on each of the dozens of calls an order takes."""

    def wrap(func: F) -> F:
        global _stale_cache
        dispatcher = _njit(
            cache=True,
            nogil=True,
            no_cpython_wrapper=not from_python,
            no_cfunc_wrapper=True,
            _nrt=from_python or allocates,
        )(func)
        cache = getattr(dispatcher, "_cache", None)
        if cache is not None:
            if _stale_cache is None:
                stamp = Path(cache.cache_path) / _STAMP
                _stale_cache = not stamp.is_file() or stamp.read_text() != _DIGEST
            if _stale_cache:
                cache.flush()
        _KERNELS.append((dispatcher, signature))
        return cast(F, dispatcher)

    return wrap


def compile_kernels() -> None:
    """Compile (or load from the on-disk cache) every kernel function for its signature,
    callees first, and record the dependencies the cache now holds."""
    global _compiled
    if _compiled:
        return
    for dispatcher, signature in _KERNELS:
        dispatcher.compile(signature)
        dispatcher.disable_compile()
    _compiled = True
    cache = getattr(simulate, "_cache", None)
    if cache is None or not _stale_cache:
        return
    with contextlib.suppress(OSError):  # a read-only cache directory: recompile next time
        (Path(cache.cache_path) / _STAMP).write_text(_DIGEST)


def _inlined(func: F) -> F:
    """A small step, or one a pool spanning symbols runs on every bar, inlined into its
    caller at the Numba IR level (no call, no array descriptors passed). Steps with work on
    some bars only are compiled apart (:func:`_kernel`): inlined into the bar loop they made
    the loop slower and the compilation longer."""
    return cast(F, numba.njit(inline="always")(func))


def _borrowed_view(typingctx: Any, array: Any) -> Any:
    """A view of ``array`` that holds no reference to its memory (no meminfo), for arrays the
    caller owns for the whole call (the run's inputs and output tables). Numba counts a
    reference on every array a compiled call is passed (an atomic add and subtract per
    array); an order's execution passes some thirty, which made reference counting the
    larger part of the time an order takes. A view without a meminfo is passed for free."""

    def codegen(context: Any, builder: Any, signature: Any, arguments: Any) -> Any:
        source = context.make_array(array)(context, builder, value=arguments[0])
        view = context.make_array(array)(context, builder)
        context.populate_array(
            view,
            data=source.data,
            shape=source.shape,
            strides=source.strides,
            itemsize=source.itemsize,
            meminfo=None,
        )
        return view._getvalue()

    return array(array), codegen


_borrowed: Any = numba.extending.intrinsic(_borrowed_view)


@_inlined
def _borrowed_market(mkt: Market) -> Market:
    """The market tuple as :func:`_borrowed` views."""
    return (
        _borrowed(mkt[0]), _borrowed(mkt[1]), _borrowed(mkt[2]), _borrowed(mkt[3]),
        _borrowed(mkt[4]), _borrowed(mkt[5]), _borrowed(mkt[6]), _borrowed(mkt[7]),
        _borrowed(mkt[8]), _borrowed(mkt[9]), _borrowed(mkt[10]), _borrowed(mkt[11]),
        _borrowed(mkt[12]),
    )  # fmt: skip


@_inlined
def _borrowed_context(ctx: Context) -> Context:
    """The context tuple (its tier tables included) as :func:`_borrowed` views."""
    floors, caps, mmrs, amounts, maxlev, offsets = ctx[2]
    tiers = (
        _borrowed(floors), _borrowed(caps), _borrowed(mmrs), _borrowed(amounts),
        _borrowed(maxlev), _borrowed(offsets),
    )  # fmt: skip
    return (_borrowed(ctx[0]), _borrowed(ctx[1]), tiers, _borrowed(ctx[3]))


# ============================================================================================
# Output tables
# ============================================================================================


@_kernel(_i8(_I1, _i8, _i8))
def _slot(counters: IntArray, table: int, capacity: int) -> int:
    """The next row of output ``table``, or -1 when it is full (it keeps counting)."""
    row = counters[table]
    counters[table] = row + 1
    return row if row < capacity else -1


@_kernel(_void(_F1, _F2, _i8, _f8))
def _apply(acc: FloatArray, st: FloatArray, book: int, delta: float) -> None:
    if book == B_CROSS:
        acc[A_WALLET] += delta
    elif book == B_INSURANCE_FUND:
        acc[A_FUND] += delta
    elif book >= B_ISOLATED:
        st[book - B_ISOLATED, X_MARGIN] += delta


@_kernel(_void(_OUT, _F1, _F2, _i8, _i8, _i8, _f8, _i8))
def _post(
    out: Outputs,
    acc: FloatArray,
    st: FloatArray,
    kind: int,
    source: int,
    destination: int,
    amount: float,
    symbol: int,
) -> None:
    """:meth:`Ledger.post` and the balances the account mirrors (cross wallet, isolated
    margins, insurance fund): zero records nothing, a negative amount swaps the books."""
    if amount == 0.0:
        return
    if amount < 0.0:
        source, destination, amount = destination, source, -amount
    _apply(acc, st, source, -amount)
    _apply(acc, st, destination, amount)
    acc[A_STALE] = 1.0
    row = _slot(out[3], C_LEDGER, out[0].shape[0])
    if row < 0:
        return
    led = out[0]
    led[row, L_TIME] = acc[A_TIME]
    led[row, L_KIND] = kind
    led[row, L_SOURCE] = source
    led[row, L_DESTINATION] = destination
    led[row, L_AMOUNT] = amount
    led[row, L_SYMBOL] = symbol


@_kernel(
    _void(_OUT, _f8, _i8, _f8, _i8, _f8, _f8, _b1, _f8, _i8, _f8, _i8, _i8, _f8, _f8, _f8, _f8)
)
def _order_row(
    out: Outputs,
    order_id: float,
    j: int,
    side: float,
    kind: int,
    size: float,
    price: float,
    reduce_only: bool,
    origin: float,
    tag: int,
    created: float,
    status: int,
    reason: int,
    fill_time: float,
    fill_price: float,
    filled: float,
    fee: float,
) -> None:
    """One row of the orders table: an order at its final status."""
    at = _slot(out[3], C_ORDERS, out[2].shape[0])
    if at < 0:
        return
    row = out[2][at]
    row[O_ID] = order_id
    row[O_SYMBOL] = j
    row[O_SIDE] = side
    row[O_TYPE] = kind
    row[O_SIZE] = size
    row[O_PRICE] = price
    row[O_REDUCE_ONLY] = 1.0 if reduce_only else 0.0
    row[O_ORIGIN] = origin
    row[O_TAG] = tag
    row[O_CREATED] = created
    row[O_STATUS] = status
    row[O_REASON] = reason
    row[O_FILL_TIME] = fill_time
    row[O_FILL_PRICE] = fill_price
    row[O_FILLED_SIZE] = filled
    row[O_FEE] = fee


@_kernel(_f8(_F1))
def _new_id(acc: FloatArray) -> float:
    acc[A_NEXT_ID] += 1.0
    return float(acc[A_NEXT_ID] - 1.0)


@_kernel(_void(_F1, _F1))
def _copy(source: FloatArray, target: FloatArray) -> None:
    for k in range(source.shape[0]):
        target[k] = source[k]


@_kernel(_void(_F1))
def _fill_nan(values: FloatArray) -> None:
    for k in range(values.shape[0]):
        values[k] = math.nan


@_kernel(_i8(_F2))
def _count_positions(st: FloatArray) -> int:
    count = 0
    for j in range(st.shape[0]):
        if st[j, X_SIZE] != 0.0:
            count += 1
    return count


@_kernel(_void(_F2, _RF2, _RB2, _i8))
def _set_marks(st: FloatArray, marks: FloatArray, active: BoolArray, i: int) -> None:
    """Engine._set_marks: every symbol active at bar ``i`` gets its mark from ``marks``."""
    for r in range(st.shape[0]):
        j = int(st[r, X_SYMBOL])
        if active[i, j]:
            st[r, X_MARK] = marks[i, j]


@_kernel(_void(_F2, _i8, _f8))
def _mark_symbol(st: FloatArray, r: int, price: float) -> None:
    """Account.set_mark of row ``r``'s symbol: the legs of a hedge symbol share its mark."""
    st[r, X_MARK] = price
    if st[r, X_LEG] != 0.0:
        st[r ^ 1, X_MARK] = price


@_kernel(_f8(_F2, _i8))
def _net_size(st: FloatArray, r: int) -> float:
    """The symbol's net size over its legs (Engine._triggered nudges the mark by its sign)."""
    size = st[r, X_SIZE]
    if st[r, X_LEG] != 0.0:
        size += st[r ^ 1, X_SIZE]
    return float(size)


@_inlined
def _partials_add(partials: FloatArray, n: int, x: float) -> int:
    """Add ``x`` to the ``n`` Shewchuk partials (non-overlapping floats whose exact sum is the
    exact sum of what was added, as ``math.fsum`` keeps them); returns how many there are now
    (room for one more than before is needed)."""
    i = 0
    for k in range(n):
        y = partials[k]
        if abs(x) < abs(y):
            x, y = y, x
        hi = x + y
        lo = y - (hi - x)
        if lo != 0.0:
            partials[i] = lo
            i += 1
        x = hi
    partials[i] = x
    return i + 1


@_inlined
def _partials_round(partials: FloatArray, n: int) -> float:
    """The exact sum of the ``n`` partials, rounded as CPython's ``math.fsum`` rounds it
    (half-even)."""
    hi = 0.0
    lo = 0.0
    if n > 0:
        n -= 1
        hi = partials[n]
        while n > 0:
            x = hi
            n -= 1
            y = partials[n]
            hi = x + y
            lo = y - (hi - x)
            if lo != 0.0:
                break
        if n > 0 and ((lo < 0.0 and partials[n - 1] < 0.0) or (lo > 0.0 and partials[n - 1] > 0.0)):
            y = lo * 2.0
            x = hi + y
            if y == x - hi:
                hi = x
    return float(hi)


@_kernel(_f8(_F1, _i8), from_python=True)
def _fsum(values: FloatArray, count: int) -> float:
    """``math.fsum(values[:count])``, bit for bit: Shewchuk's exact partials with CPython's
    final half-even rounding (the account sums with fsum, and so must the kernel for its
    trigger tests and fee caps to fall the same way). Nothing or one value is summed
    without allocating (a position's own figures)."""
    if count == 0:
        return 0.0
    if count == 1:
        return float(values[0])
    partials = np.empty(count + 1)
    n = 0
    for q in range(count):
        n = _partials_add(partials, n, values[q])
    return _partials_round(partials, n)


# ============================================================================================
# Margin figures (every one a call into levtrade.margin.formulas)
# ============================================================================================


@_inlined
def _position_mm(
    st: FloatArray, j: int, price: float, cs: float, at_entry: bool, tiers: Tiers
) -> float:
    """Account._mm: tiered MM at ``price``, or at the entry value (Bybit isolated)."""
    floors, _, mmrs, amounts, _, offsets = tiers
    s = int(st[j, X_SYMBOL])
    at = st[j, X_ENTRY] if at_entry else price
    notional = formulas.linear_notional(st[j, X_SIZE], cs, at)
    return formulas.maintenance_margin_in(
        notional, floors, mmrs, amounts, offsets[s], offsets[s + 1]
    )


@_kernel(_f8(_i8, _f8, _TIERS))
def _max_leverage(j: int, notional: float, tiers: Tiers) -> float:
    """TierTable.max_leverage_at: the tier's maximum, 0 at or beyond the last cap."""
    floors, caps, _, _, maxlev, offsets = tiers
    lo = offsets[j]
    hi = offsets[j + 1]
    n = abs(notional)
    if n >= caps[hi - 1]:
        return 0.0
    return float(maxlev[formulas.tier_index_in(floors, lo, hi, n)])


@_inlined
def _cross_terms(
    st: FloatArray, sp: FloatArray, j: int, tiers: Tiers
) -> tuple[float, float, float]:
    """Row ``j``'s uPnL, initial margin and tiered MM at its mark (the terms of
    :func:`_cross_sums`)."""
    cs = sp[int(st[j, X_SYMBOL]), Y_CONTRACT_SIZE]
    notional = formulas.linear_notional(st[j, X_SIZE], cs, st[j, X_MARK])
    upnl, mm = _cross_figures(st, sp, j, tiers)
    return upnl, formulas.initial_margin(notional, st[j, X_LEVERAGE]), mm


@_kernel(nt.UniTuple(_f8, 3)(_F2, _F2, _b1, _TIERS))
def _cross_sums(
    st: FloatArray, sp: FloatArray, isolated: bool, tiers: Tiers
) -> tuple[float, float, float]:
    """(Σ uPnL, Σ IM, Σ MM) of the cross positions at the marks (Account: fsum, here its
    partials kept in the state's scratch columns as the positions are visited)."""
    if isolated:
        return 0.0, 0.0, 0.0
    upnls = st[:, X_SUM_UPNL]
    ims = st[:, X_SUM_IM]
    mms = st[:, X_SUM_MM]
    n_upnl = 0
    n_im = 0
    n_mm = 0
    for j in range(st.shape[0]):
        if st[j, X_SIZE] == 0.0:
            continue
        upnl, im, mm = _cross_terms(st, sp, j, tiers)
        n_upnl = _partials_add(upnls, n_upnl, upnl)
        n_im = _partials_add(ims, n_im, im)
        n_mm = _partials_add(mms, n_mm, mm)
    return (
        _partials_round(upnls, n_upnl),
        _partials_round(ims, n_im),
        _partials_round(mms, n_mm),
    )


@_kernel(_i8(_F2, _I1))
def _position_order(st: FloatArray, order: IntArray) -> int:
    """Fill ``order`` with the symbols holding a position, in the order the account opened
    them (its position dict order); returns how many."""
    k = 0
    for j in range(st.shape[0]):
        if st[j, X_SIZE] == 0.0:
            continue
        q = k
        while q > 0 and st[order[q - 1], X_SEQ] > st[j, X_SEQ]:
            order[q] = order[q - 1]
            q -= 1
        order[q] = j
        k += 1
    return k


@_inlined
def _cross_figures(st: FloatArray, sp: FloatArray, k: int, tiers: Tiers) -> tuple[float, float]:
    """Row ``k``'s uPnL and tiered MM at its mark (what the account sums over a cross pool's
    other positions)."""
    cs = sp[int(st[k, X_SYMBOL]), Y_CONTRACT_SIZE]
    mark = st[k, X_MARK]
    upnl = formulas.linear_upnl(st[k, X_SIZE], cs, st[k, X_ENTRY], mark)
    return upnl, _position_mm(st, k, mark, cs, False, tiers)


@_inlined
def _cross_solve(st: FloatArray, sp: FloatArray, j: int, const: float, tiers: Tiers) -> float:
    """The cross price of row ``j``'s symbol where the pool's equity equals its MM, ``const``
    being the wallet plus the other symbols' uPnL less their MM: its one leg, or a hedge
    symbol's two held legs solved together in the account's leg order. Inlined: a cross
    pool spanning symbols solves every held row on every bar, and a call passing the tier
    tables costs their six array descriptors on each."""
    floors, _, mmrs, amounts, _, offsets = tiers
    s = int(st[j, X_SYMBOL])
    cs = sp[s, Y_CONTRACT_SIZE]
    lo = offsets[s]
    hi = offsets[s + 1]
    other = j ^ 1
    if st[j, X_LEG] != 0.0 and st[other, X_SIZE] != 0.0:
        a, b = (j, other) if st[j, X_SEQ] < st[other, X_SEQ] else (other, j)
        return formulas.solve_two_legs(
            const, st[a, X_SIZE] * cs, st[a, X_ENTRY], st[b, X_SIZE] * cs, st[b, X_ENTRY],
            floors[lo:hi], mmrs[lo:hi], amounts[lo:hi], st[j, X_MARK],
        )  # fmt: skip
    return formulas.solve_one_leg_in(
        const, st[j, X_SIZE] * cs, st[j, X_ENTRY], lo, hi, floors, mmrs, amounts, st[j, X_MARK]
    )


@_kernel(_f8(_F2, _F2, _F1, _i8, _b1, _b1, _TIERS))
def _liquidation_price(
    st: FloatArray,
    sp: FloatArray,
    acc: FloatArray,
    j: int,
    isolated: bool,
    mm_at_entry: bool,
    tiers: Tiers,
) -> float:
    """Account.liquidation_price of row ``j``'s held position at the marks (NaN: none).

    The account solves its one leg with :func:`formulas.solve_equity_equals_mm`; this calls
    that solve's one-leg form (:func:`formulas.solve_one_leg_in`, bit for bit equal for a
    non-zero size), which allocates nothing: it runs after every funding payment. A hedge
    symbol's two cross legs are one pool, solved together in the account's leg order
    (:func:`formulas.solve_two_legs`, the two-leg form). A cross pool with other symbols
    held adds their uPnL less their MM (fsum's, its partials kept in the state's scratch
    columns)."""
    s = int(st[j, X_SYMBOL])
    if not isolated:
        # the other symbols' uPnL and MM, summed exactly in the state's scratch columns
        upnls = st[:, X_SUM_UPNL]
        mms = st[:, X_SUM_MM]
        n_upnl = 0
        n_mm = 0
        for k in range(st.shape[0]):
            if int(st[k, X_SYMBOL]) == s or st[k, X_SIZE] == 0.0:
                continue
            upnl, mm = _cross_figures(st, sp, k, tiers)
            n_upnl = _partials_add(upnls, n_upnl, upnl)
            n_mm = _partials_add(mms, n_mm, mm)
        others_upnl = _partials_round(upnls, n_upnl)
        other_mm = _partials_round(mms, n_mm)
        return _cross_solve(st, sp, j, acc[A_WALLET] + others_upnl - other_mm, tiers)
    floors, _, mmrs, amounts, _, offsets = tiers
    cs = sp[s, Y_CONTRACT_SIZE]
    qty = st[j, X_SIZE] * cs
    entry = st[j, X_ENTRY]
    const = st[j, X_MARGIN]
    if mm_at_entry:
        mm = _position_mm(st, j, 0.0, cs, True, tiers)
        return _one_leg_bankruptcy_price(const - mm, qty, entry)
    return formulas.solve_one_leg_in(
        const, qty, entry, offsets[s], offsets[s + 1], floors, mmrs, amounts, st[j, X_MARK]
    )


@_kernel(_f8(_f8, _f8, _f8), allocates=True)
def _one_leg_bankruptcy_price(amount: float, qty: float, entry: float) -> float:
    """:func:`formulas.bankruptcy_price` of one leg (it takes the legs as arrays)."""
    qtys = np.empty(1)
    entries = np.empty(1)
    qtys[0] = qty
    entries[0] = entry
    return float(formulas.bankruptcy_price(amount, qtys, entries))


@_inlined
def _sum_without(
    st: FloatArray, j: int, partials: FloatArray, n: int, values: FloatArray, work: FloatArray
) -> float:
    """``math.fsum`` of the held rows' ``values`` but those of row ``j``'s symbol, from the
    ``n`` partials of them all (the account's ExactSum.without): the whole's partials and
    the symbol's values negated, summed and rounded once."""
    for q in range(n):
        work[q] = partials[q]
    first = j
    last = j
    if st[j, X_LEG] != 0.0:  # a hedge symbol: both legs
        first = j - j % 2
        last = first + 1
    for k in range(first, last + 1):
        if st[k, X_SIZE] != 0.0:
            n = _partials_add(work, n, -values[k])
    return _partials_round(work, n)


@_kernel(_void(_F2, _F2, _F1, _I1, _i8, _TIERS, _F2, _F1))
def _cross_liquidation_prices(
    st: FloatArray,
    sp: FloatArray,
    acc: FloatArray,
    order: IntArray,
    held: int,
    tiers: Tiers,
    scratch: FloatArray,
    liq: FloatArray,
) -> None:
    """:func:`_liquidation_price` of each of the ``held`` rows ``order[:held]`` of a cross
    pool into ``liq``, in time linear in the positions, as the account prices them
    (:mod:`levtrade.margin.cross_sums`): every held row's uPnL and MM at its mark is computed
    once (``scratch`` rows 0 and 1) with the partials of their sums (rows 2 and 3), and each
    row's sums over the other symbols are those less its symbol's part (row 4 is work space;
    ``scratch`` has ``m + 2`` columns). Non-finite sums are summed over the others instead.

    It runs on every bar for every held row: the rows of ``scratch`` are taken once."""
    upnls = scratch[0]
    mms = scratch[1]
    upnl_parts = scratch[2]
    mm_parts = scratch[3]
    work = scratch[4]
    m = st.shape[0]
    n_upnl = 0
    n_mm = 0
    for k in range(m):
        if st[k, X_SIZE] != 0.0:
            upnl, mm = _cross_figures(st, sp, k, tiers)
            upnls[k] = upnl
            mms[k] = mm
            n_upnl = _partials_add(upnl_parts, n_upnl, upnl)
            n_mm = _partials_add(mm_parts, n_mm, mm)
    exact = math.isfinite(_partials_round(upnl_parts, n_upnl)) and math.isfinite(
        _partials_round(mm_parts, n_mm)
    )
    for q in range(held):
        j = order[q]
        if not exact:
            liq[j] = _liquidation_price(st, sp, acc, j, False, False, tiers)
            continue
        others_upnl = _sum_without(st, j, upnl_parts, n_upnl, upnls, work)
        other_mm = _sum_without(st, j, mm_parts, n_mm, mms, work)
        liq[j] = _cross_solve(st, sp, j, acc[A_WALLET] + others_upnl - other_mm, tiers)


@_kernel(_f8(_F2, _F2, _i8, _f8, _TIERS))
def _cross_direction(st: FloatArray, sp: FloatArray, j: int, price: float, tiers: Tiers) -> float:
    """Engine._cross_direction for the two cross legs of row ``j``'s hedge symbol: down (−1)
    when ``Σ qty − Σ |qty|·mmr`` (equity − MM's slope at ``price``) is positive, else up."""
    floors, _, mmrs, _, _, offsets = tiers
    s = int(st[j, X_SYMBOL])
    lo = offsets[s]
    cs = sp[s, Y_CONTRACT_SIZE]
    slope = 0.0
    first, second = (j, j ^ 1) if st[j, X_SEQ] < st[j ^ 1, X_SEQ] else (j ^ 1, j)
    for k in (first, second):
        qty = st[k, X_SIZE] * cs
        notional = formulas.linear_notional(st[k, X_SIZE], cs, price)
        rate = mmrs[formulas.tier_index_in(floors, lo, offsets[s + 1], notional)]
        slope += qty - abs(qty) * rate
    return -1.0 if slope > 0 else 1.0


@_kernel(_void(_F2, _F1, _CTX))
def _refresh(st: FloatArray, acc: FloatArray, ctx: Context) -> None:
    """Engine._refresh: the liquidation price each pool's path test watches — every isolated
    position's, and the cross pool's when it holds one symbol (several: the pool is tested at
    the adverse extremes instead)."""
    sp, prm, tiers, _ = ctx
    isolated = prm[P_ISOLATED] != 0.0
    mm_at_entry = prm[P_MM_AT_ENTRY] != 0.0
    m = st.shape[0]
    cross_count = 0  # symbols with cross positions
    for j in range(m):
        st[j, X_WATCH] = math.nan
        st[j, X_LP] = math.nan
        # a hedge symbol with both legs held counts once (at its LONG row)
        if (
            st[j, X_SIZE] != 0.0
            and not isolated
            and not (st[j, X_LEG] < 0 and st[j ^ 1, X_SIZE] != 0.0)
        ):
            cross_count += 1
    for j in range(m):
        if st[j, X_SIZE] == 0.0 or not (isolated or cross_count == 1):
            continue
        other = j ^ 1
        if not isolated and st[j, X_LEG] != 0.0 and st[other, X_SIZE] != 0.0:
            # a hedge symbol's two cross legs: one price, watched on the leg opened first
            if st[j, X_SEQ] > st[other, X_SEQ]:
                continue
            price = _liquidation_price(st, sp, acc, j, False, mm_at_entry, tiers)
            st[j, X_LP] = price
            st[other, X_LP] = price
            if not math.isnan(price):
                st[j, X_WATCH] = price
                st[j, X_WATCH_DIR] = _cross_direction(st, sp, j, price, tiers)
            continue
        price = _liquidation_price(st, sp, acc, j, isolated, mm_at_entry, tiers)
        st[j, X_LP] = price
        if not math.isnan(price):
            st[j, X_WATCH] = price
            st[j, X_WATCH_DIR] = path.liquidation_direction(st[j, X_SIZE])
    acc[A_CROSS_MULTI] = 1.0 if cross_count > 1 else 0.0
    acc[A_STALE] = 0.0
    acc[A_DIRTY] = 1.0


@_kernel(_b1(_F2, _F2, _F1, _i8, _b1, _TIERS))
def _pool_triggered(
    st: FloatArray, sp: FloatArray, acc: FloatArray, j: int, mm_at_entry: bool, tiers: Tiers
) -> bool:
    """The account's trigger test at the marks: the isolated position ``j`` (margin + uPnL ≤
    MM), or with ``j < 0`` the cross pool (equity ≤ Σ MM, the sums fsum's).

    The cross test is first read from plain sums: their rounding (at most ``(count + 1)·u``
    of the sum of magnitudes ``S``, ``u = 2⁻⁵³``) and that of the account's (``3·u·S``) together
    move the margin ``wallet + Σ uPnL − Σ MM`` by less than the bound below, so a plain margin
    above it is one the account's test also finds positive; only a pool nearer its boundary
    (or a non-finite sum) is summed exactly. Every bar of a pool spanning symbols is tested
    at its open and at its adverse extremes."""
    if j >= 0:
        if st[j, X_SIZE] == 0.0:
            return False
        cs = sp[int(st[j, X_SYMBOL]), Y_CONTRACT_SIZE]
        equity = st[j, X_MARGIN] + formulas.linear_upnl(
            st[j, X_SIZE], cs, st[j, X_ENTRY], st[j, X_MARK]
        )
        return bool(equity <= _position_mm(st, j, st[j, X_MARK], cs, mm_at_entry, tiers))
    wallet = acc[A_WALLET]
    upnl = 0.0
    mm = 0.0
    magnitude = abs(wallet)
    count = 0
    for k in range(st.shape[0]):
        if st[k, X_SIZE] != 0.0:
            upnl_k, mm_k = _cross_figures(st, sp, k, tiers)
            upnl += upnl_k
            mm += mm_k
            magnitude += abs(upnl_k) + abs(mm_k)
            count += 1
    if count == 0:
        return False
    if wallet + upnl - mm > (count + 8) * CERTAIN_ROUNDING * magnitude:
        return False
    upnl, _, mm = _cross_sums(st, sp, False, tiers)
    return bool(wallet + upnl <= mm)


@_kernel(_f8(_F2, _F2, _F1, _b1, _TIERS))
def _available_balance(
    st: FloatArray, sp: FloatArray, acc: FloatArray, isolated: bool, tiers: Tiers
) -> float:
    """Account.available_balance: cross equity − cross IM at the marks."""
    upnl, im, _ = _cross_sums(st, sp, isolated, tiers)
    return float(acc[A_WALLET] + upnl - im)


# ============================================================================================
# Fills (Account.fill) and their bookkeeping (Engine._execute / _book_fill / _close_trade)
# ============================================================================================


@_kernel(_i8(_F1, _i8, _f8, _f8, _TIERS))
def _leverage_check(prm: FloatArray, j: int, leverage: float, notional: float, tiers: Tiers) -> int:
    """Account._validate_leverage: ≥ 1, whole where the venue wants it, ≤ the tier maximum."""
    if not (math.isfinite(leverage) and leverage >= 1.0):
        return REASON_LEVERAGE
    if prm[P_INTEGER_LEVERAGE] != 0.0 and leverage != math.floor(leverage):
        return REASON_LEVERAGE
    if leverage > _max_leverage(j, notional, tiers):
        return REASON_LEVERAGE
    return REASON_NONE


@_inlined
def _fill(
    out: Outputs,
    st: FloatArray,
    acc: FloatArray,
    sp: FloatArray,
    prm: FloatArray,
    tiers: Tiers,
    j: int,
    signed: float,
    price: float,
    leverage: float,
    rate: float,
    od: FloatArray,
) -> tuple[int, float, float, float, float]:
    """Account.fill of ``signed`` contracts of symbol ``j`` at ``price`` (``leverage`` NaN:
    keep the setting). Returns (reason, fee, realized, closed, opened); on a rejection
    (reason ≠ 0) nothing has changed: the account and the row are saved in the order's
    undo room (``od``, ``W_*``) and put back."""
    isolated = prm[P_ISOLATED] != 0.0
    saved_acc = od[W_SAVED_ACCOUNT:W_SAVED_STATE]
    saved = od[W_SAVED_STATE:N_WORK]
    _copy(acc, saved_acc)
    _copy(st[j], saved)
    cnt = out[3]
    saved_count = cnt[C_LEDGER]
    s = int(st[j, X_SYMBOL])
    cs = sp[s, Y_CONTRACT_SIZE]
    hedged = st[j, X_LEG] != 0.0
    # the partner leg's mark is the symbol's too (restored with the rest)
    saved_partner = st[j ^ 1, X_MARK] if hedged else math.nan
    if math.isnan(st[j, X_MARK]):
        _mark_symbol(st, j, price)
    current = st[j, X_SIZE]
    reason = REASON_NONE
    if not math.isnan(leverage):
        notional = formulas.linear_notional(current, cs, st[j, X_MARK]) if current else 0.0
        reason = _leverage_check(prm, s, leverage, notional, tiers)
        if reason == REASON_NONE:
            st[j, X_SETTING] = leverage
            if current != 0.0:
                before = st[j, X_LEVERAGE]
                st[j, X_LEVERAGE] = leverage
                if leverage < before:
                    if isolated:
                        needed = formulas.initial_margin(
                            formulas.linear_notional(current, cs, st[j, X_MARK]), leverage
                        )
                        if st[j, X_MARGIN] < needed:
                            reason = REASON_INSUFFICIENT_MARGIN
                    elif _available_balance(st, sp, acc, False, tiers) < 0.0:
                        reason = REASON_INSUFFICIENT_MARGIN
    closing = 0.0
    if current != 0.0 and (current > 0) != (signed > 0):
        closing = -current if abs(signed) >= abs(current) else signed
    opening = signed - closing
    book = B_ISOLATED + j if isolated else B_CROSS
    realized = 0.0
    fee = 0.0
    if reason == REASON_NONE and closing != 0.0:
        closed = -closing
        fraction = abs(closed) / abs(current)
        remaining = current + closing
        realized = formulas.linear_upnl(closed, cs, st[j, X_ENTRY], price)
        fee = rate * formulas.linear_notional(closed, cs, price)
        _post(out, acc, st, K_REALIZED_PNL, B_MARKET, book, realized, j)
        _post(out, acc, st, K_FEE, book, B_FEES, fee, j)
        if isolated:
            margin = st[j, X_MARGIN]
            if margin < 0:
                reason = REASON_BANKRUPT
            else:
                release = margin if remaining == 0.0 else margin * fraction
                _post(out, acc, st, K_TRANSFER, book, B_CROSS, release, j)
        st[j, X_SIZE] = remaining
    if reason == REASON_NONE and opening != 0.0:
        if st[j, X_SIZE] == 0.0:
            st[j, X_SIZE] = opening
            st[j, X_ENTRY] = price
            st[j, X_LEVERAGE] = st[j, X_SETTING]
            st[j, X_MARGIN] = 0.0
            st[j, X_SEQ] = acc[A_SEQ]
            acc[A_SEQ] += 1.0
        else:
            st[j, X_ENTRY] = formulas.average_entry(st[j, X_SIZE], st[j, X_ENTRY], opening, price)
            st[j, X_SIZE] += opening
        added = formulas.linear_notional(opening, cs, price)
        open_fee = rate * added
        if isolated:
            margin_needed = formulas.initial_margin(added, st[j, X_LEVERAGE])
            _post(out, acc, st, K_TRANSFER, B_CROSS, book, margin_needed, j)
        _post(out, acc, st, K_FEE, B_CROSS, B_FEES, open_fee, j)
        fee += open_fee
        notional = formulas.linear_notional(st[j, X_SIZE], cs, price)
        reason = _leverage_check(prm, s, st[j, X_LEVERAGE], notional, tiers)
        if reason == REASON_NONE and _available_balance(st, sp, acc, isolated, tiers) < 0.0:
            reason = REASON_INSUFFICIENT_MARGIN
    if reason == REASON_NONE and closing != 0.0 and not isolated:
        upnl, _, _ = _cross_sums(st, sp, False, tiers)
        if acc[A_WALLET] + upnl < 0.0:
            reason = REASON_BANKRUPT
    if reason != REASON_NONE:
        _copy(saved_acc, acc)
        _copy(saved, st[j])
        if hedged:
            st[j ^ 1, X_MARK] = saved_partner
        cnt[C_LEDGER] = saved_count
        return reason, 0.0, 0.0, 0.0, 0.0
    return REASON_NONE, fee, realized, closing, opening


@_kernel(_void(_OUT, _F2, _i8, _f8, _i8, _f8, _i8))
def _rule_row(
    out: Outputs, st: FloatArray, j: int, order_id: float, kind: int, side: float, reason: int
) -> None:
    """The orders-table row of a rule order (stop, take-profit) that ended unfilled."""
    if kind == TYPE_TAKE_PROFIT:
        price = st[j, X_TP_PRICE]
        origin = float(ORIGIN_ROI)
        created = st[j, X_TP_CREATED]
    else:
        price = st[j, X_STOP_PRICE]
        origin = st[j, X_STOP_ORIGIN]
        created = st[j, X_STOP_CREATED]
    _order_row(
        out, order_id, j, side, kind, math.nan, price, True, origin, TAG_NONE, created,
        STATUS_CANCELLED, reason, math.nan, math.nan, 0.0, 0.0,
    )  # fmt: skip


@_kernel(_void(_OUT, _F2, _i8, _f8, _i8))
def _cancel_resting(out: Outputs, st: FloatArray, j: int, side: float, reason: int) -> None:
    """Cancel symbol ``j``'s resting rule orders; ``side`` is the side they would fill."""
    if st[j, X_STOP_ID] != 0.0:
        _rule_row(out, st, j, st[j, X_STOP_ID], int(st[j, X_STOP_TYPE]), side, reason)
        st[j, X_STOP_ID] = 0.0
    if st[j, X_TP_ID] != 0.0:
        _rule_row(out, st, j, st[j, X_TP_ID], TYPE_TAKE_PROFIT, side, reason)
        st[j, X_TP_ID] = 0.0


@_kernel(_void(_OUT, _F2, _F1, _i8, _f8, _f8))
def _close_trade(
    out: Outputs, st: FloatArray, acc: FloatArray, j: int, side: float, reason: float
) -> None:
    """Engine._close_trade: record the trade, cancel the exits waiting on its position and
    drop the signal rules' state for it."""
    at = _slot(out[3], C_TRADES, out[1].shape[0])
    if at >= 0:
        row = out[1][at]
        row[T_SYMBOL] = j
        row[T_SIDE] = side
        row[T_ENTRY_TIME] = st[j, X_T_TIME]
        row[T_EXIT_TIME] = acc[A_TIME]
        row[T_ENTRY_PRICE] = st[j, X_T_ENTRY_VALUE] / st[j, X_T_SIZE]
        closed = st[j, X_T_CLOSED]
        row[T_EXIT_PRICE] = st[j, X_T_EXIT_VALUE] / closed if closed else math.nan
        row[T_SIZE] = st[j, X_T_SIZE]
        row[T_LEVERAGE] = st[j, X_T_LEVERAGE]
        row[T_PNL] = st[j, X_T_REALIZED] - st[j, X_T_FEES] + st[j, X_T_FUNDING]
        row[T_FEES] = st[j, X_T_FEES]
        row[T_FUNDING] = st[j, X_T_FUNDING]
        row[T_REASON] = reason
    st[j, X_T_TIME] = math.nan
    exit_side = 1.0 if side < 0 else -1.0
    _cancel_resting(out, st, j, exit_side, REASON_POSITION_CLOSED)
    if st[j, X_EXIT_ID] != 0.0:
        tag = TAG_EXIT_LONG if side > 0 else TAG_EXIT_SHORT
        _order_row(
            out, st[j, X_EXIT_ID], j, exit_side, TYPE_MARKET, st[j, X_EXIT_SIZE], math.nan,
            True, ORIGIN_SIGNAL, tag, st[j, X_EXIT_CREATED], STATUS_CANCELLED,
            REASON_POSITION_CLOSED, math.nan, math.nan, 0.0, 0.0,
        )  # fmt: skip
        st[j, X_EXIT_ID] = 0.0
    st[j, X_R_OPEN] = 0.0


@_kernel(_void(_OUT, _F1, _i8, _i8, _i8, _f8, _f8, _f8, _f8))
def _finish_order(
    out: Outputs,
    od: FloatArray,
    j: int,
    status: int,
    reason: int,
    fill_time: float,
    fill_price: float,
    filled: float,
    fee: float,
) -> None:
    _order_row(
        out, od[D_ID], j, od[D_SIDE], int(od[D_TYPE]), od[D_SIZE], od[D_PRICE],
        od[D_CLOSE] != 0.0, od[D_ORIGIN], int(od[D_TAG]), od[D_CREATED], status, reason,
        fill_time, fill_price, filled, fee,
    )  # fmt: skip


@_kernel(_f8(_f8, _f8))
def _round_size(size: float, lot: float) -> float:
    """Instrument.round_size: toward zero to the lot."""
    if lot <= 0:
        return size
    lots = math.floor(abs(size) / lot + 1e-9)
    return math.copysign(lots * lot, size)


@_inlined
def _stake_size(
    st: FloatArray,
    acc: FloatArray,
    sp: FloatArray,
    prm: FloatArray,
    tiers: Tiers,
    od: FloatArray,
    base: float,
    j: int,
) -> float:
    """Engine._stake_size: ``stake × leverage / price`` at the fill price with the fixed
    slippage, rounded down to the lot; a negative result is the rejection reason."""
    leverage = od[D_LEVERAGE] if not math.isnan(od[D_LEVERAGE]) else st[j, X_SETTING]
    price = path.slipped(base, od[D_SIDE] > 0, prm[P_SLIPPAGE])
    stake = od[D_STAKE] if not math.isnan(od[D_STAKE]) else prm[P_STAKE]
    if math.isnan(stake):
        limit = prm[P_MAX_OPEN] if not math.isnan(prm[P_MAX_OPEN]) else st.shape[0]
        slots = limit - _count_positions(st)
        if slots <= 0:
            return -float(REASON_MAX_OPEN_TRADES)
        available = _available_balance(st, sp, acc, prm[P_ISOLATED] != 0.0, tiers)
        stake = available * prm[P_TRADABLE_RATIO] / slots
    if not stake > 0:
        return -float(REASON_INSUFFICIENT_MARGIN)
    s = int(st[j, X_SYMBOL])
    notional = formulas.linear_notional(1.0, sp[s, Y_CONTRACT_SIZE], price)
    size = _round_size(stake * leverage / notional, sp[s, Y_LOT])
    if not size > 0:
        return -float(REASON_SIZE)
    return size


@_inlined
def _rule_orders(
    st: FloatArray,
    acc: FloatArray,
    ctx: Context,
    j: int,
    mark_open: FloatArray,
    active: BoolArray,
    i: int,
) -> None:
    """SignalDriver.on_order for a filled entry: the stop-loss (trailing with
    ``trailing_stop``; never beyond the buffered liquidation price) and the ROI take-profit.

    The buffer floor's liquidation price is the watched one, else (a cross pool spanning
    symbols) the account's at the marks in force at the fill, the open's: the close's would
    look ahead. A hedge leg takes it only on its losing side (a cross price the other,
    larger leg puts on this leg's winning side bounds nothing for it)."""
    sp, prm, tiers, roi = ctx
    is_long = st[j, X_SIZE] > 0
    entry = st[j, X_ENTRY]
    leverage = st[j, X_LEVERAGE]
    stop = math.nan
    # the stop at the buffered liquidation price is labelled a liquidation (FreqTrade's name)
    origin = ORIGIN_STOP_LOSS
    if not math.isnan(prm[P_STOPLOSS]):
        stop = path.stoploss_level(entry, is_long, prm[P_STOPLOSS], leverage)
    buffer = prm[P_BUFFER]
    if buffer > 0:
        if acc[A_STALE] != 0.0:
            _refresh(st, acc, ctx)
        liquidation = st[j, X_LP]
        if math.isnan(liquidation):
            _set_marks(st, mark_open, active, i)
            liquidation = _liquidation_price(
                st, sp, acc, j, prm[P_ISOLATED] != 0.0, prm[P_MM_AT_ENTRY] != 0.0, tiers
            )
        if st[j, X_LEG] != 0.0 and not (liquidation < entry if is_long else liquidation > entry):
            liquidation = math.nan
        if not math.isnan(liquidation):
            floor = formulas.buffered_liquidation_price(liquidation, entry, buffer)
            if math.isnan(stop) or (floor > stop if is_long else floor < stop):
                stop = floor
                origin = ORIGIN_LIQUIDATION
    if not math.isnan(stop) or prm[P_TRAILING] != 0.0:
        st[j, X_STOP_ID] = _new_id(acc)
        st[j, X_STOP_PRICE] = stop
        st[j, X_STOP_TYPE] = TYPE_TRAILING_STOP if prm[P_TRAILING] != 0.0 else TYPE_STOP
        st[j, X_STOP_ORIGIN] = origin
        st[j, X_STOP_CREATED] = acc[A_TIME]
    st[j, X_R_OPEN] = 1.0
    st[j, X_R_ENTRY] = entry
    st[j, X_R_LEVERAGE] = leverage
    st[j, X_R_TIME] = acc[A_TIME]
    st[j, X_R_INITIAL_STOP] = stop
    if roi.shape[1] > 0:
        ratio = path.roi_ratio(roi[0], roi[1], 0.0)
        st[j, X_TP_ID] = _new_id(acc)
        st[j, X_TP_PRICE] = _roi_price(st, sp, j, ratio)
        st[j, X_TP_CREATED] = acc[A_TIME]


@_inlined
def _roi_price(st: FloatArray, sp: FloatArray, j: int, ratio: float) -> float:
    """SignalDriver._roi_level: the ROI exit price of row ``j``'s trade for ``ratio``, net of
    the entry's taker fee, the take-profit's maker fee and the funding booked so far."""
    s = int(st[j, X_SYMBOL])
    return path.roi_level(
        st[j, X_R_ENTRY], st[j, X_SIZE] > 0, ratio, st[j, X_R_LEVERAGE],
        abs(st[j, X_SIZE]) * sp[s, Y_CONTRACT_SIZE], st[j, X_T_FUNDING], sp[s, Y_TAKER],
        sp[s, Y_MAKER],
    )  # fmt: skip


@_kernel(_b1(_OUT, _F2, _F1, _CTX, _F1, _f8, _f8, _i8))
def _execute(
    out: Outputs,
    st: FloatArray,
    acc: FloatArray,
    ctx: Context,
    od: FloatArray,
    base: float,
    volume: float,
    j: int,
) -> bool:
    """Engine._execute of order ``od`` at ``base`` (before slippage; ``volume``: the bar's,
    for volume slippage): size it, check it, fill it through the account and book the trade.
    Returns whether an entry filled: the caller then lets the signal rules place its exits
    (:func:`_rule_orders`, which reads the market; this step is passed no market array:
    every array passed costs its descriptor on each order)."""
    sp, prm, tiers, _ = ctx
    s = int(st[j, X_SYMBOL])
    cs = sp[s, Y_CONTRACT_SIZE]
    current = st[j, X_SIZE]
    kind = int(od[D_TYPE])
    slips = kind != TYPE_TAKE_PROFIT
    nan = math.nan
    if od[D_CLOSE] != 0.0:
        if current == 0.0:
            _finish_order(out, od, j, STATUS_CANCELLED, REASON_NO_POSITION, nan, nan, 0.0, 0.0)
            return False
        signed = -current
    else:
        size = od[D_SIZE]
        if math.isnan(size):
            size = _stake_size(st, acc, sp, prm, tiers, od, base, j)
            if size < 0:
                _finish_order(out, od, j, STATUS_REJECTED, int(-size), nan, nan, 0.0, 0.0)
                return False
        signed = size if od[D_SIDE] > 0 else -size
    reducing = current != 0.0 and (current > 0) != (signed > 0)
    opening = abs(signed) - (min(abs(signed), abs(current)) if reducing else 0.0)
    limit = prm[P_MAX_OPEN]
    if current == 0.0 and not math.isnan(limit) and _count_positions(st) >= limit:
        _finish_order(out, od, j, STATUS_REJECTED, REASON_MAX_OPEN_TRADES, nan, nan, 0.0, 0.0)
        return False
    price = base
    if slips:
        slip = path.participation_slippage(
            prm[P_SLIPPAGE], prm[P_VOLUME_SLIPPAGE], abs(signed) * cs, volume
        )
        price = path.slipped(base, signed > 0, slip)
    minimum = sp[s, Y_MIN_NOTIONAL]
    if opening > 0 and minimum > 0 and formulas.linear_notional(opening, cs, price) < minimum:
        _finish_order(out, od, j, STATUS_REJECTED, REASON_MIN_NOTIONAL, nan, nan, 0.0, 0.0)
        return False
    rate = sp[s, Y_MAKER] if kind == TYPE_TAKE_PROFIT else sp[s, Y_TAKER]
    reason, fee, realized, closed, opened = _fill(
        out, st, acc, sp, prm, tiers, j, signed, price, od[D_LEVERAGE], rate, od
    )
    if reason != REASON_NONE:
        _finish_order(out, od, j, STATUS_REJECTED, reason, nan, nan, 0.0, 0.0)
        return False
    acc[A_STALE] = 1.0  # Engine._changed: also a fill that moved no money (zero fees)
    # Engine._book_fill
    after = st[j, X_SIZE]
    close_fee = 0.0
    if closed != 0.0:
        close_fee = rate * formulas.linear_notional(closed, cs, price)
        st[j, X_T_CLOSED] += abs(closed)
        st[j, X_T_EXIT_VALUE] += abs(closed) * price
        st[j, X_T_REALIZED] += realized
        st[j, X_T_FEES] += close_fee
        if after == 0.0 or (after > 0) != (current > 0):
            _close_trade(out, st, acc, j, 1.0 if current > 0 else -1.0, od[D_ORIGIN])
    if opened != 0.0 and after != 0.0:
        if math.isnan(st[j, X_T_TIME]):
            st[j, X_T_TIME] = acc[A_TIME]
            for column in (X_T_SIZE, X_T_ENTRY_VALUE, X_T_CLOSED, X_T_EXIT_VALUE):
                st[j, column] = 0.0
            for column in (X_T_REALIZED, X_T_FEES, X_T_FUNDING):
                st[j, column] = 0.0
        st[j, X_T_SIZE] += abs(opened)
        st[j, X_T_ENTRY_VALUE] += abs(opened) * price
        st[j, X_T_FEES] += fee - close_fee
        st[j, X_T_LEVERAGE] = st[j, X_LEVERAGE]
    acc[A_POSITIONS] = _count_positions(st)
    _finish_order(out, od, j, STATUS_FILLED, REASON_NONE, acc[A_TIME], price, signed, fee)
    return int(od[D_TAG]) in (TAG_ENTER_LONG, TAG_ENTER_SHORT)


# ============================================================================================
# Liquidation (Engine._liquidate → Account.liquidate → the venue's outcome model)
# ============================================================================================


@_kernel(_b1(_F2, _F1, _CTX, _i8, _F1))
def _triggered(
    st: FloatArray, acc: FloatArray, ctx: Context, pool: int, prices: FloatArray
) -> bool:
    """Engine._triggered: the trigger test with the marks at ``prices`` (NaN: unchanged),
    nudged by up to a millionth in the adverse direction when rounding misses it."""
    sp, prm, tiers, _ = ctx
    at_entry = prm[P_ISOLATED] != 0.0 and prm[P_MM_AT_ENTRY] != 0.0
    m = st.shape[0]
    for k in range(m):
        if not math.isnan(prices[k]):
            st[k, X_MARK] = prices[k]
    if _pool_triggered(st, sp, acc, pool, at_entry, tiers):
        return True
    for step in NUDGES:
        for k in range(m):
            if not math.isnan(prices[k]):
                factor = 1.0 - step if _net_size(st, k) > 0 else 1.0 + step
                st[k, X_MARK] = prices[k] * factor
        if _pool_triggered(st, sp, acc, pool, at_entry, tiers):
            return True
    for k in range(m):
        if not math.isnan(prices[k]):
            st[k, X_MARK] = prices[k]
    return False


@_kernel(_b1(_OUT, _F2, _F1, _CTX, _i8, _F1, _MARKET, _i8), allocates=True)
def _liquidate(
    out: Outputs,
    st: FloatArray,
    acc: FloatArray,
    ctx: Context,
    pool: int,
    prices: FloatArray,
    mkt: Market,
    i: int,
) -> bool:
    """Liquidate the isolated position ``pool`` (or the cross pool, ``pool < 0``) at
    ``prices`` (per row, alike for a symbol's legs; NaN: its mark) per the venue's outcome
    model, and book the trades (each closed trade's pnl carries its share of what the pool
    lost). Every active symbol is valued at its mark open, the pool's symbols at ``prices``;
    False (nothing happens) when the account's trigger test does not confirm the
    liquidation."""
    sp, prm, tiers, _ = ctx
    _set_marks(st, mkt[MK_MARK_OPEN], mkt[MK_ACTIVE], i)
    if not _triggered(st, acc, ctx, pool, prices):
        return False
    isolated = pool >= 0
    at_entry = isolated and prm[P_MM_AT_ENTRY] != 0.0
    book = B_ISOLATED + pool if isolated else B_CROSS
    if isolated:
        legs = np.empty(1, dtype=np.int64)
        legs[0] = pool
        margin_before = st[pool, X_MARGIN]
    else:
        legs = np.empty(st.shape[0], dtype=np.int64)
        legs = legs[: _position_order(st, legs)]
        margin_before = acc[A_WALLET]
    n = legs.shape[0]
    executed = np.empty(n)
    pnl = np.empty(n)
    notional = np.empty(n)
    mm = np.empty(n)
    for q in range(n):
        k = legs[q]
        cs = sp[int(st[k, X_SYMBOL]), Y_CONTRACT_SIZE]
        base = prices[k] if not math.isnan(prices[k]) else st[k, X_MARK]
        executed[q] = formulas.slipped_price(base, st[k, X_SIZE], prm[P_LIQ_SLIPPAGE])
        pnl[q] = formulas.linear_upnl(st[k, X_SIZE], cs, st[k, X_ENTRY], executed[q])
        notional[q] = formulas.linear_notional(st[k, X_SIZE], cs, executed[q])
        mm[q] = _position_mm(st, k, executed[q], cs, at_entry, tiers)
    equity = margin_before + _fsum(pnl, n)
    # liquidation.plan_liquidation
    fractions = np.empty(n)
    for q in range(n):
        fractions[q] = 1.0
    model = int(prm[P_OUTCOME])
    fee = 0.0
    fee_book = B_INSURANCE_FUND
    to_fund = False
    backstop = False
    partial = False
    if model == M_BANKRUPTCY_CLOSE:
        for q in range(n):
            pnl[q] = sp[int(st[legs[q], X_SYMBOL]), Y_CLEARANCE] * notional[q]
        fee = formulas.capped_fee(_fsum(pnl, n), equity)
        fee_book = B_LIQUIDATION_FEES
        to_fund = True
    elif model == M_PENALTY_CLOSE:
        fee = formulas.capped_fee(prm[P_PENALTY] * _fsum(notional, n), equity)
    elif not math.isnan(prm[P_BACKSTOP]) and equity < prm[P_BACKSTOP] * _fsum(mm, n):
        backstop = True
    else:
        last = acc[A_LAST_PARTIAL]
        cooling = not math.isnan(last) and acc[A_TIME] - last < PARTIAL_COOLDOWN_MS
        fraction = prm[P_PARTIAL_FRACTION]
        threshold = prm[P_PARTIAL_NOTIONAL]
        if not (math.isnan(threshold) or fraction >= 1.0 or cooling or equity < 0.0):
            for q in range(n):
                if notional[q] > threshold:
                    fractions[q] = fraction
                    partial = True
    # Account._liquidate: book the plan
    closed = np.empty(n)
    realized = np.empty(n)
    for q in range(n):
        realized[q] = 0.0
    if backstop:
        for q in range(n):
            closed[q] = st[legs[q], X_SIZE]
        _post(out, acc, st, K_LIQUIDATION, book, B_LIQUIDATOR_VAULT, margin_before, -1)
    else:
        for q in range(n):
            k = legs[q]
            size = st[k, X_SIZE]
            closed[q] = size if fractions[q] == 1.0 else size * fractions[q]
            cs = sp[int(st[k, X_SYMBOL]), Y_CONTRACT_SIZE]
            realized[q] = formulas.linear_upnl(closed[q], cs, st[k, X_ENTRY], executed[q])
            _post(out, acc, st, K_REALIZED_PNL, B_MARKET, book, realized[q], k)
        _post(out, acc, st, K_LIQUIDATION_FEE, book, fee_book, fee, -1)
    released = 0.0
    if partial:
        acc[A_LAST_PARTIAL] = acc[A_TIME]
    else:
        residual = st[pool, X_MARGIN] if isolated else acc[A_WALLET]
        if residual < 0.0:
            _post(out, acc, st, K_INSURANCE_FUND, B_INSURANCE_FUND, book, -residual, -1)
        elif to_fund:
            _post(out, acc, st, K_LIQUIDATION, book, B_INSURANCE_FUND, residual, -1)
        if isolated:
            released = st[pool, X_MARGIN]
            _post(out, acc, st, K_TRANSFER, book, B_CROSS, released, -1)
    margin_after = st[pool, X_MARGIN] if isolated else acc[A_WALLET]
    # Engine._liquidate: the trades
    rest = -(margin_before - margin_after - released) - _fsum(realized, n)
    for q in range(n):
        cs = sp[int(st[legs[q], X_SYMBOL]), Y_CONTRACT_SIZE]
        notional[q] = formulas.linear_notional(closed[q], cs, executed[q])
    total_weight = _fsum(notional, n)
    for q in range(n):
        k = legs[q]
        share = rest * notional[q] / total_weight if total_weight > 0 else rest / n
        st[k, X_T_REALIZED] += realized[q] + share
        st[k, X_T_CLOSED] += abs(closed[q])
        st[k, X_T_EXIT_VALUE] += abs(closed[q]) * executed[q]
        size = st[k, X_SIZE]
        if closed[q] == size:
            st[k, X_SIZE] = 0.0
            st[k, X_MARGIN] = 0.0
            side = 1.0 if size > 0 else -1.0
            _cancel_resting(out, st, k, -side, REASON_LIQUIDATION)
            _close_trade(out, st, acc, k, side, ORIGIN_LIQUIDATION)
        else:
            st[k, X_SIZE] = size - closed[q]
    acc[A_POSITIONS] = _count_positions(st)
    acc[A_STALE] = 1.0
    return True


# ============================================================================================
# One bar, in order (docs/backtest.md)
# ============================================================================================


@_inlined
def _open_liquidations(
    out: Outputs,
    st: FloatArray,
    acc: FloatArray,
    ctx: Context,
    mkt: Market,
    i: int,
    prices: FloatArray,
) -> None:
    """Pools the mark opens beyond their liquidation price are liquidated at the mark open:
    a cross pool spanning symbols tested at the open marks, then each watched pool.
    ``prices`` is all-NaN scratch space, returned all NaN."""
    sp, prm, tiers, _ = ctx
    isolated = prm[P_ISOLATED] != 0.0
    mark_open = mkt[MK_MARK_OPEN]
    active = mkt[MK_ACTIVE]
    m = st.shape[0]
    hedge = prm[P_HEDGE] != 0.0
    if acc[A_STALE] != 0.0:
        _refresh(st, acc, ctx)
    if acc[A_CROSS_MULTI] != 0.0:
        _set_marks(st, mark_open, active, i)
        if _pool_triggered(st, sp, acc, -1, False, tiers):
            for k in range(m):
                sk = int(st[k, X_SYMBOL])
                if active[i, sk] and st[k, X_SIZE] != 0.0:
                    prices[k] = mark_open[i, sk]
                    if hedge:  # the symbol's price for both legs
                        prices[k ^ 1] = mark_open[i, sk]
            _liquidate(out, st, acc, ctx, -1, prices, mkt, i)
            _fill_nan(prices)
    for j in range(0, m, 2 if hedge else 1):
        s = int(st[j, X_SYMBOL])
        if not active[i, s]:
            continue
        mark = mark_open[i, s]
        last = j + 1 if hedge else j
        prices[j] = mark
        prices[last] = mark
        # a partial liquidation leaves a position that may still be past its new price; of a
        # hedge symbol's watched legs, the one opened first is tested first
        while True:
            hit = -1
            for k in range(j, last + 1):
                watch = st[k, X_WATCH]
                if math.isnan(watch):
                    continue
                if path.reach_fraction(mark, mark, watch, int(st[k, X_WATCH_DIR])) != 0.0:
                    continue
                if hit < 0 or st[k, X_SEQ] < st[hit, X_SEQ]:
                    hit = k
            if hit < 0:
                break
            if not _liquidate(out, st, acc, ctx, hit if isolated else -1, prices, mkt, i):
                break
            if acc[A_STALE] != 0.0:
                _refresh(st, acc, ctx)
        prices[j] = math.nan
        prices[last] = math.nan


@_kernel(_void(_OUT, _F2, _F1, _CTX, _RF2, _RF2, _RF2, _RB2, _i8, _F1, _F1, _I1))
def _fill_market(
    out: Outputs,
    st: FloatArray,
    acc: FloatArray,
    ctx: Context,
    open_: FloatArray,
    volume: FloatArray,
    mark_open: FloatArray,
    active: BoolArray,
    i: int,
    od: FloatArray,
    keys: FloatArray,
    which: IntArray,
) -> None:
    """Step 2: pending market orders of symbols active at bar ``i`` fill at the open, the
    orders that reduce a position first, each group in submission order (``od``: the order
    being executed; ``keys`` and ``which``: room to sort two orders a state row). Passed the
    four market arrays it reads, not the market tuple: it runs on every bar with an order."""
    m = st.shape[0]
    count = 0
    for j in range(m):
        if not active[i, int(st[j, X_SYMBOL])]:
            continue
        current = st[j, X_SIZE]
        for exit_order in (True, False):
            order_id = st[j, X_EXIT_ID] if exit_order else st[j, X_ENTRY_ID]
            if order_id == 0.0:
                continue
            reduces = exit_order or (current != 0.0 and (current > 0) != (st[j, X_ENTRY_SIDE] > 0))
            key = order_id + (0.0 if reduces else 1e15)
            q = count
            while q > 0 and keys[q - 1] > key:
                keys[q] = keys[q - 1]
                which[q] = which[q - 1]
                q -= 1
            keys[q] = key
            which[q] = 2 * j + (0 if exit_order else 1)
            count += 1
    if count == 0:
        return
    _set_marks(st, mark_open, active, i)
    for q in range(count):
        code = which[q]
        j = code // 2
        if code % 2 == 0:
            od[D_ID] = st[j, X_EXIT_ID]
            od[D_SIDE] = st[j, X_EXIT_SIDE]
            od[D_CLOSE] = 1.0
            od[D_SIZE] = st[j, X_EXIT_SIZE]
            od[D_LEVERAGE] = math.nan
            od[D_STAKE] = math.nan
            od[D_TAG] = TAG_EXIT_LONG if st[j, X_EXIT_SIDE] < 0 else TAG_EXIT_SHORT
            od[D_CREATED] = st[j, X_EXIT_CREATED]
            st[j, X_EXIT_ID] = 0.0
        else:
            od[D_ID] = st[j, X_ENTRY_ID]
            od[D_SIDE] = st[j, X_ENTRY_SIDE]
            od[D_CLOSE] = 0.0
            od[D_SIZE] = math.nan
            od[D_LEVERAGE] = st[j, X_ENTRY_LEVERAGE]
            od[D_STAKE] = st[j, X_ENTRY_STAKE]
            od[D_TAG] = TAG_ENTER_LONG if st[j, X_ENTRY_SIDE] > 0 else TAG_ENTER_SHORT
            od[D_CREATED] = st[j, X_ENTRY_CREATED]
            st[j, X_ENTRY_ID] = 0.0
        if od[D_ID] == 0.0:
            continue
        od[D_TYPE] = TYPE_MARKET
        od[D_PRICE] = math.nan
        od[D_ORIGIN] = ORIGIN_SIGNAL
        s = int(st[j, X_SYMBOL])
        if _execute(out, st, acc, ctx, od, open_[i, s], volume[i, s], j):
            _rule_orders(st, acc, ctx, j, mark_open, active, i)


@_kernel(_void(_F2, _F2, _F1, _i8, _f8))
def _trail(st: FloatArray, sp: FloatArray, prm: FloatArray, j: int, price: float) -> None:
    """SignalDriver.trail: FreqTrade's trailing stop at a path point (stake ratios / L; the
    offset against the profit ratio net of both taker fees and the funding booked so far)."""
    if st[j, X_STOP_ID] == 0.0 or st[j, X_STOP_TYPE] != TYPE_TRAILING_STOP:
        return
    if st[j, X_R_OPEN] == 0.0:
        return
    is_long = st[j, X_SIZE] > 0
    leverage = st[j, X_R_LEVERAGE]
    s = int(st[j, X_SYMBOL])
    profit = path.profit_ratio(
        st[j, X_R_ENTRY], price, is_long, leverage, abs(st[j, X_SIZE]) * sp[s, Y_CONTRACT_SIZE],
        st[j, X_T_FUNDING], sp[s, Y_TAKER], sp[s, Y_TAKER],
    )  # fmt: skip
    ratio = path.trailing_ratio(
        profit,
        prm[P_STOPLOSS],
        prm[P_TRAIL_POSITIVE],
        prm[P_TRAIL_OFFSET],
        prm[P_TRAIL_ONLY_OFFSET] != 0.0,
    )
    if math.isnan(ratio):
        return
    current = st[j, X_STOP_PRICE]
    moved = path.trail_stop(current, price, is_long, ratio / leverage, 0.0)
    if moved != current:
        st[j, X_STOP_PRICE] = moved
        if moved != st[j, X_R_INITIAL_STOP]:
            st[j, X_STOP_ORIGIN] = ORIGIN_TRAILING_STOP


@_kernel(_void(_OUT, _F2, _F1, _CTX, _MARKET, _i8, _i8, _b1, _F1, _F1))
def _walk_symbol(
    out: Outputs,
    st: FloatArray,
    acc: FloatArray,
    ctx: Context,
    mkt: Market,
    i: int,
    j: int,
    only_open: bool,
    od: FloatArray,
    prices: FloatArray,
) -> None:
    """Step 3 for the symbol of row ``j``, its first row (Engine._walk_symbol): the legs
    O→X→Y→C of the trade candle and, in the same phase, of the mark candle. On each leg the
    event at the smallest fraction happens first (liquidation, then stops, then take-profits
    on a tie; a hedge symbol's two legs: the position opened first, then the lower order id),
    then the rest of the leg is walked again; trailing stops move at each path point."""
    prm = ctx[1]
    last = j + 1 if prm[P_HEDGE] != 0.0 else j
    s = int(st[j, X_SYMBOL])
    o = mkt[MK_OPEN][i, s]
    c = mkt[MK_CLOSE][i, s]
    mo = mkt[MK_MARK_OPEN][i, s]
    isolated = prm[P_ISOLATED] != 0.0
    lows_first = path.low_first(o, c)
    trade_points = path.path_points(o, mkt[MK_HIGH][i, s], mkt[MK_LOW][i, s], c, lows_first)
    mark_points = path.path_points(
        mo, mkt[MK_MARK_HIGH][i, s], mkt[MK_MARK_LOW][i, s], mkt[MK_MARK_CLOSE][i, s], lows_first
    )
    touched = False
    refused = 0  # pools whose liquidation the account refused in this walk (bit per row)
    for leg in range(3):
        ts0 = trade_points[leg]
        te0 = trade_points[leg + 1]
        ms0 = mark_points[leg]
        me0 = mark_points[leg + 1]
        f0 = 0.0
        opened = leg != 0
        while True:
            if acc[A_STALE] != 0.0:
                _refresh(st, acc, ctx)
            trade_at = path.price_at(ts0, te0, f0)
            mark_at = path.price_at(ms0, me0, f0)
            best_f = NEVER
            best = 4  # rank: 1 liquidation, 2 stop, 3 take-profit; 4 nothing
            best_row = j
            best_key = 0.0  # among equal ranks: position order (liquidation), order id
            for k in range(j, last + 1):
                for rank in range(1, 4):
                    if rank == 1:
                        level = st[k, X_WATCH]
                        if math.isnan(level) or refused & (1 << (k - j) if isolated else 1):
                            continue
                        fr = path.reach_fraction(mark_at, me0, level, int(st[k, X_WATCH_DIR]))
                        key = st[k, X_SEQ]
                    elif rank == 2:
                        if st[k, X_STOP_ID] == 0.0:
                            continue
                        direction = path.stop_direction(not st[k, X_SIZE] > 0)
                        fr = path.reach_fraction(trade_at, te0, st[k, X_STOP_PRICE], direction)
                        key = st[k, X_STOP_ID]
                    else:
                        if st[k, X_TP_ID] == 0.0:
                            continue
                        direction = path.limit_direction(not st[k, X_SIZE] > 0)
                        fr = path.reach_fraction(trade_at, te0, st[k, X_TP_PRICE], direction)
                        key = st[k, X_TP_ID]
                    if fr == NEVER:
                        continue
                    f = f0 + (1.0 - f0) * fr
                    if f < best_f or (
                        f == best_f and (rank < best or (rank == best and key < best_key))
                    ):
                        best_f = f
                        best = rank
                        best_row = k
                        best_key = key
            if not opened and (best == 4 or best_f > 0.0):
                if only_open:
                    return
                for k in range(j, last + 1):
                    _trail(st, ctx[0], prm, k, ts0)
                opened = True
                continue
            if best == 4:
                break
            touched = True
            gap = best_f == f0
            r = best_row
            if best == 1:
                prices[j] = mark_at if gap else st[r, X_WATCH]
                prices[last] = prices[j]
                if not _liquidate(out, st, acc, ctx, r if isolated else -1, prices, mkt, i):
                    refused |= 1 << (r - j) if isolated else 1
                prices[j] = math.nan
                prices[last] = math.nan
            else:
                is_long = st[r, X_SIZE] > 0
                _set_marks(st, mkt[MK_MARK_OPEN], mkt[MK_ACTIVE], i)
                _mark_symbol(st, r, path.price_at(ms0, me0, best_f))
                od[D_SIDE] = 1.0 if not is_long else -1.0
                od[D_CLOSE] = 1.0
                od[D_SIZE] = math.nan
                od[D_LEVERAGE] = math.nan
                od[D_STAKE] = math.nan
                od[D_TAG] = TAG_NONE
                if best == 2:
                    od[D_ID] = st[r, X_STOP_ID]
                    od[D_TYPE] = st[r, X_STOP_TYPE]
                    od[D_PRICE] = st[r, X_STOP_PRICE]
                    od[D_ORIGIN] = st[r, X_STOP_ORIGIN]
                    od[D_CREATED] = st[r, X_STOP_CREATED]
                    st[r, X_STOP_ID] = 0.0
                else:
                    od[D_ID] = st[r, X_TP_ID]
                    od[D_TYPE] = TYPE_TAKE_PROFIT
                    od[D_PRICE] = st[r, X_TP_PRICE]
                    od[D_ORIGIN] = ORIGIN_ROI
                    od[D_CREATED] = st[r, X_TP_CREATED]
                    st[r, X_TP_ID] = 0.0
                price = trade_at if gap else od[D_PRICE]
                _execute(out, st, acc, ctx, od, price, mkt[MK_VOLUME][i, s], r)
            f0 = best_f
        for k in range(j, last + 1):
            _trail(st, ctx[0], prm, k, te0)
    if touched:
        _mark_symbol(st, j, mo)


@_inlined
def _adverse_extremes(
    out: Outputs,
    st: FloatArray,
    acc: FloatArray,
    ctx: Context,
    mkt: Market,
    i: int,
    prices: FloatArray,
) -> None:
    """A cross pool spanning symbols is tested with every position at its adverse mark
    extreme of the bar (long → mark low, short → mark high) and liquidated there if it
    fails."""
    sp, _, tiers, _ = ctx
    if acc[A_STALE] != 0.0:
        _refresh(st, acc, ctx)
    if acc[A_CROSS_MULTI] == 0.0:
        return
    active = mkt[MK_ACTIVE]
    _set_marks(st, mkt[MK_MARK_OPEN], active, i)
    for j in range(st.shape[0]):
        s = int(st[j, X_SYMBOL])
        if active[i, s] and st[j, X_SIZE] != 0.0:
            # a hedge symbol's legs: the extreme adverse to their net size, for both
            if _net_size(st, j) > 0:
                prices[j] = mkt[MK_MARK_LOW][i, s]
            else:
                prices[j] = mkt[MK_MARK_HIGH][i, s]
            st[j, X_MARK] = prices[j]
    if _pool_triggered(st, sp, acc, -1, False, tiers):
        _liquidate(out, st, acc, ctx, -1, prices, mkt, i)
    _fill_nan(prices)
    _set_marks(st, mkt[MK_MARK_OPEN], active, i)


@_kernel(_void(_OUT, _F2, _F1, _CTX, _MARKET), allocates=True)
def _end_of_data(out: Outputs, st: FloatArray, acc: FloatArray, ctx: Context, mkt: Market) -> None:
    """Cancel what still waits; close each open position at its last close."""
    sp = ctx[0]
    m = st.shape[0]
    nan = math.nan
    for j in range(m):
        if st[j, X_EXIT_ID] != 0.0:
            side = st[j, X_EXIT_SIDE]
            tag = TAG_EXIT_LONG if side < 0 else TAG_EXIT_SHORT
            _order_row(
                out, st[j, X_EXIT_ID], j, side, TYPE_MARKET, st[j, X_EXIT_SIZE], nan, True,
                ORIGIN_SIGNAL, tag, st[j, X_EXIT_CREATED], STATUS_CANCELLED,
                REASON_END_OF_DATA, nan, nan, 0.0, 0.0,
            )  # fmt: skip
            st[j, X_EXIT_ID] = 0.0
        if st[j, X_ENTRY_ID] != 0.0:
            side = st[j, X_ENTRY_SIDE]
            tag = TAG_ENTER_LONG if side > 0 else TAG_ENTER_SHORT
            _order_row(
                out, st[j, X_ENTRY_ID], j, side, TYPE_MARKET, nan, nan, False, ORIGIN_SIGNAL,
                tag, st[j, X_ENTRY_CREATED], STATUS_CANCELLED, REASON_END_OF_DATA, nan, nan,
                0.0, 0.0,
            )  # fmt: skip
            st[j, X_ENTRY_ID] = 0.0
        if st[j, X_SIZE] != 0.0:
            _cancel_resting(out, st, j, 1.0 if st[j, X_SIZE] < 0 else -1.0, REASON_END_OF_DATA)
    last = mkt[MK_OPEN].shape[0] - 1
    mark_close = mkt[MK_MARK_CLOSE]
    _set_marks(st, mark_close, mkt[MK_ACTIVE], last)
    od = np.empty(N_WORK)
    order = np.empty(m, dtype=np.int64)
    for q in range(_position_order(st, order)):
        j = order[q]
        s = int(st[j, X_SYMBOL])
        at = int(sp[s, Y_LAST_ACTIVE])
        _mark_symbol(st, j, mark_close[at, s])
        size = st[j, X_SIZE]
        od[D_ID] = _new_id(acc)
        od[D_TYPE] = TYPE_MARKET
        od[D_SIDE] = -1.0 if size > 0 else 1.0
        od[D_CLOSE] = 1.0
        od[D_SIZE] = abs(size)
        od[D_PRICE] = nan
        od[D_LEVERAGE] = nan
        od[D_STAKE] = nan
        od[D_ORIGIN] = ORIGIN_END_OF_DATA
        od[D_TAG] = TAG_NONE
        od[D_CREATED] = acc[A_TIME]
        _execute(out, st, acc, ctx, od, mkt[MK_CLOSE][at, s], mkt[MK_VOLUME][last, s], j)


_SIGNALS = nt.Tuple((_U2, _F2, _F2))


@_kernel(_void(_F2, _F1, _F1, _SIGNALS, _RB2, _i8))
def _hedge_decisions(
    st: FloatArray,
    acc: FloatArray,
    prm: FloatArray,
    signals: tuple[ByteArray, FloatArray, FloatArray],
    active: BoolArray,
    i: int,
) -> None:
    """SignalDriver._on_close_hedge: per symbol, exit LONG, exit SHORT, enter LONG, enter
    SHORT, each leg by its own columns (an entry when the leg is flat or exits on this bar).
    Compiled apart from :func:`simulate`, which one-way runs keep as small as it was."""
    bits_at, leverages, stakes = signals
    can_short = prm[P_CAN_SHORT] != 0.0
    for s in range(bits_at.shape[1]):
        bits = bits_at[i, s]
        if bits == 0 or not active[i, s]:
            continue
        for j in range(2 * s, 2 * s + 2):
            current = st[j, X_SIZE]
            if current != 0.0 and (bits & (SIG_EXIT_LONG if j % 2 == 0 else SIG_EXIT_SHORT)):
                st[j, X_EXIT_ID] = _new_id(acc)
                st[j, X_EXIT_SIDE] = -st[j, X_LEG]
                st[j, X_EXIT_SIZE] = abs(current)
                st[j, X_EXIT_CREATED] = acc[A_TIME]
        for j in range(2 * s, 2 * s + 2):
            if j % 2 == 0:
                wanted = (bits & SIG_ENTER_LONG) != 0
            else:
                wanted = (bits & SIG_ENTER_SHORT) != 0 and can_short
            if not wanted or (st[j, X_SIZE] != 0.0 and st[j, X_EXIT_ID] == 0.0):
                continue
            leverage = leverages[i if leverages.shape[0] > 1 else 0, s]
            st[j, X_ENTRY_ID] = _new_id(acc)
            st[j, X_ENTRY_SIDE] = st[j, X_LEG]
            st[j, X_ENTRY_LEVERAGE] = prm[P_LEVERAGE] if math.isnan(leverage) else leverage
            st[j, X_ENTRY_STAKE] = stakes[i if stakes.shape[0] > 1 else 0, s]
            st[j, X_ENTRY_CREATED] = acc[A_TIME]


# ============================================================================================
# The run
# ============================================================================================

_SERIES = nt.Tuple((_F2, _F2, _F2))
SIMULATE_SIGNATURE: Final = _F1(_I1, _MARKET, _B1, _SIGNALS, _CTX, _OUT)
"""What :func:`simulate` takes and returns (the ahead-of-time build checks its arguments
against it: compiled code has no type dispatch to refuse other arrays)."""


@_kernel(_i8(_F2, _F1, _b1, _i8, _RF2, _RF2, _RF2, _RF2, _RF2, _RB2, _B1, _U2))
def _next_bar(
    st: FloatArray,
    acc: FloatArray,
    can_short: bool,
    i: int,
    low: FloatArray,
    high: FloatArray,
    mark_open: FloatArray,
    mark_low: FloatArray,
    mark_high: FloatArray,
    active: BoolArray,
    funding_bar: BoolArray,
    bits_at: ByteArray,
) -> int:
    """The next bar after ``i`` on which :func:`simulate` may change something, for a one-way
    account settled at the end of bar ``i`` (no stale figures, no cross pool spanning
    symbols). The bars skipped are the ones where every step would find nothing to do: no
    funding event while a position is held, and on each symbol's active bars no watched
    liquidation price reached by the mark's open or extreme, no resting stop inside the
    trade range and no signal the held side (or, flat, an entry) reads. A pending order, a
    take-profit or a trailing stop moves on every bar: with one of them the next bar is
    ``i + 1``. The last bar always runs (the end-of-data close).

    Each symbol's state is fixed until then, so each symbol's column is scanned on its own,
    up to the nearest bar found so far; the first scan also stops at a funding event while
    a position is held (one pass over the bars where a separate one read the flags again)."""
    m = st.shape[0]
    for j in range(m):
        if (
            st[j, X_EXIT_ID] != 0.0
            or st[j, X_ENTRY_ID] != 0.0
            or st[j, X_TP_ID] != 0.0
            or (st[j, X_STOP_ID] != 0.0 and st[j, X_STOP_TYPE] == TYPE_TRAILING_STOP)
        ):
            return i + 1
    start = max(i + 1, 0)
    end: int = max(low.shape[0] - 1, start)
    held = acc[A_POSITIONS] > 0
    for j in range(m):
        end = _symbol_quiet_until(
            st, j, can_short, start, end, low, high, mark_open, mark_low, mark_high, active,
            bits_at, funding_bar, held and j == 0,
        )  # fmt: skip
    return end


@_inlined
def _symbol_quiet_until(
    st: FloatArray,
    j: int,
    can_short: bool,
    start: int,
    end: int,
    low: FloatArray,
    high: FloatArray,
    mark_open: FloatArray,
    mark_low: FloatArray,
    mark_high: FloatArray,
    active: BoolArray,
    bits_at: ByteArray,
    funding_bar: BoolArray,
    funded: bool,
) -> int:
    """The first bar of ``start``..``end`` − 1 on which symbol ``j`` (one-way: row and market
    column ``j``) has work (see :func:`_next_bar`), or with ``funded`` any symbol's funding
    event falls, else ``end``."""
    size = st[j, X_SIZE]
    if size > 0:
        wanted = SIG_EXIT_LONG
    elif size < 0:
        wanted = SIG_EXIT_SHORT
    else:
        wanted = SIG_ENTER_LONG | (SIG_ENTER_SHORT if can_short else 0)
    # the tests of step 1 (the mark's open) and step 3 (the path), as written there, each as
    # ``sign · price >= sign · level``: a position watched above (a short) tests the mark's
    # open and high upwards, one watched below the open and low downwards, a pool watched
    # without a direction the open downwards and the high upwards; a resting stop the low
    # (long) or the high (short). One comparison form keeps a single loop with few arrays live.
    watch = st[j, X_WATCH]
    watched = not math.isnan(watch)
    direction = st[j, X_WATCH_DIR]
    open_sign = 1.0 if direction > 0 else -1.0
    extreme = mark_low if direction < 0 else mark_high
    extreme_sign = -1.0 if direction < 0 else 1.0
    stop = st[j, X_STOP_PRICE] if st[j, X_STOP_ID] != 0.0 else math.nan
    stopped = not math.isnan(stop)
    stop_prices = low if size > 0 else high
    stop_sign = -1.0 if size > 0 else 1.0
    # unsigned indices: no negative-index wraparound to test on each of the bar's reads
    c = np.uintp(j)
    for q in range(np.uintp(start), np.uintp(end)):
        k = int(np.int64(q))
        if funded and funding_bar[q]:
            return k
        if not active[q, c]:
            continue
        if (bits_at[q, c] & wanted) != 0:
            return k
        if watched and (
            open_sign * mark_open[q, c] >= open_sign * watch
            or extreme_sign * extreme[q, c] >= extreme_sign * watch
        ):
            return k
        if stopped and stop_sign * stop_prices[q, c] >= stop_sign * stop:
            return k
    return end


@_kernel(_void(_F1, _F2))
def _initial_state(prm: FloatArray, st: FloatArray) -> None:
    """Set the state rows ``st`` (a symbol's, or in hedge mode its LONG and SHORT legs') as
    they are before the first bar: what :func:`simulate` starts from and
    :func:`replay_series` replays the log on."""
    stride = 2 if prm[P_HEDGE] != 0.0 else 1
    st[:] = 0.0
    for j in range(st.shape[0]):
        st[j, X_SYMBOL] = j // stride
        if stride == 2:
            st[j, X_LEG] = 1.0 if j % 2 == 0 else -1.0
        st[j, X_SETTING] = prm[P_LEVERAGE]
        st[j, X_MARK] = math.nan
        st[j, X_WATCH] = math.nan
        st[j, X_LP] = math.nan
        st[j, X_T_TIME] = math.nan


@_inlined
def _differs(a: float, b: float) -> bool:
    """Whether a logged value changed (NaN equals NaN)."""
    return a != b and not (math.isnan(a) and math.isnan(b))


@_kernel(_void(_OUT, _F2, _F1, _F2, _RB2, _i8))
def _log_state(
    out: Outputs, st: FloatArray, acc: FloatArray, logged: FloatArray, active: BoolArray, i: int
) -> None:
    """Log, at the end of bar ``i``, what the series read and the bar changed: the account's
    wallet and pool kind, and each position row whose size, entry, margin, liquidation price,
    opening order or mark moved (``logged`` holds the last values logged, in the log's
    column order from ``G_SIZE``: a row per state row, then the account's). The mark counts
    only where the series cannot take it from the market: a pool spanning symbols reads
    every active symbol's mark close. The columns are written out one by one: a tuple of
    column numbers indexed in a loop cost more than the comparisons."""
    m = st.shape[0]
    log = out[4]
    capacity = log.shape[0]
    multi = acc[A_CROSS_MULTI]
    if _differs(acc[A_WALLET], logged[m, 0]) or multi != logged[m, 1]:
        at = _slot(out[3], C_LOG, capacity)
        if at >= 0:
            log[at, G_BAR] = i
            log[at, G_ROW] = -1.0
            log[at, G_WALLET] = acc[A_WALLET]
            log[at, G_MULTI] = multi
            for c in range(G_MULTI + 1, N_LOG):  # a position row's columns
                log[at, c] = 0.0
        logged[m, 0] = acc[A_WALLET]
        logged[m, 1] = multi
    for j in range(m):
        read_from_market = multi != 0.0 and active[i, int(st[j, X_SYMBOL])]
        size = st[j, X_SIZE]
        entry = st[j, X_ENTRY]
        margin = st[j, X_MARGIN]
        lp = st[j, X_LP]
        seq = st[j, X_SEQ]
        mark = st[j, X_MARK]
        if not (
            _differs(size, logged[j, 0])
            or _differs(entry, logged[j, 1])
            or _differs(margin, logged[j, 2])
            or _differs(lp, logged[j, 3])
            or _differs(seq, logged[j, 4])
            or (not read_from_market and _differs(mark, logged[j, 5]))
        ):
            continue
        logged[j, 0] = size
        logged[j, 1] = entry
        logged[j, 2] = margin
        logged[j, 3] = lp
        logged[j, 4] = seq
        logged[j, 5] = mark
        at = _slot(out[3], C_LOG, capacity)
        if at >= 0:
            log[at, G_BAR] = i
            log[at, G_ROW] = j
            for c in range(6):
                log[at, G_SIZE + c] = logged[j, c]


@_kernel(SIMULATE_SIGNATURE, from_python=True)
def simulate(
    timestamps: IntArray,
    mkt: Market,
    funding_bar: BoolArray,
    signals: tuple[ByteArray, FloatArray, FloatArray],
    ctx: Context,
    out: Outputs,
) -> FloatArray:
    """Run a signal table over the bars (see the module docstring); returns the account
    scalars at the end.

    ``mkt`` holds the market arrays (``MK_*``, shape (bars, symbols)), ``funding_bar`` whether
    any symbol has a funding event at each bar, ``signals`` = (bits ``SIG_*``, leverage,
    stake; the last two per bar, or one row for every bar). The per-bar series are not
    written here: the end of each bar that changed what they read logs it (``out[4]``,
    ``G_*``), and :func:`replay_series` computes them from the log when they are asked for.
    The steps are called when they have work (a call is passed each array's descriptor; the
    arrays are :func:`_borrowed` views). After a bar that leaves a one-way account settled,
    :func:`_next_bar` jumps over the bars on which no step would find anything to do, so a
    position held without resting orders costs a few comparisons per bar.
    """
    mkt = _borrowed_market(mkt)
    out = (
        _borrowed(out[0]), _borrowed(out[1]), _borrowed(out[2]), _borrowed(out[3]),
        _borrowed(out[4]),
    )  # fmt: skip
    ctx = _borrowed_context(ctx)
    sp, prm, _, roi = ctx
    funding_bar = _borrowed(funding_bar)
    bits_at = _borrowed(signals[0])
    leverages = _borrowed(signals[1])
    stakes = _borrowed(signals[2])
    signals = (bits_at, leverages, stakes)
    low = mkt[MK_LOW]
    high = mkt[MK_HIGH]
    mark_open = mkt[MK_MARK_OPEN]
    mark_low = mkt[MK_MARK_LOW]
    mark_high = mkt[MK_MARK_HIGH]
    mark_close = mkt[MK_MARK_CLOSE]
    active = mkt[MK_ACTIVE]
    funded = mkt[MK_FUNDED]
    funding_price = mkt[MK_FUNDING_PRICE]
    funding_rate = mkt[MK_FUNDING_RATE]
    roi_minutes = roi[0]
    roi_ratios = roi[1]
    isolated = prm[P_ISOLATED] != 0.0
    can_short = prm[P_CAN_SHORT] != 0.0
    hedge = prm[P_HEDGE] != 0.0
    ignore_roi = prm[P_IGNORE_ROI] != 0.0
    stride = 2 if hedge else 1
    n, symbols = low.shape
    m = symbols * stride  # state rows: a symbol's, or in hedge mode its LONG and SHORT legs'
    # the state rows and the account scalars (row m), in one array this call owns to its end
    # (it returns the account row), and the order being executed with its fill's undo room:
    # the steps are passed borrowed views of them
    own = np.empty((m + 1, N_STATE))
    st = _borrowed(own[:m])
    _initial_state(prm, st)
    acc = _borrowed(own[m, :N_ACCOUNT])
    acc[:] = 0.0
    work = np.empty(N_WORK)
    od = _borrowed(work)
    logged = np.empty((m + 1, 6))
    for j in range(m):
        logged[j, 0] = st[j, X_SIZE]
        logged[j, 1] = st[j, X_ENTRY]
        logged[j, 2] = st[j, X_MARGIN]
        logged[j, 3] = st[j, X_LP]
        logged[j, 4] = st[j, X_SEQ]
        logged[j, 5] = st[j, X_MARK]
    logged[m, 0] = 0.0
    logged[m, 1] = 0.0
    acc[A_LAST_PARTIAL] = math.nan
    acc[A_NEXT_ID] = 1.0
    acc[A_TIME] = timestamps[0]
    _post(out, acc, st, K_DEPOSIT, B_EXTERNAL, B_CROSS, prm[P_WALLET], -1)
    walk = np.zeros(symbols, dtype=np.bool_)
    keys = np.empty(2 * m)
    which = np.empty(2 * m, dtype=np.int64)
    prices = np.empty(m)
    _fill_nan(prices)
    i = 0
    while i < n:
        acc[A_TIME] = timestamps[i]
        # step 1: funding (each held symbol with an event receives −size·cs·price·rate into
        # its book), then pools the mark opens beyond their liquidation price. Written out
        # here on the arrays taken from the tuples once: a step passed ``ctx``/``mkt`` costs
        # their array descriptors on every funding bar.
        if acc[A_POSITIONS] > 0:
            if funding_bar[i]:
                for j in range(m):
                    s = j // stride
                    if not funded[i, s]:
                        continue
                    # a hedge symbol's legs are paid in the account's position order
                    k = j
                    if hedge and st[j | 1, X_SEQ] < st[j - j % 2, X_SEQ]:
                        k = j ^ 1
                    size = st[k, X_SIZE]
                    if size == 0.0:
                        continue
                    _mark_symbol(st, k, mark_open[i, s])
                    amount = formulas.funding_payment(
                        size, sp[s, Y_CONTRACT_SIZE], funding_price[i, s], funding_rate[i, s]
                    )
                    st[k, X_T_FUNDING] += amount
                    book = B_ISOLATED + k if isolated else B_CROSS
                    _post(out, acc, st, K_FUNDING, B_MARKET, book, amount, k)
                    acc[A_STALE] = 1.0
            if acc[A_STALE] != 0.0:
                _refresh(st, acc, ctx)
            due = acc[A_CROSS_MULTI] != 0.0
            for j in range(m):
                watch = st[j, X_WATCH]
                s = j // stride
                if active[i, s] and not math.isnan(watch):
                    beyond = mark_open[i, s] <= watch
                    if st[j, X_WATCH_DIR] > 0:
                        beyond = mark_open[i, s] >= watch
                    due |= beyond
            if due:
                acc[A_DIRTY] = 1.0
                _open_liquidations(out, st, acc, ctx, mkt, i, prices)
        # step 2: market orders at the open
        pending = False
        for j in range(m):
            pending |= st[j, X_EXIT_ID] != 0.0 or st[j, X_ENTRY_ID] != 0.0
        if pending:
            acc[A_DIRTY] = 1.0
            _fill_market(
                out, st, acc, ctx, mkt[MK_OPEN], mkt[MK_VOLUME], mark_open, active, i, od, keys,
                which,
            )  # fmt: skip
        # SignalDriver.before_path: the ROI take-profit for the trade's age at this open, net
        # of the funding booked so far; held a bar after the side's entry signal when
        # ignore_roi_if_entry_signal
        resting = False
        for j in range(m):
            if roi_minutes.shape[0] > 0 and st[j, X_R_OPEN] != 0.0 and st[j, X_TP_ID] != 0.0:
                hold = SIG_ROI_HOLD_LONG if st[j, X_SIZE] > 0 else SIG_ROI_HOLD_SHORT
                if ignore_roi and i > 0 and (bits_at[i - 1, j // stride] & hold) != 0:
                    st[j, X_TP_PRICE] = math.nan
                else:
                    age = (acc[A_TIME] - st[j, X_R_TIME]) / MS_PER_MINUTE
                    ratio = path.roi_ratio(roi_minutes, roi_ratios, age)
                    st[j, X_TP_PRICE] = _roi_price(st, sp, j, ratio)
            resting |= st[j, X_STOP_ID] != 0.0 or st[j, X_TP_ID] != 0.0
        # step 3: the path
        if acc[A_POSITIONS] > 0 or resting:
            if acc[A_STALE] != 0.0:
                _refresh(st, acc, ctx)
            # a cross pool spanning symbols: gaps at the opens first, then the pool at the
            # adverse extremes, then the paths (phase 1); otherwise the paths alone
            multi = acc[A_CROSS_MULTI] != 0.0
            for phase in range(0 if multi else 1, 2):
                # Engine._may_trigger, sharpened: whether anything can happen on a symbol's
                # path this bar (a trailing stop to move, a resting order inside the trade
                # range, a watched liquidation price inside the mark range); walking a bar
                # where none holds changes nothing. Written out here: as an inlined step
                # with early returns it made the 17-symbol portfolio's loop half as slow again.
                for s in range(symbols):
                    may = False
                    if active[i, s]:
                        bar_low = low[i, s]
                        bar_high = high[i, s]
                        for k in range(s * stride, (s + 1) * stride):
                            is_long = st[k, X_SIZE] > 0
                            if st[k, X_STOP_ID] != 0.0:
                                stop = st[k, X_STOP_PRICE]
                                may |= st[k, X_STOP_TYPE] == TYPE_TRAILING_STOP or (
                                    bar_low <= stop if is_long else bar_high >= stop
                                )
                            if st[k, X_TP_ID] != 0.0:
                                target = st[k, X_TP_PRICE]
                                may |= bar_high >= target if is_long else bar_low <= target
                            watch = st[k, X_WATCH]
                            if not math.isnan(watch):
                                if st[k, X_WATCH_DIR] < 0:
                                    may |= mark_low[i, s] <= watch
                                else:
                                    may |= mark_high[i, s] >= watch
                    walk[s] = may
                for s in range(symbols):
                    if walk[s]:
                        acc[A_DIRTY] = 1.0
                        _walk_symbol(out, st, acc, ctx, mkt, i, s * stride, phase == 0, od, prices)
                if phase == 0:
                    _adverse_extremes(out, st, acc, ctx, mkt, i, prices)
        # step 4 (SignalDriver.on_close): an exit for the side held, an entry when flat
        # after it; both wait for the next open
        if hedge:
            _hedge_decisions(st, acc, prm, signals, active, i)
        for j in range(0 if hedge else m):
            bits = bits_at[i, j]
            if bits == 0 or not active[i, j]:
                continue
            current = st[j, X_SIZE]
            exiting = (current > 0 and (bits & SIG_EXIT_LONG) != 0) or (
                current < 0 and (bits & SIG_EXIT_SHORT) != 0
            )
            if exiting:
                st[j, X_EXIT_ID] = _new_id(acc)
                st[j, X_EXIT_SIDE] = -1.0 if current > 0 else 1.0
                st[j, X_EXIT_SIZE] = abs(current)
                st[j, X_EXIT_CREATED] = acc[A_TIME]
            if current != 0.0 and not exiting:
                continue
            long_entry = (bits & SIG_ENTER_LONG) != 0
            short_entry = (bits & SIG_ENTER_SHORT) != 0 and can_short
            if long_entry == short_entry:
                continue
            leverage = leverages[i if leverages.shape[0] > 1 else 0, j]
            st[j, X_ENTRY_ID] = _new_id(acc)
            st[j, X_ENTRY_SIDE] = 1.0 if long_entry else -1.0
            st[j, X_ENTRY_LEVERAGE] = prm[P_LEVERAGE] if math.isnan(leverage) else leverage
            st[j, X_ENTRY_STAKE] = stakes[i if stakes.shape[0] > 1 else 0, j]
            st[j, X_ENTRY_CREATED] = acc[A_TIME]
        if i == n - 1:
            _end_of_data(out, st, acc, ctx, mkt)
        # the bar's end: the liquidation prices the series read, a cross pool spanning
        # symbols marked at the closes, and the state logged when the bar changed it
        if acc[A_STALE] != 0.0:
            _refresh(st, acc, ctx)
        if acc[A_CROSS_MULTI] != 0.0:
            _set_marks(st, mark_close, active, i)
        if acc[A_DIRTY] != 0.0:
            _log_state(out, st, acc, logged, active, i)
            acc[A_DIRTY] = 0.0
        if hedge or acc[A_CROSS_MULTI] != 0.0:
            i += 1
        else:
            i = _next_bar(
                st, acc, can_short, i, low, high, mark_open, mark_low, mark_high, active,
                funding_bar, bits_at,
            )  # fmt: skip
    return own[m, :N_ACCOUNT]


SERIES_SIGNATURE: Final = _void(_F2, _MARKET, _RF2, _CTX, _SERIES)
"""What :func:`replay_series` takes (checked as :data:`SIMULATE_SIGNATURE` is)."""


@_kernel(SERIES_SIGNATURE, from_python=True)
def replay_series(
    log: FloatArray,
    mkt: Market,
    carried: FloatArray,
    ctx: Context,
    series: tuple[FloatArray, FloatArray, FloatArray],
) -> None:
    """The per-bar series of a :func:`simulate` run from its state log: ``series`` =
    (account columns ``S_*``, liquidation prices per state row, notionals per symbol), each
    bar at the mark closes ``carried`` over the bars a symbol has no data for, in
    Engine.series' arithmetic. The log's rows replay the state the run had at the end of
    each bar that changed it; a cross pool spanning symbols has its liquidation prices
    solved at each bar's closes. The caller's arrays are read
    through :func:`_borrowed` views, as :func:`simulate` reads them."""
    mkt = _borrowed_market(mkt)
    carried = _borrowed(carried)
    sp, prm, tiers, _ = _borrowed_context(ctx)
    floors, _, mmrs, amounts, _, offsets = tiers
    rows = _borrowed(series[0])
    liq = _borrowed(series[1])
    notional = _borrowed(series[2])
    mark_close = mkt[MK_MARK_CLOSE]
    active = mkt[MK_ACTIVE]
    isolated = prm[P_ISOLATED] != 0.0
    stride = 2 if prm[P_HEDGE] != 0.0 else 1
    n, symbols = carried.shape
    st = np.empty((symbols * stride, N_STATE))
    _initial_state(prm, st)
    m = st.shape[0]
    acc = np.zeros(N_ACCOUNT)
    order = np.empty(m, dtype=np.int64)
    for j in range(m):
        order[j] = j
    scratch = np.empty((5, m + 2))
    q = 0
    for i in range(n):
        while q < log.shape[0] and log[q, G_BAR] == i:
            j = int(log[q, G_ROW])
            if j < 0:
                acc[A_WALLET] = log[q, G_WALLET]
                acc[A_CROSS_MULTI] = log[q, G_MULTI]
            else:
                st[j, X_SIZE] = log[q, G_SIZE]
                st[j, X_ENTRY] = log[q, G_ENTRY]
                st[j, X_MARGIN] = log[q, G_MARGIN]
                st[j, X_LP] = log[q, G_LP]
                st[j, X_SEQ] = log[q, G_SEQ]
                st[j, X_MARK] = log[q, G_MARK]
            q += 1
        multi = acc[A_CROSS_MULTI] != 0.0
        if multi:
            _set_marks(st, mark_close, active, i)
        cross_upnl = 0.0
        isolated_value = 0.0
        mm = 0.0
        for s in range(symbols):
            notional[i, s] = 0.0
        for j in range(m):
            liq[i, j] = math.nan
        # one symbol needs no ordering (and no call that passes arrays, on every bar)
        held = _position_order(st, order) if m > 1 else int(st[0, X_SIZE] != 0.0)
        for k in range(held):
            j = order[k]
            s = j // stride
            mark = carried[i, s]
            qty = st[j, X_SIZE] * sp[s, Y_CONTRACT_SIZE]
            upnl = qty * (mark - st[j, X_ENTRY])
            size_notional = abs(qty) * mark
            notional[i, s] += qty * mark
            if isolated:
                isolated_value += st[j, X_MARGIN] + upnl
            else:
                cross_upnl += upnl
                tier = formulas.tier_index_in(floors, offsets[s], offsets[s + 1], size_notional)
                mm += size_notional * mmrs[tier] - amounts[tier]
            if not multi:
                liq[i, j] = st[j, X_LP]
        if multi:
            _cross_liquidation_prices(st, sp, acc, order, held, tiers, scratch, liq[i])
        cross = acc[A_WALLET] + cross_upnl
        rows[i, S_EQUITY] = cross + isolated_value
        rows[i, S_CROSS_EQUITY] = cross
        rows[i, S_MAINTENANCE] = mm
        rows[i, S_MARGIN_RATIO] = 0.0
        if mm > 0:
            rows[i, S_MARGIN_RATIO] = math.inf if cross <= 0 else mm / cross
        rows[i, S_WALLET] = acc[A_WALLET]


_RB1 = nt.Array(nt.boolean, 1, "C", readonly=True)
_RU1 = nt.Array(nt.uint8, 1, "C", readonly=True)
CODE_SIGNATURE: Final = _i8(_RB1, _RB1, _RB1, _RB1, _RU1, _U2, _i8)
"""What :func:`code_signals` takes (checked as :data:`SIMULATE_SIGNATURE` is)."""


@_kernel(CODE_SIGNATURE, from_python=True)
def code_signals(
    enter_long: BoolArray,
    exit_long: BoolArray,
    enter_short: BoolArray,
    exit_short: BoolArray,
    executed: ByteArray,
    bits: ByteArray,
    j: int,
) -> int:
    """Write symbol ``j``'s column of the run's signal bits (``SIG_*``): each bar's raw code of
    its four flags (flag k at bit k) mapped through ``executed``, the 16 codes' bits. Returns
    the bars with an executed entry (the tables' first guess). One pass over the flags, where
    array operations took a dozen over the column."""
    # the flags as bytes (0 or 1) and unsigned indices: the loop's reads and shifts stay in
    # bytes, with no negative-index wraparound to test
    el = enter_long.view(np.uint8)
    xl = exit_long.view(np.uint8)
    es = enter_short.view(np.uint8)
    xs = exit_short.view(np.uint8)
    column = np.uintp(j)
    entries = 0
    for i in range(np.uintp(bits.shape[0])):
        value = executed[el[i] | (xl[i] << 1) | (es[i] << 2) | (xs[i] << 3)]
        bits[i, column] = value
        entries += (value & (SIG_ENTER_LONG | SIG_ENTER_SHORT)) != 0
    return entries
