"""The parameter space: the command line's values, the grid's order, the names a sweep knows,
and a FreqTrade strategy's declared hyperopt ranges."""

from __future__ import annotations

import pytest

from levtrade.errors import ConfigError
from levtrade.freqtrade import CategoricalParameter, IntParameter, IStrategy
from levtrade.optimize import Dimension, Space, parse_dimension, read_value
from levtrade.optimize.space import split_params
from levtrade.templates.strategy import SmaCross


def test_command_line_values() -> None:
    name, fast = parse_dimension("fast=5:50:5")
    assert name == "fast" and fast is not None
    assert fast.values() == (5, 10, 15, 20, 25, 30, 35, 40, 45, 50)
    assert all(isinstance(v, int) for v in fast.values())
    _, stop = parse_dimension("stoploss=-0.3:-0.1:0.1")
    assert stop is not None and stop.values() == (-0.3, -0.2, -0.1)
    _, odd = parse_dimension("slow=20:45:10")  # the end is kept only on the step
    assert odd is not None and odd.values() == (20, 30, 40)
    _, listed = parse_dimension("slow=20,50,100,200")
    assert listed is not None and listed.values() == (20, 50, 100, 200)
    _, modes = parse_dimension("margin_mode=isolated,cross")
    assert modes is not None and modes.values() == ("isolated", "cross")
    _, continuous = parse_dimension("roi=0.01:0.1")
    assert continuous is not None and not continuous.finite
    assert read_value("5") == 5 and read_value("0.5") == 0.5 and read_value("true") is True
    assert read_value("isolated") == "isolated"


def test_the_grid_varies_strategy_parameters_slowest() -> None:
    space = Space.build({"leverage": [1, 2], "fast": [10, 20], "slow": [50]}, SmaCross)
    assert space.names == ("leverage", "fast", "slow")
    assert list(space.grid()) == [
        {"leverage": 1, "fast": 10, "slow": 50},
        {"leverage": 2, "fast": 10, "slow": 50},
        {"leverage": 1, "fast": 20, "slow": 50},
        {"leverage": 2, "fast": 20, "slow": 50},
    ]
    assert space.grid_size() == 4


def test_settings_go_to_the_config_and_the_strategy() -> None:
    config, rules, own = split_params(
        {"leverage": 5, "margin_mode": "isolated", "stoploss": -0.1, "roi": 0.05, "fast": 9}
    )
    assert config == {"leverage": 5, "margin_mode": "isolated"}
    assert rules == {"stoploss": -0.1, "minimal_roi": {"0": 0.05}}
    assert own == {"fast": 9}


def test_unknown_and_empty() -> None:
    with pytest.raises(ConfigError, match="param fastt: unknown parameter"):
        Space.build(["fastt=1,2"], SmaCross)
    with pytest.raises(ConfigError, match="param fast: the list of values is empty"):
        Space.build({"fast": []}, SmaCross)
    with pytest.raises(ConfigError, match="param fast: range"):
        Space.build({"fast": range(5, 5)}, SmaCross)
    with pytest.raises(ConfigError, match="no values given"):
        Space.build(["fast"], SmaCross)
    with pytest.raises(ConfigError, match="param margin_mode: 'hedged' refused"):
        Space.build(["margin_mode=isolated,hedged"], SmaCross)
    with pytest.raises(ConfigError, match="named 'slow'"):
        Space.build({"fast": Dimension("slow", choices=(1,))}, SmaCross)


class Hyper(IStrategy):
    """A FreqTrade strategy with hyperopt parameters (their ranges are its search space)."""

    timeframe = "1h"
    buy_fast = IntParameter(5, 8, default=6, space="buy")
    sell_side = CategoricalParameter(["a", "b"], default="a", space="sell")

    def populate_entry_trend(self, dataframe, metadata):  # type: ignore[no-untyped-def]
        dataframe["enter_long"] = 0
        return dataframe

    def populate_exit_trend(self, dataframe, metadata):  # type: ignore[no-untyped-def]
        dataframe["exit_long"] = 0
        return dataframe


def test_declared_hyperopt_ranges() -> None:
    space = Space.build(["buy_fast", "sell_side", "leverage=1,3"], Hyper)
    assert space["buy_fast"].values() == (5, 6, 7, 8)
    assert space["sell_side"].values() == ("a", "b")
    assert space.grid_size() == 16
    narrowed = Space.build(["buy_fast=5,7"], Hyper)
    assert narrowed["buy_fast"].values() == (5, 7)
