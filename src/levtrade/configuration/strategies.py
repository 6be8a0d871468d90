"""Loading the user's strategy: from a file (``path.py:ClassName``), a module, or a bare class
name; and turning an exception the strategy raises into a one-line :class:`StrategyFailure`
carrying the strategy's part of the traceback."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import re
import sys
import sysconfig
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from levtrade._validation import file_problem
from levtrade.configuration.freqtrade import suggest
from levtrade.errors import ConfigError, LevtradeError
from levtrade.freqtrade import freqtrade_imports
from levtrade.strategy.base import Strategy
from levtrade.strategy.signal_strategy import SignalStrategy


class StrategyFailure(LevtradeError):
    """The user's strategy raised: ``message`` is one line, ``details`` the strategy's part of
    the traceback (empty when none of it is the strategy's code)."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.details = details


@dataclass(frozen=True)
class LoadedStrategy:
    """A strategy class from a file or module; ``style`` is ``signal`` or ``event``."""

    cls: type[Any]
    name: str
    source: str
    files: tuple[str, ...]
    """Files whose frames belong to the strategy in a traceback."""

    @property
    def style(self) -> Literal["signal", "event"]:
        return "event" if issubclass(self.cls, Strategy) else "signal"


def _library_dirs() -> tuple[str, ...]:
    dirs = {str(Path(__file__).resolve().parents[1])}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        value = sysconfig.get_paths().get(key)
        if value:
            dirs.add(str(Path(value).resolve()))
    return tuple(sorted(dirs))


def _is_user_frame(filename: str, files: Sequence[str]) -> bool:
    if filename in files:
        return True
    if filename.startswith("<"):
        return False
    path = Path(filename)
    resolved = str(path.resolve())
    if resolved in files:
        return True
    if not path.is_file():  # a compiled extension's source (pandas/_libs/lib.pyx): a library's
        return False
    return not any(resolved.startswith(d + "/") or resolved == d for d in _library_dirs())


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def strategy_failure(exc: BaseException, strategy: LoadedStrategy) -> StrategyFailure | None:
    """A :class:`StrategyFailure` when any frame of ``exc`` (or its causes) is the strategy's
    code, else None (the error is levtrade's or the data's)."""
    for link in _chain(exc):
        frames = [
            f
            for f in traceback.extract_tb(link.__traceback__)
            if _is_user_frame(f.filename, strategy.files)
        ]
        if not frames:
            continue
        summary = traceback.StackSummary.from_list(frames)
        details = "Traceback (strategy code only):\n" + "".join(summary.format())
        details += "".join(traceback.format_exception_only(type(link), link))
        what = _one_line(f"{type(link).__name__}: {link}")
        return StrategyFailure(f"strategy {strategy.name} raised {what}", details.rstrip())
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _strategy_classes(module: ModuleType) -> list[type[Any]]:
    found = []
    for value in vars(module).values():
        if (
            isinstance(value, type)
            and value.__module__ == module.__name__
            and issubclass(value, Strategy | SignalStrategy)
            and value not in (Strategy, SignalStrategy)
        ):
            found.append(value)
    return found


def _defines_class(path: Path, name: str) -> bool:
    try:
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return False
    return any(isinstance(node, ast.ClassDef) and node.name == name for node in tree.body)


@contextmanager
def _on_sys_path(folder: Path) -> Iterator[None]:
    entry = str(folder)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def _import_file(path: Path, display: str) -> ModuleType:
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    name = f"levtrade_user_{re.sub(r'[^0-9A-Za-z_]', '_', path.stem)}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"strategy: cannot import {display}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    probe = LoadedStrategy(object, path.name, display, (str(path),))
    try:
        with _on_sys_path(path.parent), freqtrade_imports():
            spec.loader.exec_module(module)
    except SystemExit as exc:
        del sys.modules[name]
        raise StrategyFailure(
            f"strategy file {display} called sys.exit({exc.code!r}) on import; a strategy "
            "file defines its strategy and returns"
        ) from None
    except SyntaxError as exc:
        del sys.modules[name]
        where = f"{exc.filename}, line {exc.lineno}"
        raise StrategyFailure(
            f"strategy file {display} does not compile: {exc.msg} ({where})",
            "".join(traceback.format_exception_only(type(exc), exc)).rstrip(),
        ) from None
    except Exception as exc:
        del sys.modules[name]
        failure = strategy_failure(exc, probe)
        if failure is not None:
            raise StrategyFailure(
                f"strategy file {display} raised on import: "
                + _one_line(f"{type(exc).__name__}: {exc}"),
                failure.details,
            ) from None
        raise
    return module


def load_strategy(
    spec: str, *, base_dir: Path | None = None, search: Sequence[Path] | Path | None = None
) -> LoadedStrategy:
    """The strategy named by ``spec``: ``path.py:ClassName``, ``path.py`` (its one strategy
    class), ``package.module:ClassName``, or a bare ``ClassName`` looked up in the ``.py``
    files of the ``search`` folders, in order (FreqTrade's ``--strategy-path``, then
    ``user_data/strategies``). A file's ``freqtrade`` imports resolve to levtrade's
    FreqTrade layer (:mod:`levtrade.freqtrade`)."""
    base = base_dir or Path.cwd()
    folders = [search] if isinstance(search, Path) else list(search or [])
    text = spec.strip()
    if not text:
        raise ConfigError("strategy: empty name")
    file_part, _, class_name = text.rpartition(":") if ":" in text else (text, "", "")
    if file_part and not file_part.endswith(".py") and "/" not in file_part and class_name:
        # a module path (package.module:Class)
        try:
            with freqtrade_imports():
                module = importlib.import_module(file_part)
        except ImportError as exc:
            raise ConfigError(f"strategy: cannot import module {file_part!r}: {exc}") from None
        path = Path(module.__file__ or file_part)
        return _pick_class(module, class_name, text, (str(path.resolve()),))
    if not file_part.endswith(".py"):
        existing = [f if f.is_absolute() else base / f for f in folders]
        existing = [f for f in existing if f.is_dir()]
        if not existing:
            where = ", ".join(str(f) for f in folders) or "none given"
            raise ConfigError(
                f"strategy: class {text!r} needs a folder to look in (--strategy-path, "
                f"strategy_path or user_data/strategies); not found: {where}"
            )
        candidates = [
            p for folder in existing for p in sorted(folder.glob("*.py")) if _defines_class(p, text)
        ]
        if not candidates:
            raise ConfigError(
                f"strategy: no class {text!r} in the .py files of "
                + ", ".join(str(f) for f in existing)
            )
        path, class_name = candidates[0], text
    else:
        path = Path(file_part).expanduser()
        if not path.is_absolute():
            path = base / path
    problem = file_problem(path)
    if problem is not None:
        raise ConfigError(f"strategy: {problem}")
    resolved = path.resolve()
    module = _import_file(resolved, file_part or str(path))
    return _pick_class(module, class_name or None, text, (str(resolved),))


def _pick_class(
    module: ModuleType, class_name: str | None, spec: str, files: tuple[str, ...]
) -> LoadedStrategy:
    classes = _strategy_classes(module)
    where = module.__file__ or spec
    if class_name is None:
        if len(classes) != 1:
            names = ", ".join(c.__name__ for c in classes) or "none"
            raise ConfigError(
                f"strategy: {where} defines {len(classes)} strategy classes ({names}); "
                f"name one as path.py:ClassName"
            )
        cls = classes[0]
    else:
        value = getattr(module, class_name, None)
        if value is None:
            found = [c.__name__ for c in classes]
            raise ConfigError(
                f"strategy: no class {class_name!r} in {where}"
                f"{suggest(class_name, found)}"
                + (f"; strategies there: {', '.join(found)}" if found else "")
            )
        if not (isinstance(value, type) and issubclass(value, Strategy | SignalStrategy)):
            raise ConfigError(
                f"strategy: {class_name} in {where} is not a levtrade Strategy or "
                "SignalStrategy subclass"
            )
        cls = value
    return LoadedStrategy(cls, cls.__name__, spec, files)
