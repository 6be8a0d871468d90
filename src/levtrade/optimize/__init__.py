"""Parameter sweeps and optimisation: many variants of one strategy, each a backtest on the
compiled kernel, run on local cores or a Ray cluster (docs/sweeps.md).

>>> import levtrade as lt
>>> table = lt.sweep(SmaCross, data, {"fast": "5:50:5", "leverage": [1, 3, 10]})  # doctest: +SKIP

The package is ``levtrade.optimize`` and the face's entry point ``lt.sweep`` (a subpackage
named ``levtrade.sweep`` would replace that function the moment it was imported).
"""

from __future__ import annotations

from levtrade.optimize.evaluate import Segment, split_segments
from levtrade.optimize.objective import Constraint, Objective, metric_names
from levtrade.optimize.runner import ranked, sweep
from levtrade.optimize.space import SETTINGS, Dimension, Space, parse_dimension, read_value
from levtrade.optimize.store import read_table

__all__ = [
    "SETTINGS",
    "Constraint",
    "Dimension",
    "Objective",
    "Segment",
    "Space",
    "metric_names",
    "parse_dimension",
    "ranked",
    "read_table",
    "read_value",
    "split_segments",
    "sweep",
]
