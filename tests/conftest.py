"""Shared test fixtures: the path to ../shared (real recorded data), skipped when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _no_user_tier_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default tier look-ups read only the tables levtrade ships: a developer's refreshed
    tables (``~/.levtrade/tiers``) never change a test's numbers."""
    monkeypatch.setenv("LEVTRADE_TIERS_DIR", "")
