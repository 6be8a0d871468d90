"""Named points where a test can kill the bot the hard way (``kill -9`` on itself), to prove
that a crash anywhere loses nothing and doubles nothing.

``LEVTRADE_FAILPOINT=<name>:<n>`` in the environment kills the process (SIGKILL: no cleanup,
no flush beyond what was committed) the ``n``-th time it reaches the point ``name``. The
points: ``before_intent_commit``, ``after_intent_commit``, ``after_send``, ``after_fill``,
``during_reconciliation``. Without the variable, :func:`reach` costs a dictionary look-up.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "before_intent_commit",
    "after_intent_commit",
    "after_send",
    "after_fill",
    "during_reconciliation",
)
_counts: dict[str, int] = {}


def _armed() -> tuple[str, int] | None:
    value = os.environ.get("LEVTRADE_FAILPOINT")
    if not value:
        return None
    name, _, count = value.partition(":")
    return name, int(count or "1")


def reach(name: str) -> None:
    """The bot is at point ``name``: die here if a test armed it (module docstring)."""
    armed = _armed()
    if armed is None or armed[0] != name:
        return
    _counts[name] = _counts.get(name, 0) + 1
    if _counts[name] >= armed[1]:
        os.kill(os.getpid(), signal.SIGKILL)
