"""The strategy's indicator columns on the report's price charts: FreqTrade's ``plot_config``
when the strategy has one, else by scale (over the price, or an "indicators" subplot); the
volume below the price."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from levtrade.configuration import RunConfig, execute, prepare_run
from levtrade.report.html import chart_figures
from levtrade.report.summary import bundle_from_result


def _traces(plan_strategy: str | None = None) -> dict[str, Any]:
    config = RunConfig.synthetic_demo().with_overrides(
        timerange="20240101-20240201", pairs=["BTC/USDT:USDT"]
    )
    outcome = execute(prepare_run(config, strategy=plan_strategy))
    bundle = bundle_from_result(outcome.result, outcome.data, outcome.info(), outcome.indicators)
    [price] = [figure for chart_id, _, figure in chart_figures(bundle) if "price" in chart_id]
    return {trace.name: trace for trace in price.data}


def test_plot_config_places_and_colours_the_starter_strategys_averages() -> None:
    traces = _traces()
    # the starter's plot_config: both averages over the price, in its colours
    assert traces["fast_sma"].line.color == "#ff7f0e"
    assert traces["slow_sma"].line.color == "#6a1b9a"
    assert traces["fast_sma"].yaxis in (None, "y") and traces["slow_sma"].yaxis in (None, "y")
    assert traces["volume"].type == "bar" and traces["volume"].yaxis == "y2"


WITH_RSI = """
from levtrade.strategy import SignalStrategy
from levtrade.strategy import indicators as ind


class WithRsi(SignalStrategy):
    \"\"\"An average (price scale) and an RSI (0-100), no plot_config.\"\"\"

    def populate_indicators(self, df, metadata):
        df["ema"] = ind.EMA(df["close"], 20)
        df["rsi"] = ind.RSI(df["close"], 14)
        return df

    def populate_entry_trend(self, df, metadata):
        df["enter_long"] = df["rsi"] < 30
        return df

    def populate_exit_trend(self, df, metadata):
        df["exit_long"] = df["rsi"] > 70
        return df
"""


def test_without_plot_config_indicators_go_by_scale(tmp_path: Path) -> None:
    source = tmp_path / "rsi.py"
    source.write_text(WITH_RSI, encoding="utf-8")
    traces = _traces(f"{source}:WithRsi")
    assert traces["ema"].yaxis in (None, "y")  # the price's scale
    assert traces["rsi"].yaxis == "y3"  # below the volume, in its own subplot
