"""RunSpec: a run's settings resolved against its venue, once.

A :class:`~levtrade.spec.config.BacktestConfig` names a venue, fee overrides, per-symbol
contract overrides and tier rows; resolving them (the venue's profile with its overrides, each
symbol's instrument, each symbol's tier table) reads package data and builds objects. A run
does it once, here, and hands the result to everything that needs it — the engines, the
compiled kernel, the margin account (its tier provider), a signal strategy's callbacks, the
report — so that they all see the same instruments and tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from levtrade.errors import UnknownSymbolError
from levtrade.margin.tiers import TierTable
from levtrade.model.instrument import Instrument
from levtrade.model.venue import SpotMarginProfile, VenueProfile
from levtrade.spec.config import BacktestConfig


@dataclass(frozen=True, eq=False)
class RunSpec:
    """The resolved specification of a run over ``symbols`` (in the run's column order)."""

    config: BacktestConfig
    venue: VenueProfile
    symbols: tuple[str, ...]
    instruments: tuple[Instrument, ...]
    """Per symbol, the instrument traded (the venue's, with the config's overrides)."""
    tiers: tuple[TierTable, ...]
    """Per symbol, its tier table (the config's rows, else the venue's shipped table)."""
    _column: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    spot_venue: SpotMarginProfile | None = None
    """The venue's spot and spot-margin rules, for a spot or margin run (None for futures)."""

    @classmethod
    def resolve(cls, config: BacktestConfig, symbols: Iterable[str]) -> RunSpec:
        """Resolve ``config`` for ``symbols``; an unknown symbol or a missing tier table is an
        error naming it."""
        names = tuple(symbols)
        instruments = tuple(config.instrument(s) for s in names)
        tiers = tuple(config.tier_table(inst) for inst in instruments)
        column = MappingProxyType({s: j for j, s in enumerate(names)})
        return cls(
            config,
            config.venue_profile(),
            names,
            instruments,
            tiers,
            column,
            config.spot_venue_profile(),
        )

    def column(self, symbol: str) -> int:
        """The run's column of ``symbol``."""
        try:
            return self._column[symbol]
        except KeyError:
            raise UnknownSymbolError(
                f"symbol: {symbol!r} is not in this run ({', '.join(self.symbols)})"
            ) from None

    def instrument(self, symbol: str) -> Instrument:
        """The instrument traded for ``symbol``."""
        return self.instruments[self.column(symbol)]

    def tier_table(self, instrument: Instrument | str) -> TierTable:
        """The tier table of an instrument (or symbol): the account's tier provider."""
        symbol = instrument if isinstance(instrument, str) else instrument.symbol
        return self.tiers[self.column(symbol)]


def resolve(config: BacktestConfig | RunSpec, symbols: Iterable[str]) -> RunSpec:
    """``config`` resolved for ``symbols``; a :class:`RunSpec` already resolved for exactly
    those symbols is used as it is."""
    names = tuple(symbols)
    if isinstance(config, RunSpec):
        if config.symbols != names:
            raise UnknownSymbolError(
                f"symbols: the run specification covers {', '.join(config.symbols)}, the data "
                f"{', '.join(names)}"
            )
        return config
    return RunSpec.resolve(config, names)
