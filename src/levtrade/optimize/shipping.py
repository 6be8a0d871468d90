"""Sending a sweep's market data and strategy to its workers once.

Local workers read the data from Arrow IPC files memory-mapped read-only (:func:`write_data`,
:func:`read_data`): every worker maps the same pages, nothing is copied or pickled per task.
A strategy class from a file that is no importable module (``levtrade backtest --strategy
path.py:Class``) travels as that file (:class:`ModuleSource`), loaded under its own module
name before anything that refers to it is unpickled.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from levtrade._json import to_json_value
from levtrade.data import MarketData, Portfolio
from levtrade.data.market import OHLC
from levtrade.data.series import FundingEvents

_BARS = ("timestamps", "open", "high", "low", "close", "volume")
_PRICES = ("open", "high", "low", "close")


def write_data(data: MarketData | Portfolio, folder: Path) -> None:
    """Write ``data`` into ``folder`` as Arrow IPC files (one per member's bars and funding)
    and a manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    members = (data,) if isinstance(data, MarketData) else data.markets
    manifest: dict[str, Any] = {
        "kind": "market" if isinstance(data, MarketData) else "portfolio",
        "axis": None if isinstance(data, MarketData) else data.axis,
        "members": [],
    }
    for k, member in enumerate(members):
        columns: dict[str, np.ndarray[Any, Any]] = {n: getattr(member, n) for n in _BARS}
        for label in ("mark", "index"):
            ohlc = getattr(member, label)
            if ohlc is not None:
                columns.update(ohlc.as_dict(f"{label}_"))
        _write_table(folder / f"bars-{k}.arrow", columns)
        _write_table(
            folder / f"funding-{k}.arrow",
            {"timestamps": member.funding.timestamps, "rates": member.funding.rates},
        )
        manifest["members"].append(
            {
                "symbol": member.symbol,
                "timeframe_ms": member.timeframe_ms,
                "mark": member.mark is not None,
                "index": member.index is not None,
                "funding_source": member.funding.source,
                "max_snap_ms": member.funding.max_snap_ms,
                "metadata": to_json_value(member.metadata),
            }
        )
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")


def _write_table(path: Path, columns: dict[str, np.ndarray[Any, Any]]) -> None:
    table = pa.table({name: pa.array(values) for name, values in columns.items()})
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _read_table(path: Path) -> dict[str, np.ndarray[Any, Any]]:
    """The columns of an Arrow IPC file as read-only arrays over its memory map."""
    table = pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
    out: dict[str, np.ndarray[Any, Any]] = {}
    for name in table.column_names:
        column = table.column(name)
        if column.num_chunks == 1:
            out[name] = column.chunk(0).to_numpy(zero_copy_only=True)
        else:
            out[name] = column.to_numpy()
    return out


def read_data(folder: Path) -> MarketData | Portfolio:
    """The data :func:`write_data` wrote, its arrays mapped from the files."""
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    members = []
    for k, spec in enumerate(manifest["members"]):
        bars = _read_table(folder / f"bars-{k}.arrow")
        funding = _read_table(folder / f"funding-{k}.arrow")
        others = {
            label: OHLC(*(bars[f"{label}_{p}"] for p in _PRICES)) if spec[label] else None
            for label in ("mark", "index")
        }
        members.append(
            MarketData(
                symbol=spec["symbol"],
                timeframe_ms=int(spec["timeframe_ms"]),
                # the compiled kernel takes the time axis as a writable array
                timestamps=bars["timestamps"].copy(),
                open=bars["open"],
                high=bars["high"],
                low=bars["low"],
                close=bars["close"],
                volume=bars["volume"],
                mark=others["mark"],
                index=others["index"],
                funding=FundingEvents(
                    funding["timestamps"],
                    funding["rates"],
                    spec["funding_source"],
                    int(spec["max_snap_ms"]),
                ),
                metadata=dict(spec["metadata"]),
            )
        )
    if manifest["kind"] == "market":
        return members[0]
    return Portfolio.from_markets(members, axis=manifest["axis"])


@dataclass(frozen=True)
class ModuleSource:
    """Where a strategy's module comes from: its name, and its file when the name alone does
    not import it (a strategy loaded from a path)."""

    name: str
    file: str | None

    @classmethod
    def of(cls, strategy: type[Any]) -> ModuleSource:
        name = strategy.__module__
        module = sys.modules.get(name)
        # found on the path (not merely registered in sys.modules, as a loaded file is)
        importable = importlib.machinery.PathFinder.find_spec(name.partition(".")[0]) is not None
        file = getattr(module, "__file__", None)
        return cls(name, None if importable or file is None else str(file))

    def ensure(self) -> None:
        """Make the module importable in this process (load its file under its name)."""
        if self.name in sys.modules:
            return
        if self.file is None:
            importlib.import_module(self.name)
            return
        spec = importlib.util.spec_from_file_location(self.name, self.file)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[self.name] = module
        parent = str(Path(self.file).parent)
        sys.path.insert(0, parent)
        try:
            spec.loader.exec_module(module)
        finally:
            sys.path.remove(parent)
