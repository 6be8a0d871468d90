"""Summary metrics of a backtest, from its equity series, trades and ledger.

Return metrics are computed from **daily** returns, annualised with 365 periods a year, as
quantstats computes them (``quantstats.stats`` with ``periods=365``) and FreqTrade reports them,
so the figures compare with both. ``E_0`` is the starting wallet and ``D_k`` the equity at the
close of the last bar opened on UTC day *k* (``k = 1..N``, every calendar day from the first bar
to the last, a day without bars keeping the previous day's equity):

* daily returns ``r_k = D_k / D_{k−1} − 1`` with ``D_0 = E_0`` (N returns);
* total return ``E_n / E_0 − 1`` (``E_n`` the last bar's equity);
* CAGR ``(E_n / E_0)^(365 / N) − 1`` (−1 when the equity ends at or below 0);
* volatility ``std(r, ddof=1) · √365``;
* Sharpe ``mean(r) / std(r, ddof=1) · √365`` (risk-free rate 0);
* Sortino ``mean(r) / √(Σ min(r, 0)² / N) · √365``;
* Calmar ``CAGR / max drawdown``.

None of CAGR, volatility, Sharpe, Sortino and Calmar is given (NaN) for a run shorter than
:data:`MIN_ANNUALISED_DAYS` days: a few days scaled to a year say nothing. ``days`` is the
run's length, ``n·tf`` in days.

The others, per bar and per trade:

* max drawdown ``max_t (1 − E_t / max_{s≤t} E_s)`` over every bar's close, with ``E_0`` as the
  first peak, a positive fraction;
* win rate: share of trades with pnl > 0; profit factor ``Σ pnl⁺ / |Σ pnl⁻|``;
* expectancy ``w·avg win − l·avg loss`` (w, l the shares of winning and losing trades) and the
  expectancy ratio ``(1 + avg win / avg loss)·w − 1``, as FreqTrade defines them;
* exposure: share of bars closing with an open position;
* funding paid/received, trading fees, liquidation clearance fees and the insurance-fund
  effect: what the trader's books paid into the venue's insurance fund at liquidations (the
  remaining margin a liquidation leaves, where the venue keeps it) net of what the fund paid
  back to cover a shortfall; all from the ledger.

A ratio whose denominator is 0 is NaN (profit factor: ``inf`` with gains and no losses).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd

DAY_MS = 86_400_000
PERIODS_PER_YEAR = 365
"""Daily returns a year: crypto trades every day (quantstats' ``periods=365``)."""
MIN_ANNUALISED_DAYS = 30
"""Runs shorter than this many days get no annualised metric."""

TRADER_BOOKS_PREFIX = "isolated:"


def _is_trader(book: pd.Series) -> pd.Series:
    return (book == "cross") | book.str.startswith(TRADER_BOOKS_PREFIX)


def day_closes(times: np.ndarray, equity: np.ndarray) -> np.ndarray:
    """The equity at the close of each UTC day's last bar (``times`` are the bars' open times
    in ms, ascending), every calendar day from the first bar's to the last's, a day without
    bars holding the previous day's value: day *k*'s close is the last bar opened before the
    next midnight, found by a binary search per day instead of a pass over every bar."""
    if times.size == 0:
        return np.array([], dtype=np.float64)
    stamps = np.asarray(times, dtype=np.int64)
    first, last = int(stamps[0]) // DAY_MS, int(stamps[-1]) // DAY_MS
    midnights = np.arange(first + 1, last + 2, dtype=np.int64) * DAY_MS
    closing = np.searchsorted(stamps, midnights, side="left") - 1
    return np.asarray(equity, dtype=np.float64)[closing]


def daily_equity(times: np.ndarray, equity: np.ndarray) -> pd.Series:
    """:func:`day_closes` indexed by the day (UTC midnight)."""
    closes = day_closes(times, equity)
    if closes.size == 0:
        return pd.Series([], dtype=np.float64, index=pd.DatetimeIndex([], tz="UTC"))
    ends = np.asarray(times, dtype=np.int64)[[0, -1]] // DAY_MS * DAY_MS
    first, last = pd.to_datetime(ends, unit="ms", utc=True)
    return pd.Series(closes, index=pd.date_range(first, last, freq="D"))


def _returns(closes: np.ndarray, initial: float) -> np.ndarray:
    previous = np.concatenate([[initial], closes[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(closes / previous - 1.0)


def daily_returns(times: np.ndarray, equity: np.ndarray, initial: float) -> pd.Series:
    """``D_k / D_{k−1} − 1`` of :func:`daily_equity`, with the starting wallet before the
    first day."""
    closes = daily_equity(times, equity)
    return pd.Series(_returns(closes.to_numpy(), initial), index=closes.index, name="returns")


def max_drawdown(equity: np.ndarray, initial: float) -> float:
    """Largest fall from a running peak, as a fraction of the peak (the start counts)."""
    if equity.size == 0:
        return 0.0
    values = np.asarray(equity, dtype=np.float64)
    peaks = np.maximum.accumulate(values)
    np.maximum(peaks, initial, out=peaks)  # the start as the first peak
    positive = peaks > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.divide(values, peaks, out=peaks)  # in place: a run's series are long
    if not positive.all():
        ratios[~positive] = 1.0  # no fall from a peak at or below 0
    # 1 − x falls as x rises, in floating point too: the largest fall is 1 − the least ratio
    return float(max(0.0, 1.0 - ratios.min()))


def cagr(final: float, initial: float, days: float) -> float:
    """Growth a year over ``days`` daily periods (quantstats: years = returns / 365)."""
    if days <= 0:
        return math.nan
    if final <= 0:
        return -1.0
    return float((final / initial) ** (PERIODS_PER_YEAR / days) - 1.0)


def volatility(returns: np.ndarray) -> float:
    if returns.size < 2:
        return math.nan
    return float(np.std(returns, ddof=1) * math.sqrt(PERIODS_PER_YEAR))


def sharpe(returns: np.ndarray) -> float:
    if returns.size < 2:
        return math.nan
    sd = float(np.std(returns, ddof=1))
    if sd == 0 or not math.isfinite(sd):
        return math.nan
    return float(np.mean(returns) / sd * math.sqrt(PERIODS_PER_YEAR))


def sortino(returns: np.ndarray) -> float:
    if returns.size == 0:
        return math.nan
    downside = math.sqrt(float(np.sum(np.minimum(returns, 0.0) ** 2)) / returns.size)
    if downside == 0 or not math.isfinite(downside):
        return math.nan
    return float(np.mean(returns) / downside * math.sqrt(PERIODS_PER_YEAR))


def expectancy(pnl: np.ndarray) -> tuple[float, float]:
    """(expectancy, expectancy ratio) of trade PnLs (module docstring; NaN without trades,
    the ratio NaN without a loss)."""
    if pnl.size == 0:
        return math.nan, math.nan
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    average_win = float(wins.mean()) if wins.size else 0.0
    average_loss = float(-losses.mean()) if losses.size else 0.0
    win_share, loss_share = wins.size / pnl.size, losses.size / pnl.size
    value = win_share * average_win - loss_share * average_loss
    ratio = (1.0 + average_win / average_loss) * win_share - 1.0 if average_loss > 0 else math.nan
    return value, ratio


class Flows(NamedTuple):
    """What the ledger says moved between the trader's books and the venue's."""

    funding_paid: float
    funding_received: float
    fees_out: float
    fees_in: float
    liquidation_fees_out: float
    fund_in: float
    """Paid by the trader's books into the insurance fund."""
    fund_out: float
    """Paid by the insurance fund into the trader's books."""


NO_FLOWS = Flows(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def ledger_flows(
    amounts: np.ndarray,
    is_kind: Callable[[str], np.ndarray],
    *,
    into_trader: np.ndarray,
    from_trader: np.ndarray,
    to_fund: np.ndarray,
    from_fund: np.ndarray,
) -> Flows:
    """The flows of ledger entries given by their amounts, a row mask per entry kind and row
    masks of the books they moved into and out of (a table's, or the kernel's codes')."""
    if not amounts.size:
        return NO_FLOWS
    out_of = from_trader & ~into_trader
    into = into_trader & ~from_trader

    def flows(kind: str) -> tuple[float, float]:
        """(out of the trader's books, into them) for entries of ``kind``."""
        rows = is_kind(kind)
        return float(amounts[rows & out_of].sum()), float(amounts[rows & into].sum())

    funding_paid, funding_received = flows("funding")
    fees_out, fees_in = flows("fee")
    liq_fee_out, _ = flows("liquidation_fee")
    fund_in = float(amounts[to_fund & from_trader].sum())
    fund_out = float(amounts[from_fund & into_trader].sum())
    return Flows(funding_paid, funding_received, fees_out, fees_in, liq_fee_out, fund_in, fund_out)


def _ledger_flows(ledger: pd.DataFrame) -> Flows:
    """:func:`ledger_flows` of a ledger table, from its kinds, books and amounts."""
    if not len(ledger):
        return NO_FLOWS
    amounts = ledger["amount"].to_numpy(dtype=np.float64)
    kind_of = _by_value(ledger["kind"])
    debit_of = _by_value(ledger["debit"])
    credit_of = _by_value(ledger["credit"])
    if kind_of is not None and debit_of is not None and credit_of is not None:
        # object columns of strings: each test runs once per distinct value
        kind_codes, kind_values = kind_of

        def is_kind(kind: str) -> np.ndarray:
            return np.asarray(kind_codes == kind_values.get(kind, -1))

        return ledger_flows(
            amounts,
            is_kind,
            into_trader=_each(debit_of, is_trader_book),
            from_trader=_each(credit_of, is_trader_book),
            to_fund=_each(debit_of, is_fund_book),
            from_fund=_each(credit_of, is_fund_book),
        )
    kinds = ledger["kind"].to_numpy()

    def kind_rows(kind: str) -> np.ndarray:
        return np.asarray(kinds == kind)

    return ledger_flows(
        amounts,
        kind_rows,
        into_trader=_is_trader(ledger["debit"]).to_numpy(),
        from_trader=_is_trader(ledger["credit"]).to_numpy(),
        to_fund=(ledger["debit"] == "insurance_fund").to_numpy(),
        from_fund=(ledger["credit"] == "insurance_fund").to_numpy(),
    )


def _by_value(column: pd.Series) -> tuple[np.ndarray, dict[str, int]] | None:
    """(code of each row, code of each distinct value) of an object column of strings; None
    for any other column."""
    if column.dtype != object:
        return None
    values = column.to_numpy()
    try:
        distinct = set(values)
    except TypeError:  # an unhashable value
        return None
    if not all(isinstance(value, str) for value in distinct):
        return None
    code = {value: k for k, value in enumerate(distinct)}
    return np.fromiter(map(code.__getitem__, values), dtype=np.intp, count=len(values)), code


def _each(coded: tuple[np.ndarray, dict[str, int]], test: Callable[[str], bool]) -> np.ndarray:
    """``test`` of each row's value, from one test per distinct value."""
    codes, code = coded
    tested: np.ndarray = np.array([test(value) for value in code], dtype=np.bool_)
    return np.asarray(tested[codes])


def is_trader_book(book: str) -> bool:
    """Whether a ledger book is the trader's (the cross pool or an isolated position's)."""
    return book == "cross" or book.startswith(TRADER_BOOKS_PREFIX)


def is_fund_book(book: str) -> bool:
    """Whether a ledger book is the venue's insurance fund."""
    return book == "insurance_fund"


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator != 0 else math.nan


def compute_metrics(
    series: pd.DataFrame,
    trades: pd.DataFrame,
    ledger: pd.DataFrame,
    *,
    initial: float,
    timeframe_ms: int,
) -> pd.Series:
    """The summary metrics (module docstring) of a result's tables, as a Series by name."""
    equity = series["equity"].to_numpy(dtype=np.float64) if len(series) else np.array([])
    times = series["time"].to_numpy(dtype=np.int64) if len(series) else np.array([], np.int64)
    pnl = trades["pnl"].to_numpy(dtype=np.float64) if len(trades) else np.array([])
    liquidations = int((trades["exit_reason"] == "liquidation").sum()) if len(trades) else 0
    notional = [c for c in series.columns if c.startswith("notional:")]
    held = held_bars([series[name].to_numpy() for name in notional]) if len(series) else None
    values = summary(
        times,
        equity,
        held=held,
        pnl=pnl,
        liquidations=liquidations,
        flows=_ledger_flows(ledger),
        initial=initial,
        timeframe_ms=timeframe_ms,
    )
    return pd.Series(values, dtype=object)


def held_bars(notional: Sequence[np.ndarray]) -> np.ndarray | None:
    """Whether each bar closes with a position, from each symbol's notional column (None
    without a column)."""
    if not notional:
        return None
    # = (np.column_stack(notional) != 0).any(axis=1), a column at a time
    held = notional[0] != 0
    for column in notional[1:]:
        held |= column != 0
    return np.asarray(held)


def summary(
    times: np.ndarray,
    equity: np.ndarray,
    *,
    held: np.ndarray | None,
    pnl: np.ndarray,
    liquidations: int,
    flows: Flows,
    initial: float,
    timeframe_ms: int,
) -> dict[str, float | int]:
    """The summary metrics (module docstring) by name, from the bars' open ``times`` and
    closing ``equity``, whether each bar closes with a position (``held``), the closed
    trades' ``pnl``, the liquidated trades and the ledger's flows: what
    :func:`compute_metrics` reads from a result's tables, and the compiled kernel from its
    arrays."""
    final = float(equity[-1]) if equity.size else initial
    days = equity.size * timeframe_ms / DAY_MS
    returns = _returns(day_closes(times, equity), initial)
    drawdown = max_drawdown(equity, initial)
    annualised = days >= MIN_ANNUALISED_DAYS
    growth = cagr(final, initial, returns.size) if annualised else math.nan

    gains = float(pnl[pnl > 0].sum())
    losses = float(-pnl[pnl < 0].sum())
    if pnl.size == 0:
        factor = math.nan
    elif losses == 0:
        factor = math.inf if gains > 0 else math.nan
    else:
        factor = gains / losses

    trade_expectancy, expectancy_ratio = expectancy(pnl)
    exposure = float(held.mean()) if held is not None and held.size else 0.0
    return {
        "days": days,
        "initial_equity": initial,
        "final_equity": final,
        "total_return": final / initial - 1.0,
        "cagr": growth,
        "volatility": volatility(returns) if annualised else math.nan,
        "sharpe": sharpe(returns) if annualised else math.nan,
        "sortino": sortino(returns) if annualised else math.nan,
        "calmar": _ratio(growth, drawdown) if annualised else math.nan,
        "max_drawdown": drawdown,
        "trades": int(pnl.size),
        "win_rate": _ratio(float((pnl > 0).sum()), float(pnl.size)),
        "profit_factor": factor,
        "expectancy": trade_expectancy,
        "expectancy_ratio": expectancy_ratio,
        "exposure": exposure,
        "liquidations": liquidations,
        "funding_paid": flows.funding_paid,
        "funding_received": flows.funding_received,
        "fees": flows.fees_out - flows.fees_in,
        "liquidation_fees": flows.liquidation_fees_out,
        "insurance_fund": flows.fund_in - flows.fund_out,
    }
