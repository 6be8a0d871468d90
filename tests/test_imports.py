"""Every public package imports first in a fresh interpreter, in any order.

The event-driven strategy base class and the engine refer to each other; a user's strategy
file typically starts with ``from levtrade.strategy import Strategy`` before anything else.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

FIRST_IMPORTS = [
    "from levtrade.strategy import Strategy, SignalStrategy",
    "from levtrade.strategy.base import Strategy",
    "from levtrade.backtest import run, BacktestConfig, Strategy",
    "from levtrade.model.orders import Order",
    "from levtrade.margin import Account",
    "from levtrade.model.instrument import Instrument",
    "from levtrade.risk import EmergencyProtocol",
    "from levtrade.cli import app",
]


@pytest.mark.parametrize("statement", FIRST_IMPORTS)
def test_public_names_import_first(statement: str) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", statement], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
