"""Every ``levtrade`` command the README and docs/ show, and ``levtrade --help`` itself.

A command whose files exist (the scenarios in examples/) and that writes nothing runs in full
and must succeed; every other one (it downloads, writes files or names files of the reader's
own) is parsed with ``--help`` added: Click refuses an unknown option while parsing, before it
answers ``--help``, so each option a doc names must exist. Syntax summaries (``[--config
FILE]``) have every option they name checked against the command's own options."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from levtrade.cli import app
from levtrade.cli.logs import hoist

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
runner = CliRunner()
RUN_IN_FULL = ("margin",)
"""Commands a doc line may run in full (they read files and print)."""
UNPUBLISHED = ("DESIGN.md", "MARGIN_SPEC", "§")


def doc_commands() -> list[tuple[str, str]]:
    """(doc, command line) of every ``levtrade`` line in the docs' code blocks."""
    found: list[tuple[str, str]] = []
    for doc in DOCS:
        in_block = False
        pending = ""
        for line in doc.read_text("utf-8").splitlines():
            if line.lstrip().startswith("```"):
                in_block = not in_block
                continue
            if not in_block:
                continue
            text = pending + line.strip()
            if text.endswith("\\"):
                pending = text[:-1] + " "
                continue
            pending = ""
            text = re.sub(r"^(\$ )?(\.venv/bin/)?", "", text)
            if text.startswith("levtrade "):
                found.append((doc.name, text))
    return found


COMMANDS = doc_commands()


def _command(args: list[str]) -> Any:
    """The (Click) command ``args`` names."""
    command: Any = typer.main.get_command(app)
    for word in args:
        commands = getattr(command, "commands", None)
        if commands is None:
            break
        command = commands[word] if word in commands else commands["calc"]  # margin's default
    return command


def _options(command: Any) -> set[str]:
    return {name for param in command.params for name in param.opts + param.secondary_opts}


def test_the_docs_show_commands() -> None:
    docs = {doc for doc, _ in COMMANDS}
    assert {"README.md", "quickstart.md", "margin.md", "risk.md", "data.md"} <= docs
    assert any(line == "levtrade backtest" for _, line in COMMANDS)


@pytest.mark.parametrize(("doc", "line"), COMMANDS, ids=[f"{d}:{c[:60]}" for d, c in COMMANDS])
def test_every_documented_command(doc: str, line: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    text = re.sub(r"\s+#.*$", "", line)
    if "[" in text or "|" in text or "..." in text:
        # a syntax summary: each option it names is one of the command's
        words = text.split()[1:]
        command = _command([w for w in words if re.fullmatch(r"[a-z]+", w)])
        known = _options(command) | _options(typer.main.get_command(app))
        named = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", text))
        named = {"-v" if re.fullmatch(r"-v+", n) else n for n in named}  # -vv: -v twice
        assert named <= known, (doc, line, sorted(named - known))
        return
    stdin = None
    if " < " in text:
        text, source = text.split(" < ", 1)
        stdin = (ROOT / source.strip()).read_text("utf-8")
    args = hoist(shlex.split(text)[1:])
    files = [a for a in args if re.search(r"\.(json|toml|parquet|csv|feather)$", a)]
    full = bool(args) and args[0] in RUN_IN_FULL and all((ROOT / f).is_file() for f in files)
    full = full and "--data" not in args
    result = runner.invoke(app, args if full else [*args, "--help"], input=stdin)
    assert result.exit_code == 0, (doc, line, result.output)


def test_help_of_every_command_is_self_contained() -> None:
    root: Any = typer.main.get_command(app)
    help_text = runner.invoke(app, ["--help"]).stdout
    for name in ("backtest", "lookahead", "report", "init", "margin", "data"):
        assert name in help_text, name
    for option in ("--version", "--verbose", "--logfile"):
        assert option in help_text, option
    pages = {"levtrade": help_text}
    for name, command in root.commands.items():
        pages[name] = runner.invoke(app, [name, "--help"]).stdout
        for sub in getattr(command, "commands", {}):
            pages[f"{name} {sub}"] = runner.invoke(app, [name, sub, "--help"]).stdout
    for page, text in pages.items():
        assert text.strip(), page
        for word in UNPUBLISHED:
            assert word not in text, (page, word)


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_docs_cite_nothing_the_reader_does_not_have(doc: Path) -> None:
    text = doc.read_text("utf-8")
    for word in UNPUBLISHED:
        assert word not in text, (doc.name, word)
