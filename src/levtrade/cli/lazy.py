"""Commands whose modules load when they run, so a command pays only for its own imports.

``levtrade --help`` lists every command from its summary (:class:`LazyCommand`) without
importing the command's module: the backtest command's imports pandas and the backtester,
``trade``'s ccxt and the live layer, and ``levtrade init`` or ``levtrade margin`` would wait
for them all. A command is built, exactly as Typer builds a registered one, when it is run,
asked for its own help, or looked up in :attr:`LazyGroup.commands`.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class LazyCommand:
    """A command of a :class:`LazyGroup`, named by where it is defined."""

    name: str
    target: str
    """``module:attribute``: a Typer application (mounted as a group) or a command function."""
    summary: str
    """The first paragraph of the command's help: the line its group's help lists."""
    cls: str | None = None
    """``module:attribute`` of the command class of a function command (Typer's ``cls``)."""

    def load(self, group: TyperGroup) -> Any:
        """The Click command, built by Typer with ``group``'s settings."""
        target = _resolve(self.target)
        holder = typer.Typer(
            rich_markup_mode=group.rich_markup_mode, suggest_commands=group.suggest_commands
        )
        if isinstance(target, typer.Typer):
            holder.add_typer(target, name=self.name)
        else:
            holder.command(self.name, cls=None if self.cls is None else _resolve(self.cls))(target)
        return typer.main.get_group(holder).commands[self.name]

    def listing(self) -> TyperCommand:
        """A stand-in that carries the name and summary for the group's help, never run."""
        return TyperCommand(name=self.name, help=self.summary)


def _resolve(path: str) -> Any:
    module, _, attribute = path.partition(":")
    return getattr(import_module(module), attribute)


class _Commands(MutableMapping[str, Any]):
    """A group's commands by name, in order: the lazy ones are built on first access."""

    def __init__(self, group: TyperGroup, eager: MutableMapping[str, Any]) -> None:
        self._group = group
        self._lazy = {entry.name: entry for entry in getattr(group, "lazy", ())}
        self._loaded: dict[str, Any] = dict(eager)
        self._order = list(dict.fromkeys([*eager, *self._lazy]))

    def __getitem__(self, name: str) -> Any:
        if name not in self._loaded:
            self._loaded[name] = self._lazy[name].load(self._group)
        return self._loaded[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._loaded[name] = command
        if name not in self._order:
            self._order.append(name)

    def __delitem__(self, name: str) -> None:
        if name not in self._order:
            raise KeyError(name)
        self._order.remove(name)
        self._loaded.pop(name, None)
        self._lazy.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._order  # without building the command

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._order))

    def __len__(self) -> int:
        return len(self._order)

    def listed(self, name: str) -> Any:
        """The command if it is built, else its stand-in (None for an unknown name)."""
        if name in self._loaded:
            return self._loaded[name]
        entry = self._lazy.get(name)
        return None if entry is None else entry.listing()


class LazyGroup(TyperGroup):
    """A Typer group whose :attr:`lazy` commands are imported when they run.

    Listing (help, completion) reads the summaries; resolving a command to run it builds it.
    """

    lazy: ClassVar[tuple[LazyCommand, ...]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._by_name = _Commands(self, self.commands)
        self.commands = self._by_name

    def list_commands(self, ctx: Any) -> list[str]:  # Typer's vendored click context
        return list(self._by_name)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        return self._by_name.listed(cmd_name)

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        name, _stand_in, rest = super().resolve_command(ctx, args)
        return name, (None if name is None else self._by_name[name]), rest
