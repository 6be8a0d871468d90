"""The recorded series agree with the margin account, bar by bar; books and trades add up;
real data through a crash.

The series are computed after the run from the account state recorded at each change; here a
strategy reads the account itself at every close and the two must agree.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from backtest_helpers import BTC, ETH, config, flat, market, portfolio, run_script

from levtrade.backtest import Strategy, run
from levtrade.data import demo_market, demo_portfolio, load_market


def account_row(strategy: Strategy) -> dict[str, Any]:
    account = strategy.account
    row: dict[str, Any] = {
        "equity": account.total_equity,
        "cross_equity": account.equity,
        "maintenance_margin": account.maintenance_margin,
        "margin_ratio": account.margin_ratio,
        "wallet": account.wallet_balance,
    }
    for p in account.positions:
        suffix = p.symbol if account.position_mode == "one_way" else f"{p.symbol}:{p.leg}"
        price = account.liquidation_price(p.key)
        row[f"liq:{suffix}"] = math.nan if price is None else price
    return row


def random_script(rng: np.random.Generator, bars: int, symbols: int, hedge: bool) -> dict:
    script: dict[int, list] = {}
    for bar in range(0, bars - 1, 7):
        j = int(rng.integers(symbols))
        size = float(rng.choice([0.01, 0.02, 0.05]))
        side = "buy" if rng.random() < 0.5 else "sell"
        actions: list = []
        if rng.random() < 0.3:

            def close(s: Strategy, j: int = j) -> None:
                if hedge:
                    for leg in ("LONG", "SHORT"):
                        s.close(data=s.datas[j], leg=leg)
                else:
                    s.close(data=s.datas[j])

            actions.append(close)
        else:
            actions.append(
                lambda s, j=j, size=size, side=side: getattr(s, side)(data=s.datas[j], size=size)
            )
        script[bar] = actions
    return script


@pytest.mark.parametrize(
    ("margin_mode", "position_mode"),
    [("cross", "one_way"), ("isolated", "one_way"), ("cross", "hedge")],
)
def test_series_equal_the_account_at_every_close(margin_mode: str, position_mode: str) -> None:
    book = demo_portfolio(bars=400)
    symbols = len(book.symbols)
    script = random_script(np.random.default_rng(11), len(book), symbols, position_mode == "hedge")
    tiers = {
        s: [
            {"floor": 0, "mmr": 0.01, "max_leverage": 50},
            {"floor": 50_000, "mmr": 0.02, "max_leverage": 25},
        ]
        for s in book.symbols
    }
    seen: list[dict[str, Any]] = []

    def watch(strategy: Strategy) -> None:
        seen.append(account_row(strategy))

    result = run_script(
        book,
        script,
        watch=watch,
        wallet=2_000.0,
        leverage=20,
        margin_mode=margin_mode,
        position_mode=position_mode,
        taker_fee=0.0005,
        tiers=tiers,
        venue="bybit",
    )
    assert len(result.trades) > 5
    expected = pd.DataFrame(seen, index=result.series.index)
    # the last row is after the end-of-data close; compare the bars before it
    for column in expected.columns:
        got = result.series[column].to_numpy()[:-1]
        want = expected[column].to_numpy()[:-1]
        if column.startswith("liq:"):
            want = np.where(np.isnan(want), np.nan, want)
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=column)
    # Σ trade pnl is the wallet's change; the books balance
    assert result.trades["pnl"].sum() == pytest.approx(
        result.series["wallet"].iloc[-1] - 2_000.0, abs=1e-9
    )
    assert result.account is not None
    assert result.account.ledger.total() == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("venue", ["binance", "okx"])
def test_inverse_contract_series_equal_the_account(venue: str) -> None:
    # a coin-margined perpetual (money in BTC); OKX adds the taker fee to the MMR
    data = dataclasses.replace(demo_market(bars=300), symbol="BTC/USD:BTC")
    script = {
        k: [(lambda s: s.buy(size=100)) if k % 20 == 0 else (lambda s: s.close())]
        for k in range(0, 290, 10)
    }
    seen: list[dict[str, Any]] = []
    result = run_script(
        data,
        script,
        watch=lambda s: seen.append(account_row(s)),
        venue=venue,
        wallet=1.0,
        leverage=20,
        taker_fee=0.0005,
        tiers={"BTC/USD:BTC": [{"floor": 0, "mmr": 0.005, "max_leverage": 100}]},
        instruments={"BTC/USD:BTC": {"contract_size": 100.0}},
    )
    expected = pd.DataFrame(seen, index=result.series.index)
    for column in expected.columns:
        np.testing.assert_allclose(
            result.series[column].to_numpy()[:-1],
            expected[column].to_numpy()[:-1],
            rtol=1e-9,
            atol=1e-12,
            err_msg=column,
        )
    assert result.trades["pnl"].sum() == pytest.approx(result.series["wallet"].iloc[-1] - 1.0)


def test_ledger_table_has_the_contract_columns() -> None:
    result = run_script(
        demo_market(bars=50),
        {0: [lambda s: s.buy(size=0.01)]},
    )
    assert list(result.ledger.columns) == [
        "time",
        "kind",
        "symbol",
        "debit",
        "credit",
        "amount",
        "currency",
    ]
    first = result.ledger.iloc[0]
    assert (first.kind, first.debit, first.credit, first.amount) == (
        "deposit",
        "cross",
        "external",
        10_000.0,
    )
    assert list(result.series.columns[:6]) == [
        "time",
        "equity",
        "cross_equity",
        "maintenance_margin",
        "margin_ratio",
        "wallet",
    ]
    assert isinstance(result.series.index, pd.DatetimeIndex)
    assert str(result.series.index.tz) == "UTC"


def test_an_inactive_symbol_waits_for_its_first_bar() -> None:
    # ETH is listed later than BTC: an order for it placed before its first bar fills at
    # that bar's open, not earlier; before it the series hold ETH flat
    btc = market([flat(100)] * 6)
    eth = market([flat(50)] * 3, symbol=ETH, start=btc.timestamps[3])
    book = portfolio(btc, eth)
    result = run_script(book, {0: [lambda s: s.buy(data=s.datas[1], size=1)]})
    trade = result.trades.iloc[0]
    assert trade.symbol == ETH
    assert trade.entry_time == int(btc.timestamps[3])
    assert trade.entry_price == 50.0


# --------------------------------------------------------------------------------------------
# Real data: Binance BTCUSDT through 2025-10-10
# --------------------------------------------------------------------------------------------


def crash_market(shared_data: Path) -> Any:
    folder = shared_data / "binance_um_freqtrade_harthor"
    return load_market(
        folder / "BTCUSDT-1h-perp.parquet",
        symbol=BTC,
        mark=folder / "BTCUSDT-1h-mark.parquet",
        funding=folder / "BTCUSDT-funding_rate.parquet",
        start="2025-10-09",
        end="2025-10-12",
    )


@pytest.mark.shared
def test_real_crash_liquidates_an_isolated_long_on_the_mark(shared_data: Path) -> None:
    data = crash_market(shared_data)

    class Long(Strategy):
        def next(self) -> None:
            if len(self) == 1:
                self.buy(size=1.0)

    result = run(Long, data, config(wallet=100_000.0, leverage=10, margin_mode="isolated"))
    # entry at bar 1's open E; margin E/10; tier 1 (notional < 300,000, MMR 0.4 %):
    # E/10 + (P − E) = 0.004·P  ->  LP = 0.9·E / 0.996
    entry = float(data.open[1])
    lp = 0.9 * entry / 0.996
    assert data.mark is not None
    # the first bar after the entry whose mark low reaches the LP
    hit = 1 + int(np.flatnonzero(data.mark.low[1:] <= lp)[0])
    # funding paid by the long on the funding bars it held (1 × mark open × rate), liquidation
    # at bar `hit` comes after that bar's funding
    held = [k for k in range(2, hit + 1) if data.funding_mask[k]]
    funding = -sum(float(data.mark.open[k]) * float(data.funding_rate[k]) for k in held)
    trade = result.trades.iloc[0]
    assert trade.exit_reason == "liquidation"
    assert trade.exit_time == int(data.timestamps[hit])
    assert trade.funding == pytest.approx(funding, rel=1e-9)
    # funding was paid out of the isolated margin; the liquidation (Binance: closed at
    # bankruptcy) takes what is left of it: in all the trade loses exactly the margin E/10
    assert trade.pnl == pytest.approx(-entry / 10, rel=1e-12)
    assert result.series["equity"].iloc[-1] == pytest.approx(100_000 - entry / 10)
    assert result.metadata["funding_constant"] == []
