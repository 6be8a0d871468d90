"""The suite's guard: a connection to a non-loopback address fails the test that opens it."""

from __future__ import annotations

import socket

import pytest


def test_a_connection_off_this_machine_is_refused() -> None:
    # 192.0.2.1 is TEST-NET-1 (RFC 5737): never a real host
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(AssertionError, match=r"192\.0\.2\.1.*tests stay on loopback"):
            sock.connect(("192.0.2.1", 443))
        with pytest.raises(AssertionError, match="tests stay on loopback"):
            sock.connect_ex(("192.0.2.1", 443))


def test_loopback_is_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
