"""Logging of the command line: warnings on stderr by default, ``-v`` info, ``-vv`` debug,
``--logfile FILE`` everything with times; and the options every command accepts after its
name (:func:`hoist`)."""

from __future__ import annotations

import logging
from pathlib import Path

from rich.console import Console
from rich.logging import RichHandler

from levtrade.cli.failure import fail

GLOBAL_FLAGS = ("--version", "--verbose")
"""Options of ``levtrade`` itself that take no value (``-v``, ``-vv`` too)."""
GLOBAL_OPTIONS = ("--logfile",)
"""Options of ``levtrade`` itself that take a value."""


def hoist(args: list[str]) -> list[str]:
    """``args`` with the options of ``levtrade`` itself moved before the command, so that
    ``levtrade backtest -v --logfile run.log`` means ``levtrade -v --logfile run.log
    backtest`` (nothing after ``--`` moves)."""
    front: list[str] = []
    rest: list[str] = []
    k = 0
    while k < len(args):
        arg = args[k]
        if arg == "--":
            rest.extend(args[k:])
            break
        if arg in GLOBAL_FLAGS or (arg.startswith("-v") and set(arg[1:]) == {"v"}):
            front.append(arg)
        elif arg in GLOBAL_OPTIONS and k + 1 < len(args):
            front.extend(args[k : k + 2])
            k += 1
        elif any(arg.startswith(f"{name}=") for name in GLOBAL_OPTIONS):
            front.append(arg)
        else:
            rest.append(arg)
        k += 1
    return front + rest


def configure_logging(verbose: int, logfile: Path | None) -> None:
    """Send levtrade's log to stderr (warnings; with ``verbose`` 1 info, 2 debug) and, with
    ``logfile``, everything to that file with times."""
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    handlers: list[logging.Handler] = [
        RichHandler(
            console=Console(stderr=True),
            show_time=False,
            show_path=verbose >= 2,
            markup=False,
            level=level,
        )
    ]
    if logfile is not None:
        try:
            handler = logging.FileHandler(logfile.expanduser(), encoding="utf-8")
        except OSError as exc:
            fail(f"logfile: cannot write {logfile}: {exc.strerror or exc}")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.setLevel(logging.DEBUG)
        handlers.append(handler)
    logger = logging.getLogger("levtrade")
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()
    for each in handlers:
        logger.addHandler(each)
    logger.setLevel(logging.DEBUG if logfile is not None else level)
    logger.propagate = False
