"""Several files of one directory replaced as one unit, surviving a kill at any instant.

A store keeps a symbol's candles, marks, index and funding in one directory; a save writes
several of them, and a reader must never see some from one save and some from another. Each
save has a token. Its files are written under temporary names (``.<name>.<token>.tmp``) with
the token inside them, then a journal (``.commit-<token>.json``) naming them is put in place:
that rename is the commit. The files are then renamed into place, the manifest
(``manifest.json``: each file's token) is updated and the journal removed.

Whoever opens the directory next — a save, a load, a listing — first finishes a committed save
whose journal is still there (a process killed after the commit) and removes temporary files
(a process killed before it): the directory then holds the complete old set or the complete
new one. A reader compares each file's token with the manifest and refuses a mix (files copied
in from elsewhere). Writers and readers of one directory take its lock (``.lock``, POSIX
``flock``), so a cleanup never removes the files of a save in progress.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from levtrade.data.errors import DataValidationError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking, recovery still applies
    fcntl = None  # type: ignore[assignment]

MANIFEST = "manifest.json"
"""Each file's save token, for readers to check a dataset is one save's."""

LOCK = ".lock"
_JOURNAL_PREFIX = ".commit-"


def new_token() -> str:
    """A save's token: unique enough to tell two saves apart."""
    return secrets.token_hex(8)


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The permissions a new file gets under the process's umask (0666 & ~umask)."""
    return 0o666 & ~current_umask()


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock (exclusive) for the duration; ``folder`` is created."""
    folder.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield
        return
    handle = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, file_mode())
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def needs_recovery(folder: Path) -> bool:
    """Whether ``folder`` holds a journal or temporary files an interrupted save left."""
    try:
        return any(
            n.startswith(_JOURNAL_PREFIX) or (n.startswith(".") and n.endswith(".tmp"))
            for n in os.listdir(folder)
        )
    except OSError:
        return False


def recover(folder: Path) -> None:
    """Finish each committed save (journal present), then remove temporary files. The caller
    holds the lock."""
    for journal in sorted(folder.glob(f"{_JOURNAL_PREFIX}*.json")):
        try:
            entry = json.loads(journal.read_text("utf-8"))
            files = {str(k): str(v) for k, v in entry["files"].items()}
            token = str(entry["token"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            raise DataValidationError(
                f"store: unreadable save journal {journal.name}; remove it by hand once the "
                "directory's files are checked",
                file=str(journal),
            ) from None
        _apply(folder, token, files)
        journal.unlink()
    for leftover in folder.iterdir():
        if leftover.name.startswith(".") and leftover.name.endswith(".tmp"):
            leftover.unlink(missing_ok=True)
    _sync(folder)


def commit(folder: Path, writers: Mapping[str, Callable[[Path], None]], token: str) -> list[Path]:
    """Write ``writers`` (file name → function writing that file at the path it is given, with
    ``token`` inside) into ``folder`` as one unit. The caller holds the lock."""
    staged: dict[str, str] = {}
    try:
        for name, write in writers.items():
            temporary = folder / f".{name}.{token}.tmp"
            write(temporary)
            _fsync(temporary)
            os.chmod(temporary, file_mode())
            staged[name] = temporary.name
        journal = folder / f"{_JOURNAL_PREFIX}{token}.json"
        pending = folder / f"{journal.name}.tmp"
        pending.write_text(json.dumps({"token": token, "files": staged}), encoding="utf-8")
        _fsync(pending)
        _sync(folder)
    except BaseException:
        for name in staged.values():
            (folder / name).unlink(missing_ok=True)
        for name in writers:
            (folder / f".{name}.{token}.tmp").unlink(missing_ok=True)
        raise
    os.replace(pending, journal)  # the commit
    _sync(folder)
    _apply(folder, token, staged)
    journal.unlink()
    _sync(folder)
    return [folder / name for name in staged]


def manifest(folder: Path) -> dict[str, str]:
    """The token of each file of ``folder`` (empty for a directory written before
    manifests, whose files are then not checked)."""
    path = folder / MANIFEST
    try:
        document = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise DataValidationError(f"store: unreadable manifest: {exc}", file=str(path)) from None
    files = document.get("files") if isinstance(document, dict) else None
    if not isinstance(files, dict):
        raise DataValidationError("store: the manifest lists no files", file=str(path))
    return {str(k): str(v) for k, v in files.items()}


def _apply(folder: Path, token: str, staged: Mapping[str, str]) -> None:
    """Rename the staged files into place and record their token in the manifest
    (idempotent: a file already renamed is skipped)."""
    for name, temporary in staged.items():
        source = folder / temporary
        if source.exists():
            os.replace(source, folder / name)
    listed = {**manifest(folder), **dict.fromkeys(staged, token)}
    target = folder / MANIFEST
    pending = folder / f".{MANIFEST}.{token}.tmp"
    pending.write_text(json.dumps({"files": listed}, indent=1, sort_keys=True), encoding="utf-8")
    _fsync(pending)
    os.chmod(pending, file_mode())
    os.replace(pending, target)


def _fsync(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def _sync(folder: Path) -> None:
    """Make renames in ``folder`` durable (a no-op where directories cannot be opened)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover
        return
    try:
        os.fsync(handle)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(handle)
