"""Pure margin formulas: the single source of margin truth.

Every function here is compiled by Numba (the backtest kernel calls them from nopython code)
and is equally callable from Python: the account model, the live broker and the calculator
use the very same functions. The uncompiled original of each is ``func.py_func``.

Conventions (see DESIGN.md §2 and MARGIN_SPEC.md §0):

* Linear contracts: ``qty`` is the signed position in base units (contracts × contract size),
  money is in the settle currency.
* Inverse contracts are solved in the variable ``x = 1/P``, in which they are linear (see
  :func:`inverse_liquidation_price`); money is then in the base coin.
* A tier table is three arrays sorted by ``floors`` (``floors[0] == 0``): maintenance margin
  rates ``mmrs`` and maintenance amounts ``amounts`` (Binance ``cum``, Hyperliquid/Bybit
  deduction), so that ``MM(N) = N·mmr_k − amount_k`` for the tier ``k`` containing ``N``.
* A price that does not exist (no liquidation for an over-collateralised position) is NaN.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from levtrade._jit import compiled

FloatArray = NDArray[np.float64]


# --------------------------------------------------------------------------------------------
# Notional and PnL
# --------------------------------------------------------------------------------------------


@compiled
def linear_notional(size: float, contract_size: float, price: float) -> float:
    """Notional of a linear position in the settle currency: |size|·cs·P."""
    return abs(size) * contract_size * price


@compiled
def inverse_notional(size: float, contract_size: float, price: float) -> float:
    """Notional of an inverse position in the base coin: |size|·cs/P."""
    return abs(size) * contract_size / price


@compiled
def linear_upnl(size: float, contract_size: float, entry_price: float, price: float) -> float:
    """Unrealized PnL of a linear position: size·cs·(P − entry)."""
    return size * contract_size * (price - entry_price)


@compiled
def inverse_upnl(size: float, contract_size: float, entry_price: float, price: float) -> float:
    """Unrealized PnL of an inverse position, in the base coin: size·cs·(1/entry − 1/P)."""
    return size * contract_size * (1.0 / entry_price - 1.0 / price)


@compiled
def initial_margin(notional: float, leverage: float) -> float:
    """Initial margin: notional / leverage."""
    return notional / leverage


@compiled
def funding_payment(size: float, contract_size: float, price: float, rate: float) -> float:
    """Funding received by a linear position (negative when paid): −size·cs·P·rate.

    A long pays when the rate is positive (DESIGN.md §4).
    """
    return -size * contract_size * price * rate


@compiled
def inverse_funding_payment(size: float, contract_size: float, price: float, rate: float) -> float:
    """Funding received by an inverse position, in the base coin: −size·cs/P·rate."""
    return -size * contract_size / price * rate


# --------------------------------------------------------------------------------------------
# Tiers
# --------------------------------------------------------------------------------------------


@compiled
def tier_index(floors: FloatArray, notional: float) -> int:
    """Index of the tier with ``floor_k ≤ |notional| < floor_{k+1}`` (the last tier is open).

    ``searchsorted(floors, |notional|, side="right") − 1`` (at least 0), written as a plain
    binary search: NumPy's compiled searchsorted costs a second of compilation in every
    process with an empty cache. A NaN notional sorts last, as in NumPy.
    """
    return tier_index_in(floors, 0, floors.shape[0], notional)


@compiled
def tier_index_in(floors: FloatArray, first: int, end: int, notional: float) -> int:
    """:func:`tier_index` in the table ``floors[first:end]`` of a flat array of tables,
    as an index into ``floors``: the backtest kernel passes offsets, as a slice costs
    reference counting on every call in its per-bar loop."""
    x = abs(notional)
    lo = first
    hi = end
    if math.isnan(x):
        lo = hi
    while lo < hi:
        mid = (lo + hi) // 2
        if floors[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return max(lo - 1, first)


@compiled
def maintenance_margin(
    notional: float, floors: FloatArray, mmrs: FloatArray, amounts: FloatArray
) -> float:
    """Tiered maintenance margin ``N·mmr_k − amount_k``, tier chosen by notional."""
    return maintenance_margin_in(notional, floors, mmrs, amounts, 0, floors.shape[0])


@compiled
def maintenance_margin_in(
    notional: float, floors: FloatArray, mmrs: FloatArray, amounts: FloatArray, first: int, end: int
) -> float:
    """:func:`maintenance_margin` by the table ``[first:end]`` of flat tier arrays."""
    n = abs(notional)
    k = tier_index_in(floors, first, end, n)
    return float(n * mmrs[k] - amounts[k])


@compiled
def maintenance_amounts(floors: FloatArray, mmrs: FloatArray) -> FloatArray:
    """Maintenance amounts that make MM continuous: D_k = D_{k−1} + floor_k·(mmr_k − mmr_{k−1})."""
    out = np.zeros(floors.shape[0])
    for k in range(1, floors.shape[0]):
        out[k] = out[k - 1] + floors[k] * (mmrs[k] - mmrs[k - 1])
    return out


# --------------------------------------------------------------------------------------------
# Liquidation and bankruptcy prices
# --------------------------------------------------------------------------------------------


@compiled
def _sort_prefix(values: FloatArray, count: int) -> None:
    """Sort ``values[:count]`` in place, NaN last (as ``np.sort``): an insertion sort, for the
    few tier breaks of a solve, without the seconds of compilation NumPy's sort costs."""
    for a in range(1, count):
        value = values[a]
        b = a
        while b > 0 and (
            values[b - 1] > value or (math.isnan(values[b - 1]) and not math.isnan(value))
        ):
            values[b] = values[b - 1]
            b -= 1
        values[b] = value


@compiled
def _nearer_root(
    intercept: float,
    slope: float,
    lo: float,
    hi: float,
    reference_price: float,
    best: float,
    best_distance: float,
) -> tuple[float, float]:
    """The solvers' acceptance rule for one linear piece ``intercept + slope·P = 0`` of
    ``[lo, hi)``: its root counts only if positive and inside the piece, and replaces
    ``best`` only if nearer ``reference_price``. Returns the (best, distance) kept."""
    if slope == 0.0:
        return best, best_distance
    root = -intercept / slope
    if root <= 0.0 or root < lo or root >= hi:
        return best, best_distance
    distance = abs(root - reference_price)
    if distance < best_distance:
        return root, distance
    return best, best_distance


@compiled
def solve_one_leg(
    equity_const: float,
    qty: float,
    entry: float,
    floors: FloatArray,
    mmrs: FloatArray,
    amounts: FloatArray,
    reference_price: float,
) -> float:
    """:func:`solve_equity_equals_mm` for one leg of non-zero ``qty``, bit for bit, without
    arrays: its pieces are the tiers themselves, ``[floor_k/|q|, floor_{k+1}/|q|)``, so
    nothing is allocated or sorted (the kernel re-solves after every funding payment). Each
    piece's tier is found from the piece's own index (normally a step or two) rather than by
    a search over the table; the result is the same index."""
    return solve_one_leg_in(
        equity_const, qty, entry, 0, floors.shape[0], floors, mmrs, amounts, reference_price
    )


@compiled
def solve_one_leg_in(
    equity_const: float,
    qty: float,
    entry: float,
    first: int,
    end: int,
    floors: FloatArray,
    mmrs: FloatArray,
    amounts: FloatArray,
    reference_price: float,
) -> float:
    """:func:`solve_one_leg` by the table ``[first:end]`` of flat tier arrays (the kernel
    prices every held position of a cross pool on every bar: offsets, not slices)."""
    q = abs(qty)
    best = math.nan
    best_distance = math.inf
    hi = 0.0
    for j in range(first, end):
        lo = hi
        hi = floors[j + 1] / q if j + 1 < end else math.inf
        if hi <= lo:
            continue
        inside = 0.5 * (lo + hi) if hi < math.inf else 2.0 * lo + 1.0
        notional = q * inside
        if math.isnan(notional):
            k = tier_index_in(floors, first, end, notional)
        else:
            k = j
            while k + 1 < end and floors[k + 1] <= notional:
                k += 1
            while k > first and floors[k] > notional:
                k -= 1
        intercept = equity_const + (amounts[k] - qty * entry)
        slope = qty - q * mmrs[k]
        best, best_distance = _nearer_root(
            intercept, slope, lo, hi, reference_price, best, best_distance
        )
    return best


@compiled
def solve_two_legs(
    equity_const: float,
    qty_a: float,
    entry_a: float,
    qty_b: float,
    entry_b: float,
    floors: FloatArray,
    mmrs: FloatArray,
    amounts: FloatArray,
    reference_price: float,
) -> float:
    """:func:`solve_equity_equals_mm` for two legs of non-zero quantity (legs ``a``, ``b`` in
    that order: a hedge symbol's cross legs), bit for bit, without arrays: each leg's tier
    breaks ``floor_k/|q|`` are already in order, so they are merged rather than collected and
    sorted (the kernel re-solves after every funding payment, and compiles this into every
    step that prices a pool)."""
    qa = abs(qty_a)
    qb = abs(qty_b)
    n_tiers = floors.shape[0]
    best = math.nan
    best_distance = math.inf
    ka = 1
    kb = 1
    lo = 0.0
    while True:
        next_a = floors[ka] / qa if ka < n_tiers else math.inf
        next_b = floors[kb] / qb if kb < n_tiers else math.inf
        if next_a <= next_b:
            hi = next_a
            ka += 1
        else:
            hi = next_b
            kb += 1
        if hi > lo:
            inside = 0.5 * (lo + hi) if hi < math.inf else 2.0 * lo + 1.0
            k = tier_index(floors, qa * inside)
            intercept = equity_const + (amounts[k] - qty_a * entry_a)
            slope = 0.0 + (qty_a - qa * mmrs[k])
            k = tier_index(floors, qb * inside)
            intercept += amounts[k] - qty_b * entry_b
            slope += qty_b - qb * mmrs[k]
            best, best_distance = _nearer_root(
                intercept, slope, lo, hi, reference_price, best, best_distance
            )
        if hi == math.inf:
            return best
        lo = hi


@compiled
def solve_equity_equals_mm(
    equity_const: float,
    qtys: FloatArray,
    entries: FloatArray,
    floors: FloatArray,
    mmrs: FloatArray,
    amounts: FloatArray,
    reference_price: float,
) -> float:
    """Price ``P > 0`` at which ``equity(P) = MM(P)`` for the legs of one symbol.

    ``equity(P) = equity_const + Σ qty_i·(P − entry_i)`` and
    ``MM(P) = Σ (|qty_i|·P·mmr_k − amount_k)`` with ``k`` the tier of each leg's notional *at P*.
    Both are piecewise linear in P with breaks where a leg's notional crosses a tier floor, so
    each piece is solved in closed form and a root is accepted only inside its own piece: that
    is the venues' rule "use the tier the position falls into at the liquidation price".

    ``equity_const`` carries everything that does not move with P: the wallet (or isolated
    margin), the other contracts' uPnL, minus their maintenance margin. Where two roots exist
    (hedged legs), the one nearest ``reference_price`` is returned; NaN when there is none.
    One leg goes to :func:`solve_one_leg` (the same pieces, already in order).
    """
    n_legs = qtys.shape[0]
    if n_legs == 1 and qtys[0] != 0.0 and math.isfinite(qtys[0]):
        return solve_one_leg(
            equity_const, qtys[0], entries[0], floors, mmrs, amounts, reference_price
        )
    n_tiers = floors.shape[0]
    edges = np.empty(n_legs * n_tiers + 1)
    n_breaks = 0
    edges[n_breaks] = 0.0
    n_breaks += 1
    for i in range(n_legs):
        q = abs(qtys[i])
        if q == 0.0:
            continue
        for k in range(1, n_tiers):
            edges[n_breaks] = floors[k] / q
            n_breaks += 1
    _sort_prefix(edges, n_breaks)

    best = math.nan
    best_distance = math.inf
    for j in range(n_breaks):
        lo = edges[j]
        hi = edges[j + 1] if j + 1 < n_breaks else math.inf
        if hi <= lo:
            continue
        # each leg's tier is read strictly inside the piece: at ``lo`` itself q·(floor/q) can
        # round to just below the floor and select the tier under it
        inside = 0.5 * (lo + hi) if hi < math.inf else 2.0 * lo + 1.0
        intercept = equity_const
        slope = 0.0
        for i in range(n_legs):
            q = qtys[i]
            if q == 0.0:
                continue
            k = tier_index(floors, abs(q) * inside)
            intercept += amounts[k] - q * entries[i]
            slope += q - abs(q) * mmrs[k]
        best, best_distance = _nearer_root(
            intercept, slope, lo, hi, reference_price, best, best_distance
        )
    return best


@compiled
def bankruptcy_price(equity_const: float, qtys: FloatArray, entries: FloatArray) -> float:
    """Price at which ``equity_const + Σ qty_i·(P − entry_i) = 0``; NaN if none is positive."""
    net = 0.0
    weighted = 0.0
    for i in range(qtys.shape[0]):
        net += qtys[i]
        weighted += qtys[i] * entries[i]
    if net == 0.0:
        return math.nan
    price = (weighted - equity_const) / net
    if price <= 0.0:
        return math.nan
    return price


@compiled
def isolated_liquidation_price(
    qty: float,
    entry_price: float,
    margin: float,
    floors: FloatArray,
    mmrs: FloatArray,
    amounts: FloatArray,
) -> float:
    """Liquidation price of one linear isolated position holding ``margin``."""
    qtys = np.array([qty])
    entries = np.array([entry_price])
    return solve_equity_equals_mm(margin, qtys, entries, floors, mmrs, amounts, entry_price)


@compiled
def inverse_liquidation_price(
    equity_const: float,
    contracts_value: FloatArray,
    entries: FloatArray,
    floors: FloatArray,
    mmrs: FloatArray,
    amounts: FloatArray,
    reference_price: float,
) -> float:
    """Liquidation price of inverse legs (``contracts_value`` = signed size·cs, in quote units).

    In ``x = 1/P`` the coin equity ``C + Σ n_i·(1/E_i − x)`` and the coin notional ``|n_i|·x``
    are linear, so this is :func:`solve_equity_equals_mm` with qty ``−n_i`` and entry ``1/E_i``.
    """
    qtys = -contracts_value
    inv_entries = 1.0 / entries
    x = solve_equity_equals_mm(
        equity_const, qtys, inv_entries, floors, mmrs, amounts, 1.0 / reference_price
    )
    if math.isnan(x):
        return math.nan
    return 1.0 / x


@compiled
def inverse_bankruptcy_price(
    equity_const: float, contracts_value: FloatArray, entries: FloatArray
) -> float:
    """Bankruptcy price of inverse legs (coin equity reaches 0)."""
    x = bankruptcy_price(equity_const, -contracts_value, 1.0 / entries)
    if math.isnan(x):
        return math.nan
    return 1.0 / x


@compiled
def buffered_liquidation_price(
    liquidation_price: float, entry_price: float, buffer: float
) -> float:
    """FreqTrade's ``liquidation_buffer``: move the price ``buffer``·|entry − liq| toward entry."""
    if math.isnan(liquidation_price):
        return math.nan
    return liquidation_price + (entry_price - liquidation_price) * buffer


# --------------------------------------------------------------------------------------------
# Transfers (MARGIN_SPEC.md §1.4, §2.8)
# --------------------------------------------------------------------------------------------


@compiled
def binance_max_removable(
    isolated_wallet: float,
    qty: float,
    entry_price: float,
    mark_price: float,
    maintenance: float,
    leverage: float,
) -> float:
    """Binance isolated max removable: min(iWB − MM, iWB + uPnL − mark·|q|/L), floored at 0."""
    keep_mm = isolated_wallet - maintenance
    keep_im = isolated_wallet + qty * (mark_price - entry_price) - mark_price * abs(qty) / leverage
    return max(0.0, min(keep_mm, keep_im))


@compiled
def binance_cross_withdrawable(
    cross_wallet: float,
    cross_upnl: float,
    cross_initial_margin: float,
    cross_maintenance: float,
    isolated_order_margin: float,
) -> float:
    """Binance cross withdrawal: the smaller of the MM bound and the IM bound, floored at 0."""
    mm_bound = cross_wallet - isolated_order_margin - cross_maintenance
    im_bound = cross_wallet + cross_upnl - cross_initial_margin - isolated_order_margin
    return max(0.0, min(mm_bound, im_bound))


@compiled
def hyperliquid_transfer_required(initial_margin_required: float, notional: float) -> float:
    """Hyperliquid ``transfer_margin_required = max(IM, 10 % of notional)``."""
    return max(initial_margin_required, 0.1 * notional)


@compiled
def hyperliquid_max_removable(
    margin_value: float, initial_margin_required: float, notional: float
) -> float:
    """Hyperliquid removal/withdrawal: value (margin + uPnL) above the transfer requirement."""
    return max(0.0, margin_value - hyperliquid_transfer_required(initial_margin_required, notional))


# --------------------------------------------------------------------------------------------
# Account arithmetic: entries, limits, ratios (used by levtrade.margin.account)
# --------------------------------------------------------------------------------------------


@compiled
def average_entry(size: float, entry_price: float, added: float, price: float) -> float:
    """Entry of a linear position after adding ``added`` at ``price``: size-weighted mean."""
    return (size * entry_price + added * price) / (size + added)


@compiled
def inverse_average_entry(size: float, entry_price: float, added: float, price: float) -> float:
    """Entry of an inverse position after adding ``added`` at ``price``: harmonic mean.

    Inverse PnL is linear in 1/P, so the entry that keeps uPnL additive averages 1/P.
    """
    return (size + added) / (size / entry_price + added / price)


@compiled
def inverse_binance_max_removable(
    isolated_wallet: float,
    contracts_value: float,
    entry_price: float,
    mark_price: float,
    maintenance: float,
    leverage: float,
) -> float:
    """:func:`binance_max_removable` for an inverse position (coin margin).

    ``contracts_value`` is the signed size·cs in quote units; uPnL and notional are in coin.
    """
    upnl = contracts_value * (1.0 / entry_price - 1.0 / mark_price)
    keep_mm = isolated_wallet - maintenance
    keep_im = isolated_wallet + upnl - abs(contracts_value) / mark_price / leverage
    return max(0.0, min(keep_mm, keep_im))


@compiled
def binance_max_addable(
    cross_wallet: float,
    cross_maintenance: float,
    isolated_order_margin: float,
    available_balance: float,
) -> float:
    """Binance max addable to an isolated position (MARGIN_SPEC §1.4), floored at 0."""
    return max(
        0.0, min(cross_wallet - isolated_order_margin - cross_maintenance, available_balance)
    )


@compiled
def margin_ratio(maintenance: float, equity: float) -> float:
    """Maintenance margin ÷ equity (liquidation at ≥ 1); 0 without MM, inf at equity ≤ 0."""
    if maintenance <= 0.0:
        return 0.0
    if equity <= 0.0:
        return math.inf
    return maintenance / equity


# --------------------------------------------------------------------------------------------
# Liquidation outcomes (used by levtrade.margin.liquidation)
# --------------------------------------------------------------------------------------------


@compiled
def slipped_price(price: float, size: float, slippage: float) -> float:
    """Price a closing order gets with adverse ``slippage``: a long sells lower, a short buys
    higher."""
    if size > 0.0:
        return price * (1.0 - slippage)
    return price * (1.0 + slippage)


@compiled
def capped_fee(fee: float, remaining: float) -> float:
    """A liquidation fee capped at what remained of the pool's equity (never < 0).

    Binance/Bybit clearance fee and dYdX penalty (rate × liquidated notional) both come out of
    the equity left at execution, never out of the trader's other funds.
    """
    return max(0.0, min(fee, remaining))


# --------------------------------------------------------------------------------------------
# Funding rates (MARGIN_SPEC §1.6, §2.7, §4)
# --------------------------------------------------------------------------------------------


@compiled
def clamp(value: float, lower: float, upper: float) -> float:
    """``value`` limited to ``[lower, upper]``."""
    return min(max(value, lower), upper)


@compiled
def premium_index(impact_bid: float, impact_ask: float, index_price: float) -> float:
    """One premium sample: [max(0, impactBid − index) − max(0, index − impactAsk)] / index."""
    return (max(0.0, impact_bid - index_price) - max(0.0, index_price - impact_ask)) / index_price


@compiled
def weighted_mean(samples: FloatArray, weights: FloatArray) -> float:
    """Σ w·x / Σ w."""
    total = 0.0
    weight = 0.0
    for i in range(samples.shape[0]):
        total += weights[i] * samples[i]
        weight += weights[i]
    return total / weight


@compiled
def binance_funding_rate(
    average_premium: float,
    interest: float,
    clamp_limit: float,
    interval_hours: float,
    cap: float,
    floor: float,
) -> float:
    """Binance F = [P̄ + clamp(I − P̄, ±limit)] / (8/N), then the symbol's cap and floor."""
    rate = (average_premium + clamp(interest - average_premium, -clamp_limit, clamp_limit)) / (
        8.0 / interval_hours
    )
    return clamp(rate, floor, cap)


@compiled
def hyperliquid_funding_rate(
    average_premium: float, interest: float, clamp_limit: float, hourly_cap: float
) -> float:
    """Hyperliquid hourly rate: clamp((P̄ + clamp(I − P̄, ±limit)) / 8, ±cap)."""
    eight_hour = average_premium + clamp(interest - average_premium, -clamp_limit, clamp_limit)
    return clamp(eight_hour / 8.0, -hourly_cap, hourly_cap)


@compiled
def dydx_funding_rate(
    samples: FloatArray,
    default_funding: float,
    initial_margin_fraction: float,
    maintenance_margin_fraction: float,
    clamp_factor: float,
    tail_ratio: float,
    min_samples: int,
) -> float:
    """dYdX v4 8-hour rate of one hourly tick.

    Samples are padded with zeros up to ``min_samples``, sorted, ``tail_ratio`` of them dropped
    from each end (``x/perpetuals/keeper/perpetual.go``: 2·ratio·n removed, the odd one from
    the top), averaged, the default funding added, and the result clamped to
    ±clamp_factor·(IMF − MMF).
    """
    n = max(samples.shape[0], min_samples)
    padded = np.zeros(n)
    padded[: samples.shape[0]] = samples
    padded = np.sort(padded)
    total_removal = int(n * 2.0 * tail_ratio)
    lo = 0
    hi = n
    if 0 < total_removal < n:
        lo = total_removal // 2
        hi = n - (total_removal - lo)
    premium = 0.0
    if n > 0:
        premium = padded[lo:hi].mean()
    bound = clamp_factor * (initial_margin_fraction - maintenance_margin_fraction)
    return clamp(premium + default_funding, -bound, bound)


@compiled
def impact_notional(margin: float, initial_margin_rate: float) -> float:
    """Notional whose initial margin is ``margin`` at ``initial_margin_rate`` (impact prices).

    Binance: 200 USDT ÷ IMR at maximum leverage; dYdX: 500 USDC ÷ IMF.
    """
    return margin / initial_margin_rate


# --------------------------------------------------------------------------------------------
# Auto-deleveraging rankings (MARGIN_SPEC.md §3 Bybit, §2.6 Hyperliquid)
# --------------------------------------------------------------------------------------------


@compiled
def effective_leverage(mark_value: float, bankruptcy_value: float) -> float:
    """BitMEX/Bybit effective leverage: |mark value| / (mark value − bankruptcy value).

    Values are signed (long > 0); for a short both are negative, so the gap keeps its sign.
    """
    gap = abs(mark_value - bankruptcy_value)
    if gap == 0.0:
        return math.inf
    return abs(mark_value) / gap


@compiled
def bybit_adl_score(pnl_ratio: float, leverage: float) -> float:
    """Bybit/BitMEX ADL ranking: PnL % × effective leverage in profit, ÷ it in loss."""
    if pnl_ratio >= 0.0:
        return pnl_ratio * leverage
    return pnl_ratio / leverage


@compiled
def hyperliquid_adl_score(
    side: float, mark_price: float, entry_price: float, notional: float, account_value: float
) -> float:
    """Hyperliquid ADL ranking: (mark/entry) × (notional/account value), highest first.

    The docs state mark/entry; for a short the profitable direction is entry/mark, which is what
    this uses (MARGIN_SPEC.md §9.5 lists it as unpinned).
    """
    price_ratio = mark_price / entry_price if side > 0.0 else entry_price / mark_price
    return price_ratio * notional / account_value
