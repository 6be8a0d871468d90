"""Where chunks of variants run: in this process (``serial``), in a pool of local processes
(``local``, the default: no extra dependency), or on a Ray cluster (``ray``, the optional
extra ``levtrade[ray]``).

Each executor sends the data to a worker once — local workers memory-map it from Arrow files
(:mod:`levtrade.optimize.shipping`), Ray workers get it from the object store
(``ray.put``) — and keeps one :class:`~levtrade.optimize.evaluate.Evaluator` per worker
process, so the signal tables and indicators it computed serve every later chunk.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import pickle
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from levtrade.data import MarketData, Portfolio
from levtrade.errors import ConfigError
from levtrade.optimize.evaluate import Chunk, Evaluator, Row, Task
from levtrade.optimize.shipping import ModuleSource, read_data, write_data

EXECUTORS = ("local", "ray", "serial")


class Executor(Protocol):
    """Runs chunks and yields each one's rows as it finishes."""

    workers: int

    def run(self, chunks: Sequence[Chunk]) -> Iterator[tuple[Chunk, list[Row]]]: ...

    def close(self) -> None: ...


class SerialExecutor:
    """Every chunk in this process, one after another."""

    def __init__(self, task: Task, data: MarketData | Portfolio) -> None:
        self.workers = 1
        self.evaluator = Evaluator(task, data)

    def run(self, chunks: Sequence[Chunk]) -> Iterator[tuple[Chunk, list[Row]]]:
        for chunk in chunks:
            yield chunk, self.evaluator.chunk(chunk)

    def close(self) -> None:
        return None


_WORKER: Evaluator | None = None
"""The evaluator of a local worker process (set by :func:`_start_worker`)."""


def _start_worker(source: ModuleSource, task: bytes, folder: str) -> None:
    global _WORKER
    _exit_with(os.getppid())
    source.ensure()
    _WORKER = Evaluator(pickle.loads(task), read_data(Path(folder)))


def _exit_with(parent: int) -> None:
    """End this worker when its parent is gone (a sweep killed with SIGKILL cannot stop its
    pool; the worker would wait on the task queue for ever)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="levtrade-sweep-parent", daemon=True).start()


def _run_chunk(chunk: Chunk) -> list[Row]:
    assert _WORKER is not None, "worker not started"
    return _WORKER.chunk(chunk)


def _start_method() -> str:
    """``fork`` where there is one (Linux: a worker starts at once, and a script needs no
    ``if __name__ == "__main__"`` guard), else ``spawn``."""
    return "fork" if sys.platform.startswith("linux") else "spawn"


class LocalExecutor:
    """A pool of ``workers`` processes, each reading the data from memory-mapped Arrow files
    written once (the task, with a strategy from a file, sent along when the pool starts)."""

    def __init__(self, task: Task, data: MarketData | Portfolio, workers: int) -> None:
        self.workers = workers
        self._folder = tempfile.TemporaryDirectory(prefix="levtrade-sweep-")
        write_data(data, Path(self._folder.name))
        source = ModuleSource.of(task.strategy_class)
        self.pool = cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(_start_method()),
            initializer=_start_worker,
            initargs=(source, pickle.dumps(task), self._folder.name),
        )

    def run(self, chunks: Sequence[Chunk]) -> Iterator[tuple[Chunk, list[Row]]]:
        futures = {self.pool.submit(_run_chunk, chunk): chunk for chunk in chunks}
        try:
            for future in cf.as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self._folder.cleanup()


def _import_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "executor: 'ray' needs Ray; install it with pip install 'levtrade[ray]'"
        ) from None
    return ray


def check_ray_address(address: str | None) -> None:
    """Refuse, before any work, a Ray address nothing answers at (``host:port``; ``auto``,
    ``local`` and ``ray://`` addresses are Ray's to resolve)."""
    if address is None or address in ("auto", "local"):
        return
    target = address.removeprefix("ray://")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"ray-address: expected HOST:PORT, got {address!r}")
    try:
        with socket.create_connection((host, int(port)), timeout=3.0):
            pass
    except OSError as exc:
        raise ConfigError(f"ray-address: nothing answers at {address} ({exc})") from None


_RAY_WORKERS: dict[str, Evaluator] = {}
"""Evaluators of a Ray worker process, by sweep (the process serves many tasks)."""


def _ray_chunk(key: str, refs: list[Any], chunk: Chunk) -> list[Row]:
    evaluator = _RAY_WORKERS.get(key)
    if evaluator is None:
        import ray

        task, data = ray.get(refs)
        evaluator = Evaluator(task, data)
        _RAY_WORKERS.clear()
        _RAY_WORKERS[key] = evaluator
    return evaluator.chunk(chunk)


class RayExecutor:
    """Chunks as Ray tasks: the data and the task put in the object store once; a strategy
    from outside the installed packages travels by value."""

    def __init__(
        self, task: Task, data: MarketData | Portfolio, workers: int, address: str | None
    ) -> None:
        ray = _import_ray()
        check_ray_address(address)
        self.ray = ray
        self._started = not ray.is_initialized()
        if self._started:
            if address is None:
                ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
            else:
                ray.init(address=address, log_to_driver=False)
        module = task.strategy_class.__module__
        if not module.startswith("levtrade."):
            from ray import cloudpickle

            cloudpickle.register_pickle_by_value(sys.modules[module])  # type: ignore[no-untyped-call]
        self.workers = workers
        self.key = f"{os.getpid()}-{id(self)}"
        self.refs = [ray.put(task), ray.put(data)]
        self.remote = ray.remote(num_cpus=1)(_ray_chunk)

    def run(self, chunks: Sequence[Chunk]) -> Iterator[tuple[Chunk, list[Row]]]:
        pending = {self.remote.remote(self.key, self.refs, chunk): chunk for chunk in chunks}
        try:
            while pending:
                done, _ = self.ray.wait(list(pending), num_returns=1)
                for ref in done:
                    yield pending.pop(ref), self.ray.get(ref)
        finally:
            for ref in pending:
                self.ray.cancel(ref)

    def close(self) -> None:
        if self._started:
            self.ray.shutdown()


def make_executor(
    name: str,
    task: Task,
    data: MarketData | Portfolio,
    *,
    workers: int,
    ray_address: str | None = None,
) -> Executor:
    """The executor ``name`` (``local`` with one worker runs in this process)."""
    if name == "serial" or (name == "local" and workers == 1):
        return SerialExecutor(task, data)
    if name == "local":
        return LocalExecutor(task, data, workers)
    if name == "ray":
        return RayExecutor(task, data, workers, ray_address)
    raise ConfigError(f"executor: one of {', '.join(EXECUTORS)}, got {name!r}")


def check_executor(name: str, workers: int, ray_address: str | None) -> None:
    """Refuse a bad executor choice before any work: an unknown name, a worker count below
    1, Ray missing, a Ray address nothing answers at."""
    if name not in EXECUTORS:
        raise ConfigError(f"executor: one of {', '.join(EXECUTORS)}, got {name!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers: a number of processes ≥ 1, got {workers!r}")
    if ray_address is not None and name != "ray":
        raise ConfigError(f"ray-address: only with the ray executor, got executor {name!r}")
    if name == "ray":
        _import_ray()
        check_ray_address(ray_address)
