"""Summary metrics of a backtest, from its equity series, trades and ledger.

Formulas (``E_0`` is the starting wallet, ``E_t`` the equity at bar *t*'s close, ``n`` bars of
``tf`` ms; a year is 365 days, so there are ``B = 365·86,400,000 / tf`` bars per year):

* bar returns ``r_t = E_t / E_{t−1} − 1`` with ``E_{−1} = E_0`` (n returns);
* total return ``E_n / E_0 − 1``; CAGR ``(E_n / E_0)^(1/y) − 1`` with ``y = n·tf`` in years
  (−1 when the equity ends at or below 0);
* Sharpe ``mean(r) / std(r, ddof=1) · √B`` (risk-free rate 0);
* Sortino ``mean(r) / √(mean(min(r, 0)²)) · √B`` (downside deviation over all n returns);
* max drawdown ``max_t (1 − E_t / max_{s≤t} E_s)`` with ``E_0`` as the first peak, a positive
  fraction; Calmar ``CAGR / max drawdown``;
* win rate: share of trades with pnl > 0; profit factor ``Σ pnl⁺ / |Σ pnl⁻|``;
* exposure: share of bars closing with an open position;
* funding paid/received, fees, liquidation fees, insurance-fund effect (what the trader's
  books paid into the fund, net of what it covered) from the ledger.

A ratio whose denominator is 0 is NaN (profit factor: ``inf`` with gains and no losses).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

MS_PER_YEAR = 365 * 86_400_000

TRADER_BOOKS_PREFIX = "isolated:"


def _is_trader(book: pd.Series) -> pd.Series:
    return (book == "cross") | book.str.startswith(TRADER_BOOKS_PREFIX)


def bar_returns(equity: np.ndarray, initial: float) -> np.ndarray:
    """``E_t / E_{t−1} − 1`` with the starting wallet before the first bar."""
    previous = np.concatenate([[initial], equity[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(equity / previous - 1.0, dtype=np.float64)


def max_drawdown(equity: np.ndarray, initial: float) -> float:
    """Largest fall from a running peak, as a fraction of the peak (the start counts)."""
    if equity.size == 0:
        return 0.0
    peaks = np.maximum.accumulate(np.concatenate([[initial], equity]))[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        falls = np.where(peaks > 0, 1.0 - equity / peaks, 0.0)
    return float(max(0.0, falls.max()))


def cagr(final: float, initial: float, years: float) -> float:
    if years <= 0:
        return math.nan
    if final <= 0:
        return -1.0
    return float((final / initial) ** (1.0 / years) - 1.0)


def sharpe(returns: np.ndarray, bars_per_year: float) -> float:
    if returns.size < 2:
        return math.nan
    sd = float(np.std(returns, ddof=1))
    if sd == 0 or not math.isfinite(sd):
        return math.nan
    return float(np.mean(returns) / sd * math.sqrt(bars_per_year))


def sortino(returns: np.ndarray, bars_per_year: float) -> float:
    if returns.size == 0:
        return math.nan
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    if downside == 0 or not math.isfinite(downside):
        return math.nan
    return float(np.mean(returns) / downside * math.sqrt(bars_per_year))


def _ledger_flows(ledger: pd.DataFrame) -> tuple[float, float, float, float, float, float, float]:
    """(funding paid, funding received, fees out, fees in, liquidation fees out, paid into
    the insurance fund, covered by it) from the ledger's kinds, books and amounts."""
    if not len(ledger):
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    amounts = ledger["amount"].to_numpy(dtype=np.float64)
    kind_of = _by_value(ledger["kind"])
    debit_of = _by_value(ledger["debit"])
    credit_of = _by_value(ledger["credit"])
    if kind_of is not None and debit_of is not None and credit_of is not None:
        # object columns of strings: each test runs once per distinct value
        kind_codes, kind_values = kind_of

        def is_kind(kind: str) -> np.ndarray:
            return np.asarray(kind_codes == kind_values.get(kind, -1))

        into_trader = _each(debit_of, _trader_book)
        from_trader = _each(credit_of, _trader_book)
        to_fund = _each(debit_of, _fund_book)
        from_fund = _each(credit_of, _fund_book)
    else:
        kinds = ledger["kind"].to_numpy()

        def is_kind(kind: str) -> np.ndarray:
            return np.asarray(kinds == kind)

        into_trader = _is_trader(ledger["debit"]).to_numpy()
        from_trader = _is_trader(ledger["credit"]).to_numpy()
        to_fund = (ledger["debit"] == "insurance_fund").to_numpy()
        from_fund = (ledger["credit"] == "insurance_fund").to_numpy()
    out_of = from_trader & ~into_trader
    into = into_trader & ~from_trader

    def flows(kind: str) -> tuple[float, float]:
        """(out of the trader's books, into them) for entries of ``kind``."""
        rows = is_kind(kind)
        return float(amounts[rows & out_of].sum()), float(amounts[rows & into].sum())

    funding_paid, funding_received = flows("funding")
    fees_out, fees_in = flows("fee")
    liq_fee_out, _ = flows("liquidation_fee")
    fund_out = float(amounts[to_fund & from_trader].sum())
    fund_in = float(amounts[from_fund & into_trader].sum())
    return funding_paid, funding_received, fees_out, fees_in, liq_fee_out, fund_out, fund_in


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


def _trader_book(book: str) -> bool:
    return book == "cross" or book.startswith(TRADER_BOOKS_PREFIX)


def _fund_book(book: str) -> bool:
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
    """The summary metrics (module docstring) as a Series by name."""
    equity = series["equity"].to_numpy(dtype=np.float64) if len(series) else np.array([])
    final = float(equity[-1]) if equity.size else initial
    bars_per_year = MS_PER_YEAR / timeframe_ms
    years = equity.size * timeframe_ms / MS_PER_YEAR
    returns = bar_returns(equity, initial)
    growth = cagr(final, initial, years)
    drawdown = max_drawdown(equity, initial)

    pnl = trades["pnl"].to_numpy(dtype=np.float64) if len(trades) else np.array([])
    gains = float(pnl[pnl > 0].sum())
    losses = float(-pnl[pnl < 0].sum())
    if pnl.size == 0:
        factor = math.nan
    elif losses == 0:
        factor = math.inf if gains > 0 else math.nan
    else:
        factor = gains / losses

    notional = [c for c in series.columns if c.startswith("notional:")]
    exposure = 0.0
    if notional and len(series):
        # = (series[notional].to_numpy() != 0).any(axis=1).mean(), a column at a time
        held = series[notional[0]].to_numpy() != 0
        for name in notional[1:]:
            held |= series[name].to_numpy() != 0
        exposure = float(held.mean())
    liquidations = int((trades["exit_reason"] == "liquidation").sum()) if len(trades) else 0

    funding_paid, funding_received, fees_out, fees_in, liq_fee_out, fund_out, fund_in = (
        _ledger_flows(ledger)
    )
    return pd.Series(
        {
            "initial_equity": initial,
            "final_equity": final,
            "total_return": final / initial - 1.0,
            "cagr": growth,
            "sharpe": sharpe(returns, bars_per_year),
            "sortino": sortino(returns, bars_per_year),
            "calmar": _ratio(growth, drawdown),
            "max_drawdown": drawdown,
            "trades": int(pnl.size),
            "win_rate": _ratio(float((pnl > 0).sum()), float(pnl.size)),
            "profit_factor": factor,
            "exposure": exposure,
            "liquidations": liquidations,
            "funding_paid": funding_paid,
            "funding_received": funding_received,
            "fees": fees_out - fees_in,
            "liquidation_fees": liq_fee_out,
            "insurance_fund": fund_out - fund_in,
        },
        dtype=object,
    )
