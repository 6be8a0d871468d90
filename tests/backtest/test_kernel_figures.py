"""A compiled run's figures without its tables (``run_figures``: what a sweep ranks by) and
the compiled result's tables, built from the kernel's arrays on first read.

Each scenario runs three ways: the figures alone, the full compiled result and the event
engine (the reference the kernel is held to). The figures must equal the full result's
exactly, and the event engine's to 1e-9; the full result's metrics must equal those computed
from its own tables; and its tables must have the event engine's columns and dtypes.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from backtest_helpers import BTC, ETH, HOUR, T0, at, config, flat, market, portfolio, signals

from levtrade.backtest import engine, kernel, run
from levtrade.backtest.metrics import compute_metrics, day_closes
from levtrade.backtest.results import BacktestResult, RunFigures
from levtrade.backtest.runner import run_figures
from levtrade.data import MarketData, Portfolio, demo_market, demo_portfolio
from levtrade.model.orders import Reason
from levtrade.spec.config import BacktestConfig
from levtrade.strategy.signals import SignalRules, Signals, SymbolSignals
from levtrade.venues import default_tiers

REL = 1e-9
BOOK = demo_portfolio((BTC, ETH, "SOL/USDT:USDT"), seed=5, bars=1_200)
SINGLE = demo_market(BTC, seed=3, bars=1_200)
"""The demo crash falls at 62 % of the bars."""


def _tiers(data: MarketData | Portfolio) -> dict[str, Any]:
    symbols = (data.symbol,) if isinstance(data, MarketData) else data.symbols
    rows = default_tiers("binance", BTC).to_rows()
    return dict.fromkeys(symbols, rows)


def _crash_longs(data: MarketData | Portfolio) -> Signals:
    """Every symbol long from the first bar and re-entered every 97 bars: the demo crash
    liquidates what is held at 25x."""
    symbols = (data.symbol,) if isinstance(data, MarketData) else data.symbols
    entries = np.zeros(len(data), dtype=bool)
    entries[::97] = True
    table = SymbolSignals.from_arrays(len(data), enter_long=entries)
    return Signals(dict.fromkeys(symbols, table), SignalRules())


def _random(data: MarketData | Portfolio, seed: int, rules: SignalRules) -> Signals:
    """Random flags on 5 % of the bars; a third of the bars carry their own leverage and
    stake (stakes up to 30,000: some entries are short of margin)."""
    symbols = (data.symbol,) if isinstance(data, MarketData) else data.symbols
    rng = np.random.default_rng(seed)
    n = len(data)
    tables = {}
    for symbol in symbols:
        flags = {
            name: rng.random(n) < 0.05
            for name in ("enter_long", "exit_long", "enter_short", "exit_short")
        }
        leverage = np.where(rng.random(n) < 0.3, rng.integers(1, 31, n).astype(float), np.nan)
        stake = np.where(rng.random(n) < 0.3, rng.uniform(20.0, 30_000.0, n), np.nan)
        tables[symbol] = SymbolSignals.from_arrays(n, **flags, leverage=leverage, stake=stake)
    return Signals(tables, rules)


def _scenarios() -> dict[str, tuple[MarketData | Portfolio, Signals, BacktestConfig]]:
    short_rules = SignalRules(can_short=True, stoploss=-0.3, minimal_roi={0: 0.2, 240: 0.05})
    crash = _crash_longs(BOOK)
    return {
        "cross-liquidation": (
            BOOK,
            crash,
            BacktestConfig(leverage=25, stake_amount=1_000.0, tiers=_tiers(BOOK)),
        ),
        "isolated-liquidation": (
            BOOK,
            crash,
            BacktestConfig(
                margin_mode="isolated", leverage=25, stake_amount=1_000.0, tiers=_tiers(BOOK)
            ),
        ),
        "funding-constant": (
            market([flat(100.0 + (k % 7)) for k in range(400)]),
            _random(market([flat(100.0)] * 400), 4, short_rules),
            BacktestConfig(
                leverage=3, stake_amount=500.0, funding_rate=0.0003, funding_interval_hours=4
            ),
        ),
        "rejected-entries": (
            BOOK,
            _random(BOOK, 7, short_rules),
            BacktestConfig(leverage=5, max_open_trades=2, tiers=_tiers(BOOK)),
        ),
        "hedge-isolated": (
            SINGLE,
            _random(SINGLE, 11, short_rules),
            BacktestConfig(
                margin_mode="isolated",
                position_mode="hedge",
                leverage=10,
                stake_amount=800.0,
                tiers=_tiers(SINGLE),
            ),
        ),
    }


SCENARIOS = _scenarios()


def _same(left: dict[str, Any], right: dict[str, Any]) -> bool:
    """Equal values by name, NaN equal to NaN, the same types."""
    if left.keys() != right.keys():
        return False
    for name, a in left.items():
        b = right[name]
        if type(a) is not type(b):
            return False
        if not (a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))):
            return False
    return True


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[RunFigures, BacktestResult, BacktestResult]]:
    """Each scenario's figures alone, full compiled result and event-engine result."""
    out = {}
    for name, (data, table, cfg) in SCENARIOS.items():
        figures = kernel.run_figures(data, table, cfg)
        out[name] = (
            figures,
            kernel.run_signals(data, table, cfg),
            engine.run_signals(data, table, cfg),
        )
    return out


@pytest.mark.parametrize("name", SCENARIOS)
def test_figures_alone_equal_the_full_result_and_the_event_engine(
    runs: dict[str, tuple[RunFigures, BacktestResult, BacktestResult]], name: str
) -> None:
    figures, compiled, event = runs[name]
    full = RunFigures.of(compiled)
    assert _same(figures.metrics, full.metrics), name
    assert figures.rejected == full.rejected
    reference = RunFigures.of(event)
    assert figures.rejected == reference.rejected
    assert list(figures.metrics) == list(reference.metrics)
    for metric, value in reference.metrics.items():
        assert figures.metrics[metric] == pytest.approx(value, rel=REL, abs=1e-9, nan_ok=True), (
            name,
            metric,
        )


def test_the_scenarios_reach_liquidations_funding_and_rejections(
    runs: dict[str, tuple[RunFigures, BacktestResult, BacktestResult]],
) -> None:
    for name in ("cross-liquidation", "isolated-liquidation"):
        assert runs[name][0].metrics["liquidations"] > 0, name
    # isolated liquidations at bankruptcy pay a clearance fee and leave the rest to the fund
    assert runs["isolated-liquidation"][0].metrics["liquidation_fees"] > 0
    assert runs["isolated-liquidation"][0].metrics["insurance_fund"] != 0
    funding = runs["funding-constant"][0].metrics
    assert funding["funding_paid"] > 0 and funding["funding_received"] > 0
    rejected = runs["rejected-entries"][0].rejected
    assert rejected.get(str(Reason.INSUFFICIENT_MARGIN), 0) > 0
    assert rejected.get(str(Reason.MAX_OPEN_TRADES), 0) > 0


@pytest.mark.parametrize("name", SCENARIOS)
def test_metrics_from_the_arrays_equal_the_metrics_of_the_tables(
    runs: dict[str, tuple[RunFigures, BacktestResult, BacktestResult]], name: str
) -> None:
    _, compiled, _ = runs[name]
    cfg = compiled.config
    from_tables = compute_metrics(
        compiled.series,
        compiled.trades,
        compiled.ledger,
        initial=cfg.wallet,
        timeframe_ms=compiled.metadata["timeframe_ms"],
    )
    assert _same(dict(compiled.metrics.items()), dict(from_tables.items())), name


@pytest.mark.parametrize("name", SCENARIOS)
def test_compiled_tables_have_the_event_engines_columns_and_dtypes(
    runs: dict[str, tuple[RunFigures, BacktestResult, BacktestResult]], name: str
) -> None:
    _, compiled, event = runs[name]
    for table in ("trades", "orders", "ledger", "series"):
        ours, reference = getattr(compiled, table), getattr(event, table)
        assert len(ours) == len(reference) > 0, (name, table)
        assert list(ours.columns) == list(reference.columns), (name, table)
        assert list(ours.dtypes) == list(reference.dtypes), (name, table)


def test_rejected_entries_by_reason_by_hand() -> None:
    # BTC and ETH enter at bar 0 with max_open_trades = 1: BTC's entry (the first symbol)
    # fills, ETH's is refused for the limit. At bar 2 BTC re-enters after its exit at bar 1
    # with a stake of 20,000 at 1x: 20,000 of margin from a wallet of 10,000 is refused.
    bars = [flat(100.0)] * 5
    data = portfolio(market(bars), market(bars, symbol=ETH))
    stake = np.full(5, np.nan)
    stake[2] = 20_000.0
    table = signals(
        data,
        BTC={"enter_long": at(5, 0, 2), "exit_long": at(5, 1), "stake": stake},
        ETH={"enter_long": at(5, 0)},
    )
    cfg = config(leverage=1, stake_amount=100.0, max_open_trades=1)
    figures = run_figures(table, data, cfg)
    assert figures.rejected == {
        str(Reason.INSUFFICIENT_MARGIN): 1,
        str(Reason.MAX_OPEN_TRADES): 1,
    }
    assert figures.rejected_orders == 2
    assert figures.metrics["trades"] == 1  # BTC's one round trip at a flat price
    assert figures.metrics["final_equity"] == 10_000.0


def test_tables_are_built_on_first_read_and_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    for name in ("_trades", "_orders", "_ledger", "_series"):
        real = getattr(kernel, name)

        def counted(*args: Any, _real: Any = real, _name: str = name) -> Any:
            built.append(_name)
            return _real(*args)

        monkeypatch.setattr(kernel, name, counted)
    data, table, cfg = SCENARIOS["rejected-entries"]
    result = run(table, data, cfg)
    assert result.metadata["engine"] == "compiled"
    summary = result.summary()
    assert summary["metrics"]["trades"] == result.metrics["trades"] > 0
    assert built == []  # the metrics and the summary read no table
    orders = result.orders
    assert built == ["_orders"]
    assert result.orders is orders and built == ["_orders"]
    assert len(result.trades) == result.metrics["trades"]
    assert built == ["_orders", "_trades"]


def test_a_copy_made_before_any_read_carries_the_same_tables() -> None:
    data, table, cfg = SCENARIOS["cross-liquidation"]
    result = kernel.run_signals(data, table, cfg)
    duplicate = copy.copy(result)
    again = kernel.run_signals(data, table, cfg)
    for name in ("trades", "orders", "ledger", "series"):
        assert getattr(duplicate, name) is getattr(result, name)
        pd.testing.assert_frame_equal(getattr(result, name), getattr(again, name))
    assert duplicate.metrics is result.metrics


def test_day_closes_carry_a_day_without_bars() -> None:
    # bars at 10:00 and 20:00 of day 0, none on day 1, one at 05:00 of day 2: the closes
    # are day 0's last bar (2.0), the same for day 1, then day 2's bar (3.0)
    times = np.array([T0 + 10 * HOUR, T0 + 20 * HOUR, T0 + 53 * HOUR], dtype=np.int64)
    closes = day_closes(times, np.array([1.0, 2.0, 3.0]))
    assert closes.tolist() == [2.0, 2.0, 3.0]
    assert day_closes(np.array([], dtype=np.int64), np.array([])).size == 0
