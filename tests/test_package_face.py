"""``import levtrade as lt``: the names a script needs, loaded on first use."""

from __future__ import annotations

import sys

import pytest

import levtrade as lt
from levtrade.backtest import run


def test_the_package_face_names_what_a_script_needs() -> None:
    for name in ("run", "Strategy", "SignalStrategy", "BacktestConfig", "load_market", "Account"):
        assert getattr(lt, name) is not None
    assert lt.run is run
    assert lt.indicators.SMA is sys.modules["levtrade.strategy.indicators"].SMA
    assert callable(lt.collect_params)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = lt.nope  # type: ignore[attr-defined]
