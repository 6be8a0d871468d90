"""FreqTrade compatibility: a FreqTrade strategy file runs unchanged on levtrade.

When levtrade loads a strategy file, ``from freqtrade.strategy import IStrategy, ...`` and
``import freqtrade.vendor.qtpylib.indicators as qtpylib`` resolve to this package
(:func:`~levtrade.freqtrade.imports.freqtrade_imports`), whether FreqTrade is installed or not,
and only for that import. :class:`~levtrade.freqtrade.interface.IStrategy` is FreqTrade's
interface on levtrade's :class:`~levtrade.strategy.signal_strategy.SignalStrategy`; the
hyperopt parameters, helpers and qtpylib indicators keep FreqTrade's definitions."""

from levtrade.freqtrade.helpers import (
    merge_informative_pair,
    stoploss_from_absolute,
    stoploss_from_open,
)
from levtrade.freqtrade.imports import freqtrade_imports
from levtrade.freqtrade.interface import DataProvider, IStrategy, informative
from levtrade.freqtrade.parameters import (
    BaseParameter,
    BooleanParameter,
    CategoricalParameter,
    DecimalParameter,
    IntParameter,
    RealParameter,
)

__all__ = [
    "BaseParameter",
    "BooleanParameter",
    "CategoricalParameter",
    "DataProvider",
    "DecimalParameter",
    "IStrategy",
    "IntParameter",
    "RealParameter",
    "freqtrade_imports",
    "informative",
    "merge_informative_pair",
    "stoploss_from_absolute",
    "stoploss_from_open",
]
