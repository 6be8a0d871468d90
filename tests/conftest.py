"""Shared test fixtures: the path to ../shared (real recorded data), skipped when absent; and a
guard that fails any test opening a connection to a non-loopback address (nothing here may
reach a real host: venues are the local one, over loopback)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = SHARED / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not beside this checkout")
    return SHARED_DATA


class NonLoopbackConnection(AssertionError):
    """A test tried to connect to an address outside this machine."""


def _loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # a Unix socket path
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def _loopback_only() -> Iterator[None]:
    """``socket.connect`` refuses non-loopback addresses for the whole session (once per
    process, so under pytest-xdist once per worker)."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(self: socket.socket, address: Any) -> Any:
        if not _loopback(address):
            raise NonLoopbackConnection(f"connection to {address!r}: tests stay on loopback")
        return connect(self, address)

    def guarded_ex(self: socket.socket, address: Any) -> Any:
        if not _loopback(address):
            raise NonLoopbackConnection(f"connection to {address!r}: tests stay on loopback")
        return connect_ex(self, address)

    socket.socket.connect = guarded  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_ex  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect, socket.socket.connect_ex = connect, connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _no_user_tier_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default tier look-ups read only the tables levtrade ships: a developer's refreshed
    tables (``~/.levtrade/tiers``) never change a test's numbers."""
    monkeypatch.setenv("LEVTRADE_TIERS_DIR", "")
