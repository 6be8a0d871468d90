"""``lt.sweep`` in Python: the face's entry point, what is computed once, splits, the
random and optuna searches, FreqTrade hyperopt parameters, the HTML page."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
from sweep_helpers import write_config

import levtrade as lt
from levtrade.backtest import kernel, run
from levtrade.configuration import load_run_config, prepare_run, signal_instance
from levtrade.optimize import ranked, sweep
from levtrade.optimize.evaluate import Evaluator, Task
from levtrade.optimize.html import render_sweep_report
from levtrade.strategy import SignalStrategy
from levtrade.strategy import indicators as ind


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    plan = prepare_run(load_run_config(write_config(tmp_path_factory.mktemp("api"))))
    return {
        "strategy": signal_instance(plan.config, plan.strategy, plan.pairs, plan.timeframe),
        "data": plan.loaded.data,
        "config": plan.backtest,
        "warmup": plan.loaded.warmup_bars,
    }


def test_lt_sweep_is_the_function_after_the_cli_imported_the_package() -> None:
    importlib.import_module("levtrade.cli.sweep")
    importlib.import_module("levtrade.optimize")
    assert lt.sweep is sweep
    assert callable(lt.sweep) and lt.sweep.__module__ == "levtrade.optimize.runner"


class Counting(SignalStrategy):
    """The SMA cross with TA-Lib averages, counting its populate calls (a class attribute:
    the sweep works on copies)."""

    can_short = True
    fast = 10
    slow = 50
    populated: ClassVar[list[tuple[int, int]]] = []

    def populate_indicators(self, dataframe, metadata):  # type: ignore[no-untyped-def]
        Counting.populated.append((self.fast, self.slow))
        dataframe["f"] = ind.SMA(dataframe["close"], self.fast)
        dataframe["s"] = ind.SMA(dataframe["close"], self.slow)
        return dataframe

    def populate_entry_trend(self, dataframe, metadata):  # type: ignore[no-untyped-def]
        above = dataframe["f"] > dataframe["s"]
        dataframe["enter_long"] = above & ~above.shift(1, fill_value=False)
        dataframe["enter_short"] = ~above & above.shift(1, fill_value=False)
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):  # type: ignore[no-untyped-def]
        above = dataframe["f"] > dataframe["s"]
        dataframe["exit_long"] = ~above
        dataframe["exit_short"] = above
        return dataframe


def test_signals_once_per_strategy_parameters_indicators_once_per_value(
    setup: dict[str, Any],
) -> None:
    Counting.populated.clear()
    task = Task(Counting, setup["config"], warmup=setup["warmup"])
    evaluator = Evaluator(task, setup["data"])
    space = [
        (k, {"fast": f, "slow": s, "leverage": lev})
        for k, (f, s, lev) in enumerate(
            (f, s, lev) for f in (10, 20) for s in (50, 100) for lev in (1, 2, 3)
        )
    ]
    rows = evaluator.chunk((0, space))
    assert len(rows) == 12
    # one signal table per (fast, slow): 4, not 12
    assert sorted(Counting.populated) == [(10, 50), (10, 100), (20, 50), (20, 100)]
    # SMA(10), SMA(20), SMA(50), SMA(100): computed once each, the other 4 calls reuse them
    assert (evaluator.memo.computed, evaluator.memo.reused) == (4, 4)
    # and the rows are the single runs' (variant 7: fast 20, slow 50, leverage 2)
    single = Counting()
    single.fast, single.slow = 20, 50
    config = setup["config"].model_copy(update={"leverage": 2.0})
    alone = run(single, setup["data"], config, warmup=setup["warmup"])
    assert rows[7]["final_equity"] == alone.metrics["final_equity"]
    assert rows[7]["sharpe"] == alone.metrics["sharpe"] or np.isnan(alone.metrics["sharpe"])


def test_compiled_variants_are_scored_without_building_result_tables(
    setup: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a variant run on the compiled kernel is scored from the kernel's arrays: building any
    # of the result's tables fails the test
    def refuse(*args: Any) -> Any:
        raise AssertionError("the sweep built a result table")

    for name in ("_trades", "_orders", "_ledger", "_series"):
        monkeypatch.setattr(kernel, name, refuse)
    task = Task(Counting, setup["config"], warmup=setup["warmup"])
    (row,) = Evaluator(task, setup["data"]).chunk((0, [(0, {"fast": 10, "slow": 50})]))
    monkeypatch.undo()
    single = Counting()
    alone = run(single, setup["data"], setup["config"], warmup=setup["warmup"])
    assert alone.metadata["engine"] == "compiled"
    assert row["trades"] == len(alone.trades) > 0
    assert row["final_equity"] == float(alone.series["equity"].iloc[-1])
    assert row["rejected_orders"] == int((alone.orders["status"] == "rejected").sum())


def test_memo_gives_copies_of_identical_outputs() -> None:
    values = np.linspace(1.0, 2.0, 300)
    with ind.memoized() as memo:
        first = ind.SMA(values, 20)
        first[:] = 0.0  # a caller writing into its output does not change the memo's
        second = ind.SMA(values.copy(), 20)
        third = ind.SMA(values, 21)
    assert (memo.computed, memo.reused) == (2, 1)
    np.testing.assert_array_equal(second, ind.SMA(values, 20))
    assert not np.array_equal(second, third, equal_nan=True)


def test_in_sample_and_out_of_sample(setup: dict[str, Any]) -> None:
    table = sweep(
        setup["strategy"],
        setup["data"],
        {"fast": [8, 16], "leverage": [1, 5]},
        config=setup["config"],
        warmup=setup["warmup"],
        executor="serial",
        oos=0.25,
    )
    assert {"is_sharpe", "oos_sharpe", "is_final_equity", "oos_liquidations"} <= set(table.columns)
    assert "sharpe" not in table.columns
    data, warmup = setup["data"], setup["warmup"]
    traded = len(data) - warmup
    cut = traded - int(np.ceil(traded * 0.25))
    row = table.iloc[3]
    instance = setup["strategy"].__class__()
    for k, v in vars(setup["strategy"]).items():
        setattr(instance, k, v)
    instance.fast = int(row["fast"])
    config = setup["config"].model_copy(update={"leverage": float(row["leverage"])})
    stamps = data.timestamps
    oos_data = data.between(int(stamps[cut]), None)
    alone = run(instance, oos_data, config, warmup=warmup)
    assert row["oos_final_equity"] == alone.metrics["final_equity"]
    assert row["oos_trades"] == alone.metrics["trades"]


def test_walk_forward_rows_per_fold(setup: dict[str, Any]) -> None:
    table = sweep(
        setup["strategy"],
        setup["data"],
        {"fast": [8, 16]},
        config=setup["config"],
        warmup=setup["warmup"],
        executor="serial",
        walk_forward=3,
    )
    assert table[["variant", "fold"]].values.tolist() == [[v, f] for v in (0, 1) for f in (0, 1, 2)]
    assert table["is_trades"].gt(0).all()


@pytest.mark.parametrize("search", ["random", "optuna"])
def test_seeded_searches_repeat(setup: dict[str, Any], search: str) -> None:
    kwargs: dict[str, Any] = {
        "config": setup["config"],
        "warmup": setup["warmup"],
        "executor": "serial",
        "search": search,
        "trials": 12,
        "seed": 7,
        "batch": 4,
        "objective": "calmar",
        "constraints": ["liquidations==0"],
    }
    space = {"fast": "6:40:2", "slow": [48, 96], "leverage": "1:60:1", "stoploss": "-0.9:-0.1"}
    first = sweep(setup["strategy"], setup["data"], space, **kwargs)
    second = sweep(setup["strategy"], setup["data"], space, **kwargs)
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    assert first["variant"].tolist() == list(range(12))
    assert first["stoploss"].between(-0.9, -0.1).all()
    assert first["fast"].isin(range(6, 41, 2)).all()
    best = ranked(first)
    assert bool(best["feasible"].iloc[0]) == bool(first["feasible"].any())
    if first["feasible"].any():
        feasible = first[first["feasible"]]
        assert best["calmar"].iloc[0] == feasible["calmar"].max()


def test_freqtrade_hyperopt_parameters_are_swept(setup: dict[str, Any]) -> None:
    from levtrade.freqtrade import IntParameter, IStrategy

    class Hyper(IStrategy):
        timeframe = "1h"
        can_short = True
        buy_fast = IntParameter(6, 9, default=6, space="buy")

        def populate_indicators(self, dataframe, metadata):  # type: ignore[no-untyped-def]
            dataframe["f"] = ind.SMA(dataframe["close"], self.buy_fast.value)
            dataframe["s"] = ind.SMA(dataframe["close"], 48)
            return dataframe

        def populate_entry_trend(self, dataframe, metadata):  # type: ignore[no-untyped-def]
            above = dataframe["f"] > dataframe["s"]
            dataframe["enter_long"] = above & ~above.shift(1, fill_value=False)
            dataframe["enter_short"] = ~above & above.shift(1, fill_value=False)
            return dataframe

        def populate_exit_trend(self, dataframe, metadata):  # type: ignore[no-untyped-def]
            above = dataframe["f"] > dataframe["s"]
            dataframe["exit_long"] = ~above
            dataframe["exit_short"] = above
            return dataframe

    strategy = Hyper()
    table = sweep(
        strategy,
        setup["data"],
        ["buy_fast"],
        config=setup["config"],
        warmup=setup["warmup"],
        executor="serial",
    )
    assert table["buy_fast"].tolist() == [6, 7, 8, 9]
    assert strategy.buy_fast.value == 6  # the configured instance is left as it was
    single = Hyper()
    single.set_parameter("buy_fast", 8)
    alone = run(single, setup["data"], setup["config"], warmup=setup["warmup"])
    assert table.iloc[2]["final_equity"] == alone.metrics["final_equity"]
    assert table["final_equity"].nunique() > 1


def test_html_page(setup: dict[str, Any], tmp_path: Path) -> None:
    table = sweep(
        setup["strategy"],
        setup["data"],
        {"fast": [8, 16], "leverage": [1, 20, 75], "margin_mode": ["isolated"]},
        config=setup["config"],
        warmup=setup["warmup"],
        executor="serial",
        constraints=["max_drawdown<0.5"],
    )
    page = render_sweep_report(table, source=setup["strategy"], data=setup["data"], top=3)
    assert 'data-charts="4"' in page  # heatmap, liquidation frontier, parallel coordinates, equity
    assert "Liquidation frontier over fast and leverage" in page
    assert re.search(r"sharpe by fast and leverage", page)
    assert '"type":"parcoords"' in page.replace(" ", "")
    assert page.count("levtradePlot(") == 4 + 1  # the four charts and the function
    without = render_sweep_report(table, top=0)
    assert 'data-charts="3"' in without


def test_event_strategies_sweep_their_params(setup: dict[str, Any]) -> None:
    from levtrade.strategy import Strategy

    class Flip(Strategy):
        params = {"period": 10}  # noqa: RUF012

        def __init__(self) -> None:
            self.sma = ind.SMA(self.data.close, self.p.period)

        def next(self) -> None:
            if self.data.close[0] > self.sma[0] and self.position.size <= 0:
                self.close()
                self.buy(stake=500)
            elif self.data.close[0] < self.sma[0] and self.position.size > 0:
                self.close()

    data = setup["data"]
    table = sweep(Flip, data, {"period": [10, 30]}, config=setup["config"], executor="serial")
    alone = run(Flip, data, setup["config"], params={"period": 30})
    assert table.iloc[1]["final_equity"] == alone.metrics["final_equity"]
