"""The venue's clock: which bar of the data is "now".

* ``manual`` — time stands still until told to move (``POST /_venue/advance``): tests are
  deterministic;
* ``replay`` — the data is walked at ``speed`` times real time from the start bar;
* ``realtime`` — the data is replayed bar for bar in real time, shifted so that the start bar
  opens at the moment the venue first starts (the shift is kept in the state file): the venue
  tells live-clock time over recorded prices.

The data's times are shown as they are in ``manual`` and ``replay`` and shifted by the venue's
``shift_ms`` in ``realtime``. Signed requests are always checked against the wall clock (plus
any injected skew), as Binance checks them against its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from levtrade.errors import ConfigError

ClockMode = Literal["manual", "replay", "realtime"]
CLOCK_MODES: tuple[ClockMode, ...] = ("manual", "replay", "realtime")


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class Clock:
    """Maps wall-clock time to bars for the self-driven modes."""

    mode: ClockMode
    timeframe_ms: int
    start_time: int
    """Open time (data time) of the bar the venue starts at."""
    speed: float = 1.0
    started_wall: int = field(default_factory=wall_ms)
    skew_ms: int = 0
    """Injected offset of the server clock (a fault)."""

    def __post_init__(self) -> None:
        if self.mode not in CLOCK_MODES:
            raise ConfigError(f"clock: must be one of {', '.join(CLOCK_MODES)}, got {self.mode!r}")
        if not self.speed > 0:
            raise ConfigError(f"speed: must be > 0, got {self.speed!r}")

    def server_ms(self) -> int:
        """The server's clock, against which signed requests are checked."""
        return wall_ms() + self.skew_ms

    def due_time(self) -> int | None:
        """The data time the self-driven clock has reached (None in manual mode)."""
        if self.mode == "manual":
            return None
        elapsed = wall_ms() - self.started_wall
        speed = self.speed if self.mode == "replay" else 1.0
        return self.start_time + int(elapsed * speed)
