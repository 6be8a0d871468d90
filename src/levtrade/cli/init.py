"""``levtrade init DIR``: write a starter ``config.toml`` and ``strategy.py`` into DIR.

The config runs as written (the synthetic demo data), with the lines to switch to your own
FreqTrade data directory or per-symbol files commented in it. Existing files are left alone
unless ``--force``; nothing is written when any target is in the way.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from levtrade.cli.failure import fail
from levtrade.report.atomic import write_text_atomic

STARTER_FILES = ("config.toml", "strategy.py")

DirArgument = Annotated[
    Path, typer.Argument(help="Directory for the starter files (created if missing).")
]
ForceFlag = Annotated[bool, typer.Option("--force", help="Overwrite existing starter files.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print the written files as JSON.")]


def starter_text(name: str) -> str:
    """The packaged starter file ``name``."""
    return resources.files("levtrade.templates").joinpath(name).read_text("utf-8")


def init(directory: DirArgument, force: ForceFlag = False, as_json: JsonFlag = False) -> None:
    """Write a starter config and strategy; then run levtrade backtest --config DIR/config.toml."""
    folder = directory.expanduser()
    if folder.exists() and not folder.is_dir():
        fail(f"{folder} exists and is not a directory")
    targets = [folder / name for name in STARTER_FILES]
    in_the_way = [t for t in targets if t.exists() and (t.is_dir() or not force)]
    if in_the_way:
        names = ", ".join(str(t) for t in in_the_way)
        hint = "" if any(t.is_dir() for t in in_the_way) else " (use --force to overwrite)"
        fail(f"{names} already exists{hint}")
    try:
        texts = {t: starter_text(t.name) for t in targets}
        folder.mkdir(parents=True, exist_ok=True)
        for target, text in texts.items():
            write_text_atomic(target, text)
    except OSError as exc:
        fail(f"cannot write to {folder}: {exc.strerror or exc}")
    if as_json:
        typer.echo(json.dumps({"files": [str(t) for t in targets]}))
        return
    typer.echo(f"Wrote {targets[0]} and {targets[1]}.")
    typer.echo(f"Run it:  levtrade backtest --config {targets[0]}")
    typer.echo("Then point it at your data (datadir) and edit the strategy: docs/quickstart.md.")
