"""Text files written whole or not at all: through a temporary file beside the target, named
with the writing process's id, renamed into place.

Its own module, light to import: ``levtrade init`` writes its starter files with it, and the
HTML reports and the results directory (:mod:`levtrade.report.files`) use it too.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from levtrade.data.commit import file_mode


def temporary_prefix(target: Path) -> str:
    """The name prefix of ``target``'s temporary files: ``.<name>.<pid>.`` (the next run
    removes those whose process is gone: :func:`levtrade.report.files.remove_stale_temporaries`)."""
    return f".{target.name}.{os.getpid()}."


def stage_text(target: Path, text: str) -> Path:
    """``text`` in a temporary file beside ``target``, with the permissions a new file gets;
    rename it into place (``os.replace``) or delete it."""
    parent = target.parent if str(target.parent) else Path(".")
    handle, name = tempfile.mkstemp(prefix=temporary_prefix(target), suffix=".tmp", dir=parent)
    temp = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        temp.chmod(file_mode())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def write_text_atomic(path: Path, text: str) -> None:
    """Write through a temporary file in the same directory, renamed into place."""
    temp = stage_text(path, text)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
