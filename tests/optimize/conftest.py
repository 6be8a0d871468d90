"""Ray, when a test starts it, stays on the loopback interface and admits only this test
session: a single-machine Ray (Ray's own switch) binds and advertises 127.0.0.1, never the
machine's network address, and every Ray process of the session shares one random token.
Ray reads both when it is imported, so they are set here, before any test imports it."""

from __future__ import annotations

import os
import secrets

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
os.environ["RAY_AUTH_MODE"] = "token"
os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
