"""Headless Chromium for the report tests: Debian's ``chromium`` package, installed with apt-get
on first use when /usr/bin/chromium is absent (CI runs as root)."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LOCK = Path(tempfile.gettempdir()) / "levtrade-chromium-install.lock"


def _install() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(command)} failed: {done.stderr.strip()[-2000:]}")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Path of the chromium binary (installed once; xdist workers wait for each other)."""
    found = shutil.which("chromium")
    if found:
        return Path(found)
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0:
        pytest.skip("chromium is not installed and installing it needs root")
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not CHROMIUM.exists():
                _install()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return CHROMIUM
