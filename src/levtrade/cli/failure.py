"""The command line's one exit-code policy: 0 done; 1 the input was refused or the work
failed, with one line on stderr naming the field and the value (``error: ...``), followed by
details where there are some (a strategy's traceback); 2 the command line itself is wrong
(an unknown option or a missing argument: Click's own answer, before any work)."""

from __future__ import annotations

from typing import NoReturn

import typer

EXIT_REFUSED = 1
"""Exit code of a refused input or failed work (see the module docstring)."""


def fail(message: str | BaseException, details: str = "") -> NoReturn:
    """Print ``error: <message>`` on one line (and ``details`` below it) and exit with 1."""
    typer.echo(f"error: {' '.join(str(message).split())}", err=True)
    if details:
        typer.echo(details, err=True)
    raise typer.Exit(EXIT_REFUSED)
