"""Fixtures for levtrade.data tests (helpers live in data_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from data_helpers import RecordedBinance, make_binance


@pytest.fixture
def recorded() -> RecordedBinance:
    """A fresh recorded Binance HTTP layer (100 closed 1h bars, 13 funding events)."""
    return RecordedBinance()


@pytest.fixture
def binance(recorded: RecordedBinance) -> Any:
    """ccxt.binanceusdm answering from ``recorded``."""
    return make_binance(recorded)


@pytest.fixture
def sleeps() -> list[float]:
    """Backoff sleeps recorded instead of slept."""
    return []


@pytest.fixture
def no_sleep(sleeps: list[float]) -> Callable[[float], None]:
    """A sleep function that records the requested delay."""
    return sleeps.append


@pytest.fixture
def tmp_store(tmp_path: Path) -> Path:
    """An empty store root."""
    root = tmp_path / "store"
    root.mkdir()
    return root
