"""``freqtrade.*`` imports served by levtrade's layer, only while levtrade imports a strategy.

:func:`freqtrade_imports` puts a finder first on ``sys.meta_path`` that answers every import
of ``freqtrade`` and its submodules with fresh modules holding levtrade's names (IStrategy, the
parameters, the helpers, qtpylib). Whatever ``freqtrade`` modules the process had imported
before (an installed FreqTrade) are set aside and put back afterwards, and the modules made
for the strategy are removed, so imports anywhere else in the process are unchanged: the
strategy module keeps the objects it imported, nothing else sees them. A ``freqtrade`` module
the layer does not provide is an ImportError naming it.

FreqTrade's own sample strategy takes qtpylib from the ``technical`` package (``from technical
import qtpylib``), which FreqTrade installs with itself. Where ``technical`` is installed it is
imported as it is; where it is not, the layer serves ``technical.qtpylib`` the same way."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from levtrade.freqtrade import helpers, interface, parameters, qtpylib, trade

_STRATEGY_NAMES: dict[str, Any] = {
    **{name: getattr(parameters, name) for name in parameters.__all__},
    **{name: getattr(helpers, name) for name in helpers.__all__},
    "IStrategy": interface.IStrategy,
    "informative": interface.informative,
    "Trade": trade.Trade,
    "Order": trade.Order,
    "PairLocks": trade.PairLocks,
}

_EXCHANGE_NAMES = {
    name: getattr(helpers, name)
    for name in (
        "timeframe_to_minutes",
        "timeframe_to_msecs",
        "timeframe_to_next_date",
        "timeframe_to_prev_date",
        "timeframe_to_seconds",
    )
}

PACKAGES = frozenset({"freqtrade", "freqtrade.vendor", "freqtrade.vendor.qtpylib"})
_PACKAGE_NAMES = PACKAGES | {"freqtrade.strategy", "technical"}

MODULES: dict[str, dict[str, Any]] = {
    "freqtrade": {},
    "freqtrade.strategy": _STRATEGY_NAMES,
    "freqtrade.strategy.interface": {"IStrategy": interface.IStrategy},
    "freqtrade.strategy.parameters": {n: getattr(parameters, n) for n in parameters.__all__},
    "freqtrade.strategy.hyper": {n: getattr(parameters, n) for n in parameters.__all__},
    "freqtrade.strategy.strategy_helper": {n: getattr(helpers, n) for n in helpers.__all__},
    "freqtrade.strategy.informative_decorator": {"informative": interface.informative},
    "freqtrade.vendor": {},
    "freqtrade.vendor.qtpylib": {},
    "freqtrade.vendor.qtpylib.indicators": {n: getattr(qtpylib, n) for n in qtpylib.__all__},
    "freqtrade.persistence": {
        "Trade": trade.Trade,
        "Order": trade.Order,
        "PairLocks": trade.PairLocks,
    },
    "freqtrade.exchange": _EXCHANGE_NAMES,
}
"""The modules the layer provides and the names in each."""

TECHNICAL_MODULES: dict[str, dict[str, Any]] = {
    "technical": {},
    "technical.qtpylib": {n: getattr(qtpylib, n) for n in qtpylib.__all__},
}
"""What the layer serves of the ``technical`` package when it is not installed."""

_lock = threading.RLock()


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = ModuleType(spec.name, f"levtrade's FreqTrade layer: {spec.name}")
        module.__dict__.update({**MODULES, **TECHNICAL_MODULES}[spec.name])
        if spec.name in _PACKAGE_NAMES:
            module.__path__ = []
        return module

    def exec_module(self, module: ModuleType) -> None:
        return None


class FreqtradeFinder(importlib.abc.MetaPathFinder):
    """Answers ``freqtrade`` and its submodules from :data:`MODULES`, and ``technical`` from
    :data:`TECHNICAL_MODULES` when ``serve_technical`` (it is not installed)."""

    loader = _Loader()

    def __init__(self, serve_technical: bool) -> None:
        self.serve_technical = serve_technical

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if _in_package(fullname, "freqtrade"):
            modules = MODULES
        elif self.serve_technical and _in_package(fullname, "technical"):
            modules = TECHNICAL_MODULES
        else:
            return None
        if fullname not in modules:
            top = fullname.partition(".")[0]
            raise ModuleNotFoundError(
                f"No module named {fullname!r} in levtrade's FreqTrade layer (it provides "
                f"{', '.join(sorted(m for m in modules if m != top))})",
                name=fullname,
            )
        package = fullname in _PACKAGE_NAMES
        return importlib.machinery.ModuleSpec(fullname, self.loader, is_package=package)


def _in_package(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _ours(name: str) -> bool:
    return _in_package(name, "freqtrade")


def _technical_installed() -> bool:
    """Whether the process has, or can import, a real ``technical`` package."""
    if "technical" in sys.modules:
        return True
    return importlib.machinery.PathFinder.find_spec("technical") is not None


@contextmanager
def freqtrade_imports() -> Iterator[None]:
    """While inside, ``import freqtrade...`` gives levtrade's layer (module docstring)."""
    with _lock:
        saved = {name: module for name, module in sys.modules.items() if _ours(name)}
        for name in saved:
            del sys.modules[name]
        finder = FreqtradeFinder(serve_technical=not _technical_installed())
        sys.meta_path.insert(0, finder)
        try:
            yield
        finally:
            sys.meta_path.remove(finder)
            served = [
                n
                for n in sys.modules
                if _ours(n) or (finder.serve_technical and _in_package(n, "technical"))
            ]
            for name in served:
                del sys.modules[name]
            sys.modules.update(saved)
