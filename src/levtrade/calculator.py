"""The margin calculator: a scenario (DESIGN.md §5) in, the venue's figures out.

A scenario describes an account as the venue would show it — a cross wallet and open positions
with entry and mark prices — and the calculator builds the very :class:`~levtrade.margin.Account`
the backtester and the live broker use, then reads its figures. Nothing here computes margin
itself.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from levtrade._json import JsonInputError, parse_json
from levtrade._validation import (
    MAX_AMOUNT,
    MAX_LEVERAGE,
    MAX_PRICE,
    MAX_QUANTITY,
    describe_validation_error,
)
from levtrade.errors import ConfigError, LevtradeError
from levtrade.margin import Account, MarginMode, PositionKey, PositionMode, contracts
from levtrade.margin.tiers import TierTable
from levtrade.model.instrument import Instrument
from levtrade.venues import default_tiers, get_venue, instrument_for


def _number(
    low: float | None, high: float | None, *, above: float | None = None, below: float | None = None
) -> Any:
    """A JSON number (strict: text and booleans are refused) in the given range."""
    return Field(strict=True, ge=low, le=high, gt=above, lt=below, allow_inf_nan=False)


# the lower bounds of sizes, prices and amounts (MIN_QUANTITY, ...) are the account's to check
Size = Annotated[float, _number(None, MAX_QUANTITY, above=0.0)]
Price = Annotated[float, _number(None, MAX_PRICE, above=0.0)]
Money = Annotated[float, _number(0.0, MAX_AMOUNT)]
PositiveMoney = Annotated[float, _number(None, MAX_AMOUNT, above=0.0)]
SignedMoney = Annotated[float, _number(-MAX_AMOUNT, MAX_AMOUNT)]
Leverage = Annotated[float, _number(1.0, MAX_LEVERAGE)]
Fraction = Annotated[float, _number(0.0, None, below=1.0)]


_CROSS = MarginMode.CROSS


class TierSpec(BaseModel):
    """One tier as a scenario gives it; missing fields follow DESIGN.md §5's defaults."""

    model_config = ConfigDict(extra="forbid")

    floor: Money
    cap: PositiveMoney | None = None
    mmr: Fraction | None = None
    maintenance_amount: SignedMoney | None = None
    max_leverage: Leverage


class PositionSpec(BaseModel):
    """An open position: size in contracts (> 0) and a side."""

    model_config = ConfigDict(extra="forbid")

    symbol: str
    side: Literal["long", "short"]
    size: Size
    entry_price: Price
    mark_price: Price | None = None
    oracle_price: Price | None = None
    leverage: Leverage
    margin_mode: MarginMode = MarginMode.CROSS
    isolated_margin: PositiveMoney | None = None
    tiers: list[TierSpec] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _isolated_needs_margin(self) -> PositionSpec:
        cross = self.margin_mode is _CROSS
        if not cross and self.isolated_margin is None:
            raise ValueError(
                f"a {self.margin_mode.value} position needs isolated_margin (got none)"
            )
        if cross and self.isolated_margin is not None:
            raise ValueError("isolated_margin is only for isolated positions")
        return self


class Scenario(BaseModel):
    """An account on one venue (DESIGN.md §5)."""

    model_config = ConfigDict(extra="forbid")

    venue: str
    position_mode: PositionMode = PositionMode.ONE_WAY
    wallet_balance: Money
    positions: list[PositionSpec] = Field(default_factory=list)
    liquidation_buffer: Fraction = 0.0


def parse_scenarios(text: str) -> tuple[list[Scenario], bool]:
    """Parse one scenario or a JSON array of them; the flag says whether it was an array.

    Raises :class:`ConfigError` with one line naming the field and the value: malformed JSON,
    duplicate keys and nesting beyond any scenario's are refused before the fields are read
    (:func:`levtrade._json.parse_json`); numbers must be JSON numbers.
    """
    try:
        raw = parse_json(text, "scenario")
    except JsonInputError as exc:
        raise ConfigError(str(exc)) from None
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
    """The account a scenario describes, with its positions loaded at their marks.

    A position may bring a partial tier table (the bracket a venue shows for its size): its
    notional at the mark and at its liquidation price must then fall inside the table."""
    venue = get_venue(scenario.venue)
    account = Account(venue, scenario.wallet_balance, position_mode=scenario.position_mode)
    loads = []
    one_way = scenario.position_mode is PositionMode.ONE_WAY
    for index, spec in enumerate(scenario.positions):
        where = f"positions[{index}]"
        instrument = _instrument(scenario.venue, spec.symbol, where)
        tiers = _tiers(scenario.venue, instrument, spec, where)
        size = spec.size if spec.side == "long" else -spec.size
        loads.append(
            {
                "instrument": instrument,
                "size": size,
                "entry_price": spec.entry_price,
                "leverage": spec.leverage,
                "margin_mode": spec.margin_mode,
                "isolated_margin": spec.isolated_margin,
                "mark_price": spec.mark_price,
                "oracle_price": spec.oracle_price,
                "tiers": tiers,
                "leg": None if one_way else spec.side,
            }
        )
    try:
        placed = account.load_positions(loads)
    except LevtradeError as exc:
        raise ConfigError(str(exc)) from None
    for index, position in enumerate(placed):
        if account.tiers(position.instrument).partial:
            _check_inside(account, position.key, f"positions[{index}].tiers")
    return account


def _check_inside(account: Account, key: PositionKey, where: str) -> None:
    """A partial tier table must hold the position's notional at its mark and at its
    liquidation price (the tier the venue uses there)."""
    table = account.tiers(key.symbol)
    floor, cap = table.tiers[0].floor, table.tiers[-1].cap
    instrument = account.position(key).instrument
    size = account.position(key).size
    prices: list[tuple[str, float | None]] = [
        ("mark price", account.mark_price(key.symbol)),
        ("liquidation price", account.liquidation_price(key)),
    ]
    for name, price in prices:
        if price is None:
            continue
        notional = contracts.notional(instrument, size, price)
        if not floor <= notional < cap:
            side = "below its first floor" if notional < floor else "at or above its last cap"
            raise ConfigError(
                f"{where}: the table covers notional {floor:.8g} to {cap:.8g}; the position's "
                f"notional at its {name} {price:.8g} is {notional:.8g}, {side}: give the "
                "venue's tiers down to floor 0 (or up to that notional)"
            )


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
            partial=True,
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}.tiers: {exc}") from None


def evaluate(scenario: Scenario) -> dict[str, Any]:
    """The account's and each position's figures, with exactly DESIGN.md §5's fields."""
    account = build_account(scenario)
    buffer = scenario.liquidation_buffer
    positions = []
    for key in [p.key for p in account.positions]:
        positions.append(
            {
                "symbol": key.symbol,
                "side": "long" if account.position(key).size > 0 else "short",
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
