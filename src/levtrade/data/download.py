"""Download candles, mark-price candles and funding history through CCXT into a :class:`Store`.

Pagination walks forward from ``since`` one page at a time. Requests go through the exchange
object's own rate limiter (``enableRateLimit``); transient failures (CCXT's ``OperationFailed``
family: timeouts, 5xx, 429/418 rate limiting, Binance's -1001 "try again") are retried with
exponential backoff; other exchange errors (bad symbol, bad request) fail at once. Pages are
merged into the store every ``flush_every`` pages and before an error propagates, so a failure
loses nothing already fetched, and a rerun resumes after the last stored bar (and backfills
before the first one if ``since`` is earlier). Only closed candles are stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from levtrade.data._types import CandleKind, FloatArray, IntArray
from levtrade.data.errors import DataValidationError, DownloadError
from levtrade.data.io import read_candles, read_funding
from levtrade.data.series import last_wins, make_candles, make_funding
from levtrade.data.store import Store
from levtrade.data.timeframes import format_ts, parse_time, parse_timeframe
from levtrade.data.validate import Origin

__all__ = [
    "DownloadResult",
    "Downloader",
    "ProgressUpdate",
    "make_exchange",
]


def make_exchange(name: str) -> Any:
    """A CCXT exchange by id (``binanceusdm``, ``bybit`` ...) with its rate limiter on."""
    import ccxt  # imported on use: it takes longer to import than the rest of levtrade.data

    factory = getattr(ccxt, name, None)
    if factory is None or not isinstance(factory, type):
        raise DownloadError(f"unknown CCXT exchange {name!r}")
    return factory({"enableRateLimit": True})


@dataclass(frozen=True)
class RetryNotice:
    """A request failed transiently and is retried: ``attempt`` of ``retries``, after
    ``wait_s`` seconds."""

    what: str
    attempt: int
    retries: int
    wait_s: float
    error: str

    @property
    def message(self) -> str:
        return (
            f"retry {self.attempt}/{self.retries} in {self.wait_s:g} s: {self.what} ({self.error})"
        )


@dataclass(frozen=True)
class ProgressUpdate:
    """Where one series' download stands: ``done_ms`` moves from ``start_ms`` to ``end_ms``."""

    symbol: str
    kind: str
    start_ms: int
    end_ms: int
    done_ms: int
    rows: int
    finished: bool = False


@dataclass
class DownloadResult:
    """What one series' download did."""

    symbol: str
    kind: str
    timeframe: str | None
    path: str
    fetched: int = 0
    added: int = 0
    stored: int = 0
    requests: int = 0
    start: int | None = None
    end: int | None = None
    skipped: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        return {
            "symbol": self.symbol,
            "kind": self.kind,
            "timeframe": self.timeframe,
            "path": self.path,
            "fetched": self.fetched,
            "added": self.added,
            "stored": self.stored,
            "requests": self.requests,
            "start": None if self.start is None else format_ts(self.start),
            "end": None if self.end is None else format_ts(self.end),
            "skipped": self.skipped,
        }


@dataclass
class _Buffer:
    """Validated pages waiting to be merged into the store."""

    stamps: list[IntArray] = field(default_factory=list)
    values: list[FloatArray] = field(default_factory=list)

    def add(self, stamps: IntArray, values: FloatArray) -> None:
        self.stamps.append(stamps)
        self.values.append(values)

    def take(self) -> tuple[IntArray, FloatArray] | None:
        """All buffered rows, one per timestamp (the later page wins), in time order."""
        if not self.stamps:
            return None
        stamps = np.concatenate(self.stamps)
        values = np.concatenate(self.values)
        self.stamps.clear()
        self.values.clear()
        keep = last_wins(stamps)
        return stamps[keep], values[keep]

    def __len__(self) -> int:
        return len(self.stamps)


class Downloader:
    """Fetches into a store; the exchange object is injected (tests pass a recorded one)."""

    def __init__(
        self,
        exchange: Any,
        store: Store,
        *,
        page_limit: int = 1000,
        funding_page_limit: int = 1000,
        retries: int = 5,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        flush_every: int = 10,
        sleep: Callable[[float], None] = time.sleep,
        now_ms: Callable[[], int] | None = None,
        progress: Callable[[ProgressUpdate], None] | None = None,
        on_retry: Callable[[RetryNotice], None] | None = None,
    ) -> None:
        self.exchange = exchange
        self.store = store
        self.page_limit = page_limit
        self.funding_page_limit = funding_page_limit
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.flush_every = max(1, flush_every)
        self.sleep = sleep
        self.now_ms = now_ms or (lambda: int(exchange.milliseconds()))
        self.progress = progress
        self.on_retry = on_retry
        self.requests = 0

    def _call(self, what: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """One request with retries on CCXT's transient errors."""
        import ccxt

        for attempt in range(self.retries + 1):
            self.requests += 1
            try:
                return func(*args, **kwargs)
            except ccxt.OperationFailed as exc:
                if attempt == self.retries:
                    raise DownloadError(
                        f"{self.exchange.id} {what}: still failing after {self.retries} "
                        f"retries: {type(exc).__name__}: {exc}"
                    ) from exc
                wait = min(self.max_backoff_s, self.backoff_s * 2**attempt)
                if self.on_retry is not None:
                    self.on_retry(
                        RetryNotice(what, attempt + 1, self.retries, wait, type(exc).__name__)
                    )
                self.sleep(wait)
            except ccxt.BaseError as exc:
                raise DownloadError(
                    f"{self.exchange.id} {what}: {type(exc).__name__}: {exc}"
                ) from exc
        raise DownloadError(f"{self.exchange.id} {what}: no attempt made (retries < 0)")

    def download(
        self,
        symbols: Sequence[str],
        timeframe: str,
        since: str | int,
        until: str | int | None = None,
        *,
        mark: bool = True,
        funding: bool = True,
        index: bool = False,
    ) -> list[DownloadResult]:
        """Trade candles (and mark/index candles and funding for contracts) per symbol."""
        start = parse_time(since)
        tf = parse_timeframe(timeframe)
        end = self.now_ms() if until is None else parse_time(until)
        if end <= start:
            raise DownloadError(f"nothing to download: until {format_ts(end)} <= since")
        self._call("load_markets", self.exchange.load_markets)
        results: list[DownloadResult] = []
        for symbol in symbols:
            if symbol not in self.exchange.markets:
                raise DownloadError(f"{self.exchange.id} has no market {symbol!r}")
            market = self.exchange.market(symbol)
            contract = bool(market.get("swap") or market.get("future"))
            kinds: list[CandleKind] = ["trade"]
            if mark:
                kinds.append("mark")
            if index:
                kinds.append("index")
            for kind in kinds:
                if kind != "trade" and not contract:
                    results.append(self._skipped(symbol, kind, timeframe, "spot market"))
                    continue
                results.append(self._candles(symbol, kind, timeframe, tf, start, end))
            if funding:
                if not contract:
                    results.append(self._skipped(symbol, "funding", None, "spot market"))
                elif not self.exchange.has.get("fetchFundingRateHistory"):
                    results.append(
                        self._skipped(symbol, "funding", None, "exchange has no funding history")
                    )
                else:
                    results.append(self._funding(symbol, start, end))
        return results

    def _skipped(
        self, symbol: str, kind: str, timeframe: str | None, reason: str
    ) -> DownloadResult:
        return DownloadResult(symbol, kind, timeframe, path="", skipped=reason)

    def _report(
        self, result: DownloadResult, lo: int, hi: int, done: int, *, finished: bool = False
    ) -> None:
        if self.progress is not None:
            self.progress(
                ProgressUpdate(result.symbol, result.kind, lo, hi, done, result.fetched, finished)
            )

    @staticmethod
    def _ranges(stamps: IntArray, start: int, end: int, step: int) -> list[tuple[int, int]]:
        """What is missing: before the first stored row and after the last one."""
        if stamps.size == 0:
            return [(start, end)]
        ranges = []
        if start < stamps[0]:
            ranges.append((start, int(stamps[0])))
        ranges.append((max(start, int(stamps[-1]) + step), end))
        return [(lo, hi) for lo, hi in ranges if lo < hi]

    def _candles(
        self, symbol: str, kind: CandleKind, timeframe: str, tf: int, start: int, end: int
    ) -> DownloadResult:
        path = self.store.path(self.exchange.id, symbol, kind, tf)
        result = DownloadResult(symbol, kind, timeframe, str(path))
        stamps = np.zeros(0, np.int64)
        if path.exists():
            stamps = read_candles(path, kind=kind, timeframe=tf, gaps="keep").timestamps
        result.stored = initial = int(stamps.size)
        closed_end = min(end, (self.now_ms() // tf) * tf)
        params: dict[str, Any] = {} if kind == "trade" else {"price": kind}
        origin = Origin(f"{self.exchange.id} {symbol} {kind} candles (exchange response)")
        requests_before = self.requests
        buffer = _Buffer()
        try:
            for lo, hi in self._ranges(stamps, start, closed_end, tf):
                cursor = lo
                self._report(result, lo, hi, cursor)
                while cursor < hi:
                    rows = self._call(
                        f"{kind} candles {symbol} from {format_ts(cursor)}",
                        self.exchange.fetch_ohlcv,
                        symbol,
                        timeframe,
                        since=cursor,
                        limit=self.page_limit,
                        params={**params, "until": hi - 1},
                    )
                    page = np.array(
                        [[np.nan if v is None else float(v) for v in r[:6]] for r in rows or []],
                        dtype=np.float64,
                    ).reshape(-1, 6)
                    page = page[(page[:, 0] >= cursor) & (page[:, 0] < hi)]
                    if page.shape[0] == 0:
                        break
                    page_stamps = page[:, 0].astype(np.int64)
                    make_candles(
                        page_stamps,
                        page[:, 1],
                        page[:, 2],
                        page[:, 3],
                        page[:, 4],
                        page[:, 5] if kind == "trade" else None,
                        kind=kind,
                        origin=origin,
                        timeframe=tf,
                        gaps="keep",
                        strict_timeframe=False,
                    )
                    buffer.add(page_stamps, page[:, 1:])
                    result.fetched += int(page.shape[0])
                    cursor = int(page_stamps.max()) + tf
                    self._report(result, lo, hi, min(cursor, hi))
                    if len(buffer) >= self.flush_every:
                        self._flush_candles(symbol, kind, tf, buffer, result)
            self._flush_candles(symbol, kind, tf, buffer, result)
        except (DownloadError, DataValidationError) as exc:
            self._flush_candles(symbol, kind, tf, buffer, result)
            raise DownloadError(
                f"{symbol} {kind} {timeframe}: {exc}; {result.stored} bar(s) stored in {path}"
                + (f" up to {format_ts(result.end)}" if result.end is not None else "")
                + "; run the download again to resume"
            ) from exc
        finally:
            result.requests = self.requests - requests_before
            result.added = result.stored - initial
        self._report(result, start, closed_end, closed_end, finished=True)
        return result

    def _flush_candles(
        self, symbol: str, kind: CandleKind, tf: int, buffer: _Buffer, result: DownloadResult
    ) -> None:
        taken = buffer.take()
        if taken is None:
            return
        stamps, values = taken
        candles = make_candles(
            stamps,
            values[:, 0],
            values[:, 1],
            values[:, 2],
            values[:, 3],
            values[:, 4] if kind == "trade" else None,
            kind=kind,
            origin=Origin(f"{self.exchange.id} {symbol} {kind} candles (exchange response)"),
            timeframe=tf,
            gaps="keep",
            metadata={"source": f"ccxt:{self.exchange.id}", "synthetic": False},
            strict_timeframe=False,
        )
        merged = self.store.merge_candles(candles, self.exchange.id, symbol)
        result.stored = len(merged)
        result.start = int(merged.timestamps[0])
        result.end = int(merged.timestamps[-1])

    def _funding(self, symbol: str, start: int, end: int) -> DownloadResult:
        path = self.store.path(self.exchange.id, symbol, "funding")
        result = DownloadResult(symbol, "funding", None, str(path))
        stamps = read_funding(path).timestamps if path.exists() else np.zeros(0, np.int64)
        result.stored = initial = int(stamps.size)
        origin = Origin(f"{self.exchange.id} {symbol} funding (exchange response)")
        requests_before = self.requests
        buffer = _Buffer()
        try:
            for lo, hi in self._ranges(stamps, start, end, 1):
                cursor = lo
                self._report(result, lo, hi, cursor)
                while cursor < hi:
                    events = self._call(
                        f"funding history {symbol} from {format_ts(cursor)}",
                        self.exchange.fetch_funding_rate_history,
                        symbol,
                        since=cursor,
                        limit=self.funding_page_limit,
                        params={"until": hi - 1},
                    )
                    page = np.array(
                        [[float(e["timestamp"]), float(e["fundingRate"])] for e in events or []],
                        dtype=np.float64,
                    ).reshape(-1, 2)
                    page = page[(page[:, 0] >= cursor) & (page[:, 0] < hi)]
                    if page.shape[0] == 0:
                        break
                    page_stamps = page[:, 0].astype(np.int64)
                    make_funding(page_stamps, page[:, 1], origin=origin)
                    buffer.add(page_stamps, page[:, 1:])
                    result.fetched += int(page.shape[0])
                    cursor = int(page_stamps.max()) + 1
                    self._report(result, lo, hi, min(cursor, hi))
                    if len(buffer) >= self.flush_every:
                        self._flush_funding(symbol, buffer, result)
            self._flush_funding(symbol, buffer, result)
        except (DownloadError, DataValidationError) as exc:
            self._flush_funding(symbol, buffer, result)
            raise DownloadError(
                f"{symbol} funding: {exc}; {result.stored} event(s) stored in {path}"
                "; run the download again to resume"
            ) from exc
        finally:
            result.requests = self.requests - requests_before
            result.added = result.stored - initial
        self._report(result, start, end, end, finished=True)
        return result

    def _flush_funding(self, symbol: str, buffer: _Buffer, result: DownloadResult) -> None:
        taken = buffer.take()
        if taken is None:
            return
        stamps, values = taken
        events = make_funding(
            stamps,
            values[:, 0],
            origin=Origin(f"{self.exchange.id} {symbol} funding (exchange response)"),
        )
        merged = self.store.merge_funding(
            events, self.exchange.id, symbol, source=f"ccxt:{self.exchange.id}", synthetic=False
        )
        result.stored = len(merged)
        result.start = int(merged.timestamps[0])
        result.end = int(merged.timestamps[-1])
