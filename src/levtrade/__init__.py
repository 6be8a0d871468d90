"""levtrade: leveraged crypto trading with venue-accurate margin accounting."""

from __future__ import annotations

__version__ = "0.1.0"
