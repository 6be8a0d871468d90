"""Peer tools: the benchmark strategy written idiomatically for each, and their registry.

Each peer module exposes ``NAME``, ``PACKAGES`` (distributions whose versions the report
shows), ``KINDS`` (workload kinds it implements), ``run(workload, **options) -> dict`` with
``trades``, ``final_equity``, ``wall_s`` and ``warmup_s``, and optionally
``matching(workload) -> Workload``: the workload as the peer models it (leverage, first
decision, fill price), used for the agreement checks. Peers run in the benchmark virtualenv
(``.bench-venv``), never in the project's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PeerSpec:
    """One row source of the report: a peer module, its entry point and options."""

    key: str
    label: str
    module: str
    kinds: tuple[str, ...]
    packages: tuple[str, ...]
    function: str = "run"
    options: dict[str, Any] = field(default_factory=dict)


PEERS: tuple[PeerSpec, ...] = (
    PeerSpec(
        "vectorbt",
        "vectorbt (Rust engine)",
        "benchmarks.peers.vectorbt_sma",
        ("signal",),
        ("vectorbt", "vectorbt-rust"),
        options={"engine": "auto"},
    ),
    PeerSpec(
        "vectorbt-numba",
        "vectorbt (Numba engine)",
        "benchmarks.peers.vectorbt_sma",
        ("signal",),
        ("vectorbt",),
        options={"engine": "numba"},
    ),
    PeerSpec(
        "freqtrade",
        "FreqTrade",
        "benchmarks.peers.freqtrade_sma",
        ("signal",),
        ("freqtrade", "ccxt"),
    ),
    PeerSpec(
        "vectorbt-sweep",
        "vectorbt parameter broadcast",
        "benchmarks.peers.vectorbt_sweep",
        ("sweep",),
        ("vectorbt", "vectorbt-rust"),
        options={"engine": "auto"},
    ),
    PeerSpec(
        "freqtrade-hyperopt",
        "FreqTrade hyperopt (-j 1)",
        "benchmarks.peers.freqtrade_hyperopt",
        ("sweep",),
        ("freqtrade", "optuna"),
    ),
    PeerSpec(
        "backtesting.py",
        "backtesting.py",
        "benchmarks.peers.backtesting_sma",
        ("event",),
        ("backtesting",),
    ),
    PeerSpec(
        "backtrader",
        "backtrader",
        "benchmarks.peers.backtrader_sma",
        ("event",),
        ("backtrader",),
    ),
    PeerSpec(
        "nautilus",
        "NautilusTrader",
        "benchmarks.peers.nautilus_sma",
        ("event",),
        ("nautilus_trader",),
    ),
    PeerSpec(
        "pandas",
        "pandas.read_parquet (baseline)",
        "benchmarks.peers.loaders",
        ("data_parquet",),
        ("pandas", "pyarrow"),
        function="pandas_parquet",
    ),
    PeerSpec(
        "freqtrade-data",
        "FreqTrade load_pair_history",
        "benchmarks.peers.loaders",
        ("data_freqtrade",),
        ("freqtrade",),
        function="freqtrade_dir",
    ),
)


def peers_for(kind: str) -> list[PeerSpec]:
    """The peers that implement a workload kind."""
    return [peer for peer in PEERS if kind in peer.kinds]


def find(key: str) -> PeerSpec:
    """The peer registered under ``key``."""
    for peer in PEERS:
        if peer.key == key:
            return peer
    raise KeyError(key)
