"""Data errors that point at the offending file, column, row and value.

Every validation failure in :mod:`levtrade.data` raises a :class:`DataValidationError` (or a
subclass), so a user can open the file at the named row and see the problem.
"""

from __future__ import annotations

from levtrade.errors import DataError

__all__ = [
    "CoverageError",
    "DataValidationError",
    "DownloadError",
    "GapError",
    "MissingColumnError",
    "TimeframeError",
]


class DataValidationError(DataError):
    """Market data that breaks a rule; the message names file, column, row and value.

    ``row`` is the 0-based index of the data row (the header does not count); ``line`` is the
    1-based text line for text formats (CSV), where it helps to find the row in an editor.
    """

    def __init__(
        self,
        reason: str,
        *,
        file: str | None = None,
        column: str | None = None,
        row: int | None = None,
        value: object = None,
        line: int | None = None,
    ) -> None:
        self.reason = reason
        self.file = file
        self.column = column
        self.row = row
        self.value = value
        self.line = line
        super().__init__(self._format())

    def _format(self) -> str:
        where: list[str] = []
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.row is not None:
            row = f"row {self.row}"
            if self.line is not None:
                row += f" (line {self.line})"
            where.append(row)
        if self.value is not None:
            where.append(f"value {self.value}")
        head = self.file if self.file is not None else "<data>"
        if where:
            head += ": " + ", ".join(where)
        return f"{head}: {self.reason}"


class MissingColumnError(DataValidationError):
    """A required column is absent."""


class TimeframeError(DataValidationError):
    """Bars whose spacing is not one timeframe, or a timeframe that does not match."""


class GapError(DataValidationError):
    """Missing bars while the gap policy is ``"error"``."""


class CoverageError(DataValidationError):
    """Mark or index candles that do not cover every trade candle."""


class DownloadError(DataError):
    """A download that failed after its retries; what was fetched before is already stored."""
