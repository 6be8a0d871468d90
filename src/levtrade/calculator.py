"""The margin calculator: a scenario in, the venue's figures out.

A scenario describes an account as the venue would show it — a cross wallet and open positions
with entry and mark prices (the schema is in docs/margin.md) — and the calculator builds the
very :class:`~levtrade.margin.Account` the backtester and the live broker use, then reads its
figures. Nothing here computes margin itself. A scenario also comes from the command line's
quick form (:func:`quick_scenario`: ``--long 1@100000``) or from the positions a venue reports
through ccxt's ``fetch_positions()`` (:func:`scenario_from_ccxt`).
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
    """One tier as a scenario gives it; a missing ``cap`` is the next tier's floor, a missing
    ``mmr`` comes from the maximum leverage (half its initial-margin rate), a missing
    ``maintenance_amount`` from the continuity of the tiers."""

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
    """An account on one venue (docs/margin.md, "Scenarios")."""

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
    """The account's and each position's figures (the fields docs/margin.md lists)."""
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


def _position_text(text: str, side: str) -> tuple[float, float]:
    """``SIZE@PRICE`` (contracts at the entry price) of ``--long``/``--short``."""
    size, sep, price = text.partition("@")
    try:
        values = float(size), float(price)
    except ValueError:
        values = (math.nan, math.nan)
    if not sep or not all(math.isfinite(v) and v > 0 for v in values):
        raise ConfigError(f"{side}: expected SIZE@PRICE such as 1@100000, got {text!r}")
    return values


def quick_scenario(
    *,
    venue: str,
    wallet: float,
    leverage: float,
    longs: list[str] | None = None,
    shorts: list[str] | None = None,
    symbol: str = "BTC/USDT:USDT",
    margin_mode: str = "cross",
    mark: float | None = None,
) -> Scenario:
    """The scenario of the command line's quick form: positions ``SIZE@PRICE`` on ``symbol``
    at ``leverage``; an isolated position holds its initial margin (notional at entry ÷
    leverage) as its isolated margin."""
    positions: list[dict[str, Any]] = []
    for side, items in (("long", longs or []), ("short", shorts or [])):
        for text in items:
            size, price = _position_text(text, side)
            spec: dict[str, Any] = {
                "symbol": symbol,
                "side": side,
                "size": size,
                "entry_price": price,
                "leverage": leverage,
                "margin_mode": margin_mode,
            }
            if mark is not None:
                spec["mark_price"] = mark
            if margin_mode != "cross":
                instrument = _instrument(venue, symbol, "symbol")
                notional = abs(size) * instrument.contract_size * price
                spec["isolated_margin"] = notional / leverage
            positions.append(spec)
    if not positions:
        raise ConfigError("positions: give --long SIZE@PRICE or --short SIZE@PRICE")
    return _validated(
        {"venue": venue, "wallet_balance": wallet, "positions": positions}, root="scenario"
    )


def is_ccxt_positions(raw: Any) -> bool:
    """Whether a parsed JSON document is ccxt ``fetch_positions()`` output: a list of
    position structures (each with ``symbol`` and ``contracts``)."""
    return (
        isinstance(raw, list)
        and bool(raw)
        and all(isinstance(p, dict) and "contracts" in p and "symbol" in p for p in raw)
    )


def scenario_from_ccxt(raw: list[dict[str, Any]], *, venue: str, wallet: float) -> Scenario:
    """A scenario from ccxt's unified position structures: ``symbol``, ``side``,
    ``contracts``, ``entryPrice``, ``markPrice``, ``leverage``, ``marginMode`` and, for an
    isolated position, its margin: ``collateral − unrealizedPnl`` (the margin put in),
    else ``initialMargin``. Positions with no contracts are left out; ``hedged`` positions
    make a hedge-mode account. ``wallet`` is the cross wallet, which the positions do not
    carry."""
    positions: list[dict[str, Any]] = []
    hedged = False
    for index, item in enumerate(raw):
        where = f"positions[{index}]"
        contracts = _number(item.get("contracts"), f"{where}.contracts")
        if contracts == 0:
            continue
        side = item.get("side") or ("long" if contracts > 0 else "short")
        mode = str(item.get("marginMode") or "cross")
        spec: dict[str, Any] = {
            "symbol": item.get("symbol"),
            "side": side,
            "size": abs(contracts),
            "entry_price": _number(item.get("entryPrice"), f"{where}.entryPrice"),
            "leverage": _number(item.get("leverage"), f"{where}.leverage"),
            "margin_mode": mode,
        }
        if item.get("markPrice") is not None:
            spec["mark_price"] = _number(item.get("markPrice"), f"{where}.markPrice")
        if mode != "cross":
            collateral, upnl = item.get("collateral"), item.get("unrealizedPnl")
            if collateral is not None and upnl is not None:
                margin = _number(collateral, f"{where}.collateral") - _number(
                    upnl, f"{where}.unrealizedPnl"
                )
            else:
                margin = _number(item.get("initialMargin"), f"{where}.initialMargin")
            spec["isolated_margin"] = margin
        hedged = hedged or bool(item.get("hedged"))
        positions.append(spec)
    document = {
        "venue": venue,
        "wallet_balance": wallet,
        "position_mode": "hedge" if hedged else "one_way",
        "positions": positions,
    }
    return _validated(document, root="positions")


def _number(value: Any, field: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise ConfigError(f"{field}: expected a number, got {value!r}")
    return number


def _validated(document: dict[str, Any], *, root: str) -> Scenario:
    try:
        return Scenario.model_validate(document)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, root=root, noun="field")) from None
