"""The margin calculator: a scenario (DESIGN.md §5) in, the venue's figures out.

A scenario describes an account as the venue would show it — a cross wallet and open positions
with entry and mark prices — and the calculator builds the very :class:`~levtrade.margin.Account`
the backtester and the live broker use, then reads its figures. Nothing here computes margin
itself.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from levtrade._validation import describe_validation_error
from levtrade.errors import ConfigError, LevtradeError
from levtrade.margin import Account, MarginMode, PositionMode
from levtrade.margin.tiers import TierTable
from levtrade.model.instrument import Instrument
from levtrade.venues import default_tiers, get_venue, instrument_for

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class TierSpec(BaseModel):
    """One tier as a scenario gives it; missing fields follow DESIGN.md §5's defaults."""

    model_config = ConfigDict(extra="forbid")

    floor: NonNegativeFloat
    cap: PositiveFloat | None = None
    mmr: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] | None = None
    maintenance_amount: Annotated[float, Field(allow_inf_nan=False)] | None = None
    max_leverage: PositiveFloat


class PositionSpec(BaseModel):
    """An open position: size in contracts (> 0) and a side."""

    model_config = ConfigDict(extra="forbid")

    symbol: str
    side: Literal["long", "short"]
    size: PositiveFloat
    entry_price: PositiveFloat
    mark_price: PositiveFloat | None = None
    oracle_price: PositiveFloat | None = None
    leverage: Annotated[float, Field(ge=1, allow_inf_nan=False)]
    margin_mode: MarginMode = MarginMode.CROSS
    isolated_margin: PositiveFloat | None = None
    tiers: list[TierSpec] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _isolated_needs_margin(self) -> PositionSpec:
        if self.margin_mode is not MarginMode.CROSS and self.isolated_margin is None:
            raise ValueError(
                f"a {self.margin_mode.value} position needs isolated_margin (got none)"
            )
        if self.margin_mode is MarginMode.CROSS and self.isolated_margin is not None:
            raise ValueError("isolated_margin is only for isolated positions")
        return self


class Scenario(BaseModel):
    """An account on one venue (DESIGN.md §5)."""

    model_config = ConfigDict(extra="forbid")

    venue: str
    position_mode: PositionMode = PositionMode.ONE_WAY
    wallet_balance: NonNegativeFloat
    positions: list[PositionSpec] = Field(default_factory=list)
    liquidation_buffer: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.0


def parse_scenarios(text: str) -> tuple[list[Scenario], bool]:
    """Parse one scenario or a JSON array of them; the flag says whether it was an array.

    Raises :class:`ConfigError` with one line naming the field and the value.
    """
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"scenario: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    is_array = isinstance(raw, list)
    items = raw if is_array else [raw]
    if is_array and not items:
        raise ConfigError("scenario: the array of scenarios is empty")
    scenarios = []
    for index, item in enumerate(items):
        prefix = f"[{index}]." if is_array else ""
        if not isinstance(item, dict):
            raise ConfigError(f"scenario{prefix.rstrip('.')}: expected an object, got {item!r}")
        try:
            scenarios.append(Scenario.model_validate(item))
        except ValidationError as exc:
            raise ConfigError(
                describe_validation_error(exc, prefix=prefix, root="scenario", noun="field")
            ) from None
    return scenarios, is_array


def build_account(scenario: Scenario) -> Account:
    """The account a scenario describes, with its positions loaded at their marks."""
    venue = get_venue(scenario.venue)
    account = Account(venue, scenario.wallet_balance, position_mode=scenario.position_mode)
    for index, spec in enumerate(scenario.positions):
        where = f"positions[{index}]"
        instrument = _instrument(scenario.venue, spec.symbol, where)
        tiers = _tiers(scenario.venue, instrument, spec, where)
        size = spec.size if spec.side == "long" else -spec.size
        leg = None if scenario.position_mode is PositionMode.ONE_WAY else spec.side
        try:
            account.load_position(
                instrument,
                size=size,
                entry_price=spec.entry_price,
                leverage=spec.leverage,
                margin_mode=spec.margin_mode,
                isolated_margin=spec.isolated_margin,
                mark_price=spec.mark_price,
                oracle_price=spec.oracle_price,
                tiers=tiers,
                leg=leg,
            )
        except LevtradeError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    return account


def _instrument(venue: str, symbol: str, where: str) -> Instrument:
    try:
        return instrument_for(venue, symbol)
    except ConfigError as exc:
        raise ConfigError(f"{where}.symbol: {exc}") from None


def _tiers(venue: str, instrument: Instrument, spec: PositionSpec, where: str) -> TierTable:
    if spec.tiers is None:
        try:
            return default_tiers(venue, instrument.symbol)
        except ConfigError as exc:
            raise ConfigError(f"{where}.symbol: {exc}") from None
    try:
        return TierTable.from_rows(
            [t.model_dump(exclude_none=True) for t in spec.tiers],
            venue=venue,
            symbol=instrument.symbol,
            source="scenario",
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}.tiers: {exc}") from None


def evaluate(scenario: Scenario) -> dict[str, Any]:
    """The account's and each position's figures, with exactly DESIGN.md §5's fields."""
    account = build_account(scenario)
    buffer = scenario.liquidation_buffer
    positions = []
    for key in account.positions:
        positions.append(
            {
                "symbol": key.instrument.symbol,
                "side": "long" if key.size > 0 else "short",
                "notional": account.notional(key),
                "unrealized_pnl": account.unrealized_pnl(key),
                "initial_margin": account.initial_margin_of(key),
                "maintenance_margin": account.maintenance_margin_of(key),
                "tier": account.tier(key),
                "liquidation_price": _finite(account.liquidation_price(key)),
                "bankruptcy_price": _finite(account.bankruptcy_price(key)),
                "buffered_liquidation_price": _finite(
                    account.buffered_liquidation_price(key, buffer)
                ),
                "max_removable_margin": account.max_removable_margin(key),
                "liquidatable": account.is_liquidatable(key),
            }
        )
    return {
        "account": {
            "equity": account.equity,
            "initial_margin": account.initial_margin,
            "maintenance_margin": account.maintenance_margin,
            "margin_ratio": _finite(account.margin_ratio),
            "liquidatable": account.liquidatable,
            "withdrawable": account.withdrawable,
        },
        "positions": positions,
    }


def _finite(value: float | None) -> float | None:
    """JSON has no NaN or infinity: a price or ratio that does not exist is ``null``."""
    if value is None or not math.isfinite(value):
        return None
    return value
