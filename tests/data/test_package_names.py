"""``levtrade.data`` names its submodules' public names and loads each on first use."""

from __future__ import annotations

import subprocess
import sys
from importlib import import_module

import levtrade.data


def test_every_public_name_comes_from_its_submodule() -> None:
    assert sorted(levtrade.data._MODULE_OF) == sorted(levtrade.data.__all__)
    for name, module in levtrade.data._MODULE_OF.items():
        origin = import_module(f"levtrade.data.{module}")
        assert getattr(levtrade.data, name) is getattr(origin, name), name
    assert set(levtrade.data.__all__) <= set(dir(levtrade.data))


def test_one_submodule_loads_alone() -> None:
    """Formatting a time (the terminal tables do) imports neither pandas nor the rest."""
    code = (
        "import sys\n"
        "from levtrade.data import format_ts\n"
        "print(format_ts(1_735_689_600_000))\n"
        "print(sorted(m for m in sys.modules if m.startswith('levtrade.data.') "
        "or m.split('.')[0] == 'pandas'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == [
        "2025-01-01T00:00:00Z",
        "['levtrade.data.errors', 'levtrade.data.timeframes']",
    ]
