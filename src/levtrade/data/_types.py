"""Array type aliases shared by the data package."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

GapPolicy = Literal["error", "fill", "keep"]
CoveragePolicy = Literal["error", "trim"]
CandleKind = Literal["trade", "mark", "index"]

GAP_POLICIES: tuple[str, ...] = ("error", "fill", "keep")
COVERAGE_POLICIES: tuple[str, ...] = ("error", "trim")
CANDLE_KINDS: tuple[str, ...] = ("trade", "mark", "index")
