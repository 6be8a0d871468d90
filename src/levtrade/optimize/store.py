"""The sweep's table on disk: one Parquet part per finished chunk in ``<out>.parts/``, each
written atomically (a temporary file renamed into place), so a sweep killed at any moment
leaves only whole parts; ``resume`` keeps the parts of the same sweep and computes only the
missing chunks. The finished table is written to ``out`` (atomically too, the sweep's
description in its metadata) and the parts are removed.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from levtrade.errors import ConfigError
from levtrade.optimize.evaluate import Row

METADATA_KEY = b"levtrade.sweep"
"""Where the table's Parquet metadata holds the sweep's description (JSON)."""


def parts_folder(out: Path) -> Path:
    return out.with_name(out.name + ".parts")


class PartStore:
    """The parts of one sweep (identified by ``fingerprint``) beside ``out``."""

    def __init__(self, out: Path, fingerprint: str, *, resume: bool) -> None:
        self.out = out
        self.folder = parts_folder(out)
        self.fingerprint = fingerprint
        manifest = self.folder / "manifest.json"
        if self.folder.exists():
            if not resume:
                raise ConfigError(
                    f"out: {self.folder} holds the parts of an unfinished sweep; pass --resume "
                    "to finish it, or remove the folder"
                )
            found = (
                json.loads(manifest.read_text("utf-8")).get("fingerprint")
                if manifest.is_file()
                else None
            )
            if found != fingerprint:
                raise ConfigError(
                    f"resume: {self.folder} holds the parts of a different sweep (another space, "
                    "search, settings or data); remove it to start this one"
                )
        elif not out.parent.is_dir():
            raise ConfigError(f"out: directory not found: {out.parent}")
        self.resume = resume

    def open(self) -> None:
        """Create the parts folder (nothing is written before the work starts)."""
        self.folder.mkdir(exist_ok=True)
        manifest = self.folder / "manifest.json"
        if not manifest.is_file():
            _atomic(
                manifest,
                lambda tmp: tmp.write_text(json.dumps({"fingerprint": self.fingerprint}), "utf-8"),
            )

    def path(self, chunk: int) -> Path:
        return self.folder / f"chunk-{chunk:06d}.parquet"

    def done(self) -> set[int]:
        """The chunks with a part on disk."""
        if not self.folder.is_dir():
            return set()
        return {int(p.stem.split("-")[1]) for p in self.folder.glob("chunk-*.parquet")}

    def write(self, chunk: int, rows: Sequence[Row]) -> None:
        frame = pd.DataFrame(list(rows))
        _atomic(self.path(chunk), lambda tmp: frame.to_parquet(tmp, index=False))

    def read(self, chunk: int) -> list[Row]:
        frame = pd.read_parquet(self.path(chunk))
        return [{str(k): v for k, v in r.items()} for r in frame.to_dict("records")]

    def finish(self, table: pd.DataFrame, info: Mapping[str, Any]) -> None:
        """Write the whole table to ``out`` and remove the parts."""
        write_table(table, info, self.out)
        shutil.rmtree(self.folder, ignore_errors=True)


def write_table(table: pd.DataFrame, info: Mapping[str, Any], out: Path) -> None:
    """``table`` as Parquet at ``out`` (atomically), ``info`` in its metadata."""
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    metadata = dict(arrow.schema.metadata or {})
    metadata[METADATA_KEY] = json.dumps(info, default=str).encode()
    arrow = arrow.replace_schema_metadata(metadata)
    _atomic(out, lambda tmp: pq.write_table(arrow, tmp))


def read_table(path: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A sweep table and its description."""
    if not path.is_file():
        raise ConfigError(f"sweep: file not found: {path}")
    try:
        arrow = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ConfigError(f"sweep: {path} is not a Parquet table ({exc})") from None
    raw = (arrow.schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise ConfigError(f"sweep: {path} is not a levtrade sweep table (no sweep metadata)")
    return arrow.to_pandas(), json.loads(raw)


def _atomic(path: Path, write: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
