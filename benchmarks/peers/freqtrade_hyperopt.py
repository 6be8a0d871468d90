"""FreqTrade: workload 7 as ``freqtrade hyperopt``, offline, one job (``-j 1``).

Idiom: the benchmark's strategy with the averages as ``CategoricalParameter``s over the
sweep's windows (``freqtrade_strategy/sma_cross_hyperopt.py``), the ``buy`` and ``stoploss``
spaces, ``SharpeHyperOptLoss``, FreqTrade's own ``Hyperopt`` on its data directory in
futures mode, offline as the single-run peer (``freqtrade_sma``: a static Binance market).

FreqTrade runs one backtest per epoch; what is timed is each epoch's
``HyperOptimizer.generate_optimizer`` (the backtest of one variant on the precomputed
indicators, and its loss). ``wall_s`` is the 10,000 variants at the median time per epoch on
one core (FreqTrade's ``-j`` spreads epochs over processes the way levtrade's workers do;
the per-core figure is what compares); ``per_backtest_s`` and ``epochs`` are in the result.
"""

from __future__ import annotations

import logging
import statistics
import time
from pathlib import Path
from typing import Any
from unittest import mock

from benchmarks import workloads as wl
from benchmarks.peers.freqtrade_sma import STRATEGY_DIR, static_market, write_config

NAME = "freqtrade"
PACKAGES = ("freqtrade", "optuna")
KINDS = ("sweep",)
STRATEGY = "SmaCrossHyperopt"
EPOCHS = 6


def run(workload: wl.Workload) -> dict[str, Any]:
    """Time ``EPOCHS`` epochs of hyperopt (see the module docstring)."""
    from freqtrade.commands.optimize_commands import setup_optimize_configuration
    from freqtrade.configuration.directory_operations import create_userdata_dir
    from freqtrade.enums import RunMode
    from freqtrade.exchange.exchange import Exchange
    from freqtrade.optimize.hyperopt import Hyperopt
    from freqtrade.optimize.hyperopt.hyperopt_optimizer import HyperOptimizer

    markets = {workload.symbol: static_market(workload.symbol, workload.fee)}

    def load_static_markets(self: Exchange, reload: bool = False) -> None:
        self._api_async.set_markets(markets)

    workdir = wl.CACHE_DIR / "freqtrade-hyperopt" / workload.key
    create_userdata_dir(str(workdir / "user_data"), create_dir=True)
    args = {
        "config": [str(write_config(workload, workdir))],
        "strategy": STRATEGY,
        "strategy_path": str(STRATEGY_DIR),
        "datadir": workload.freqtrade_dir,
        "user_data_dir": str(workdir / "user_data"),
        "epochs": EPOCHS,
        "spaces": ["buy", "stoploss"],
        "hyperopt_loss": "SharpeHyperOptLoss",
        "hyperopt_jobs": 1,
        "hyperopt_random_state": 1,
        "hyperopt_min_trades": 1,
        "print_all": False,
        "disableparamexport": True,  # no parameter file beside the strategy
    }
    epochs: list[float] = []
    original = HyperOptimizer.generate_optimizer

    def timed(self: HyperOptimizer, params: dict[str, Any]) -> dict[str, Any]:
        start = time.perf_counter()
        try:
            return original(self, params)
        finally:
            epochs.append(time.perf_counter() - start)

    start = time.perf_counter()
    with (
        mock.patch.object(Exchange, "_load_async_markets", load_static_markets),
        mock.patch.object(HyperOptimizer, "generate_optimizer", timed),
    ):
        config = setup_optimize_configuration(args, RunMode.HYPEROPT)
        logging.getLogger("freqtrade").setLevel(logging.WARNING)
        Hyperopt(config).start()
    total = time.perf_counter() - start
    per_backtest = statistics.median(epochs)
    return {
        "trades": None,
        "final_equity": None,
        "wall_s": per_backtest * wl.SWEEP_VARIANTS,
        "warmup_s": total - sum(epochs),
        "per_backtest_s": per_backtest,
        "epochs": len(epochs),
        "projected": True,
        "results_dir": str(Path(workdir)),
    }
