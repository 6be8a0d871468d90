"""The margin calculator: a scenario in, the venue's figures out.

A scenario describes an account as the venue would show it — a cross wallet and open positions
with entry and mark prices (the schema is in docs/margin.md) — and the calculator builds the
very :class:`~levtrade.margin.Account` the backtester uses, then reads its figures. Nothing here
computes margin itself. A futures scenario also comes from the command line's quick form
(:func:`quick_scenario`: ``--long 1@100000``) or from the positions a venue reports through
ccxt's ``fetch_positions()`` (:func:`scenario_from_ccxt`). Three more kinds of scenario:

* ``trading_mode`` ``"spot"`` or ``"margin"``: assets, loans and prices of a spot or a
  spot-margin account (:class:`SpotScenario`, figures from a
  :class:`~levtrade.margin.SpotAccount`): margin level, the price of each asset at the margin
  call and at liquidation and how far it can move before them, interest per hour;
* ``account_type`` ``"standard"`` or ``"unified"``: futures positions on several DEXs pooled by
  the venue's account type (:class:`ScopedScenario`, a :class:`~levtrade.margin.ScopedAccount`).
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
from levtrade.margin import (
    MAIN_DEX,
    Account,
    AccountType,
    MarginMode,
    MarketMarginRule,
    PositionKey,
    PositionMode,
    ScopedAccount,
    SpotAccount,
    TradingMode,
)
from levtrade.margin.contracts import notional as contract_notional
from levtrade.margin.tiers import TierTable
from levtrade.model.instrument import Instrument
from levtrade.model.venue import MarginLevelRule
from levtrade.venues import (
    default_tiers,
    get_spot_venue,
    get_venue,
    instrument_for,
    spot_instrument_for,
)


def _json_number(
    low: float | None, high: float | None, *, above: float | None = None, below: float | None = None
) -> Any:
    """A JSON number (strict: text and booleans are refused) in the given range."""
    return Field(strict=True, ge=low, le=high, gt=above, lt=below, allow_inf_nan=False)


# the lower bounds of sizes, prices and amounts (MIN_QUANTITY, ...) are the account's to check
Size = Annotated[float, _json_number(None, MAX_QUANTITY, above=0.0)]
Price = Annotated[float, _json_number(None, MAX_PRICE, above=0.0)]
PositiveFloat = Annotated[float, _json_number(None, MAX_AMOUNT, above=0.0)]
NonNegativeFloat = Annotated[float, _json_number(0.0, MAX_AMOUNT)]
SignedMoney = Annotated[float, _json_number(-MAX_AMOUNT, MAX_AMOUNT)]
Leverage = Annotated[float, _json_number(1.0, MAX_LEVERAGE)]
Fraction = Annotated[float, _json_number(0.0, None, below=1.0)]

_CROSS = MarginMode.CROSS


class TierSpec(BaseModel):
    """One tier as a scenario gives it; a missing ``cap`` is the next tier's floor, a missing
    ``mmr`` comes from the maximum leverage (half its initial-margin rate), a missing
    ``maintenance_amount`` from the continuity of the tiers."""

    model_config = ConfigDict(extra="forbid")

    floor: NonNegativeFloat
    cap: PositiveFloat | None = None
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
    isolated_margin: PositiveFloat | None = None
    tiers: list[TierSpec] | None = Field(default=None, min_length=1)
    market_margin_rule: MarketMarginRule = MarketMarginRule.ANY
    """The market's own rule (a Hyperliquid no-cross or strict-isolated market)."""

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
    """An account on one venue (docs/margin.md, "Scenarios")."""

    model_config = ConfigDict(extra="forbid")

    venue: str
    trading_mode: Literal["futures"] = "futures"
    position_mode: PositionMode = PositionMode.ONE_WAY
    wallet_balance: NonNegativeFloat
    positions: list[PositionSpec] = Field(default_factory=list)
    liquidation_buffer: Fraction = 0.0


class ScopedScenario(BaseModel):
    """Futures positions on several DEXs of one venue, pooled by its account type.

    ``standard``: ``wallet_balances`` by DEX (``main``, ``xyz``), each that DEX's cross wallet.
    ``unified``: ``balances`` by collateral token, each the token's whole balance (spot total,
    isolated margins included), as the venue shows it.
    """

    model_config = ConfigDict(extra="forbid")

    venue: str
    trading_mode: Literal["futures"] = "futures"
    account_type: AccountType
    position_mode: PositionMode = PositionMode.ONE_WAY
    wallet_balances: dict[str, NonNegativeFloat] | None = None
    balances: dict[str, NonNegativeFloat] | None = None
    positions: list[PositionSpec] = Field(default_factory=list)
    liquidation_buffer: Fraction = 0.0

    @model_validator(mode="after")
    def _balances_fit_the_type(self) -> ScopedScenario:
        if self.account_type is AccountType.STANDARD and self.balances is not None:
            raise ValueError("a standard account takes wallet_balances by DEX, not balances")
        if self.account_type is AccountType.UNIFIED and self.wallet_balances is not None:
            raise ValueError("a unified account takes balances by token, not wallet_balances")
        return self


class SpotScenario(BaseModel):
    """A spot or spot-margin account: what it holds, what it owes, and the prices.

    ``assets`` are the holdings, ``loans`` the principal owed, ``interest`` the interest
    charged and not yet paid, by asset. ``prices`` are in ``currency`` (default: the one asset
    named without a price). ``interest_rates`` are per asset and per the venue's interest
    period (Binance: per hour; Kraken: per 4-hour rollover). ``leverage`` is the loans'
    position leverage (Kraken's used margin; default the venue's maximum). An isolated pool
    names its ``symbol``.
    """

    model_config = ConfigDict(extra="forbid")

    venue: str
    trading_mode: Literal["spot", "margin"]
    margin_mode: Literal["cross", "isolated"] = "cross"
    symbol: str | None = None
    currency: str | None = None
    assets: dict[str, NonNegativeFloat] = Field(default_factory=dict)
    loans: dict[str, PositiveFloat] = Field(default_factory=dict)
    interest: dict[str, NonNegativeFloat] = Field(default_factory=dict)
    prices: dict[str, PositiveFloat] = Field(default_factory=dict)
    interest_rates: dict[str, NonNegativeFloat] | None = None
    leverage: Leverage | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SpotScenario:
        if self.trading_mode == "spot" and (self.loans or self.interest):
            raise ValueError("a spot account does not borrow; loans and interest need margin")
        if self.margin_mode == "isolated" and self.symbol is None:
            raise ValueError("an isolated margin pool needs its pair's symbol")
        unknown = sorted(set(self.interest) - set(self.loans))
        if unknown:
            raise ValueError(f"interest is owed on loans only, got interest in {unknown}")
        return self


AnyScenario = Scenario | ScopedScenario | SpotScenario


def parse_scenarios(text: str) -> tuple[list[AnyScenario], bool]:
    """Parse one scenario or a JSON array of them; the flag says whether it was an array.

    Raises :class:`ConfigError` with one line naming the field and the value: malformed JSON,
    duplicate keys and nesting beyond any scenario's are refused before the fields are read
    (:func:`levtrade._json.parse_json`); numbers must be JSON numbers.
    """
    return scenarios_from(read_document(text))


def read_document(text: str) -> Any:
    """A scenario document's JSON (:func:`levtrade._json.parse_json`'s refusals as
    :class:`ConfigError`)."""
    try:
        return parse_json(text, "scenario")
    except JsonInputError as exc:
        raise ConfigError(str(exc)) from None


def scenarios_from(raw: Any) -> tuple[list[AnyScenario], bool]:
    """:func:`parse_scenarios` of a parsed document."""
    is_array = isinstance(raw, list)
    items = raw if is_array else [raw]
    if is_array and not items:
        raise ConfigError("scenario: the array of scenarios is empty")
    scenarios: list[AnyScenario] = []
    for index, item in enumerate(items):
        prefix = f"[{index}]." if is_array else ""
        if not isinstance(item, dict):
            raise ConfigError(f"scenario{prefix.rstrip('.')}: expected an object, got {item!r}")
        model = _model_of(item, prefix)
        try:
            scenarios.append(model.model_validate(item))
        except ValidationError as exc:
            raise ConfigError(
                describe_validation_error(exc, prefix=prefix, root="scenario", noun="field")
            ) from None
    return scenarios, is_array


def _model_of(item: dict[str, Any], prefix: str) -> type[AnyScenario]:
    """The scenario kind an object describes, by its ``trading_mode`` and ``account_type``."""
    mode = item.get("trading_mode", TradingMode.FUTURES.value)
    if mode in (TradingMode.SPOT.value, TradingMode.MARGIN.value):
        return SpotScenario
    if mode != TradingMode.FUTURES.value:
        choices = ", ".join(repr(m.value) for m in TradingMode)
        raise ConfigError(f"{prefix}trading_mode: must be one of {choices}, got {mode!r}")
    return ScopedScenario if "account_type" in item else Scenario


def build_account(scenario: Scenario) -> Account:
    """The account a scenario describes, with its positions loaded at their marks (at once:
    linear in the positions).

    A position may bring a partial tier table (the bracket a venue shows for its size): its
    notional at the mark and at its liquidation price must then fall inside the table."""
    venue = get_venue(scenario.venue)
    account = Account(venue, scenario.wallet_balance, position_mode=scenario.position_mode)
    loads = [
        _arguments(scenario.venue, scenario.position_mode, spec, f"positions[{index}]")
        for index, spec in enumerate(scenario.positions)
    ]
    try:
        placed = account.load_positions(loads)
    except LevtradeError as exc:
        raise ConfigError(str(exc)) from None
    for index, position in enumerate(placed):
        _check_inside(account, position.key, f"positions[{index}].tiers")
    return account


def build_scoped_account(scenario: ScopedScenario) -> ScopedAccount:
    """The pooled account a scenario describes: each pool's wallet, then its positions.

    A unified token's balance includes the isolated margins of positions settled in it, so its
    cross wallet is that balance less those margins.
    """
    venue = get_venue(scenario.venue)
    instruments = [
        _instrument(scenario.venue, spec.symbol, f"positions[{i}]", spec.market_margin_rule)
        for i, spec in enumerate(scenario.positions)
    ]
    wallets = dict(scenario.wallet_balances or {})
    if scenario.account_type is AccountType.UNIFIED:
        isolated: dict[str, float] = {}
        for instrument, spec in zip(instruments, scenario.positions, strict=True):
            if spec.isolated_margin is not None:
                token = instrument.margin_currency
                isolated[token] = isolated.get(token, 0.0) + spec.isolated_margin
        for token, total in (scenario.balances or {}).items():
            wallets[token] = total - isolated.get(token, 0.0)
            if wallets[token] < 0.0:
                raise ConfigError(
                    f"balances[{token!r}]: {total!r} is less than the {isolated[token]!r} of "
                    "isolated margin the positions settled in it hold"
                )
    scoped = ScopedAccount(
        venue, scenario.account_type, wallets, position_mode=scenario.position_mode
    )
    for index, (instrument, spec) in enumerate(zip(instruments, scenario.positions, strict=True)):
        where = f"positions[{index}]"
        try:
            account = scoped.account_for(instrument)
        except ConfigError as exc:
            raise ConfigError(f"{where}.symbol: {exc}") from None
        _load(account, scenario.venue, scenario.position_mode, spec, where, instrument)
    return scoped


def _arguments(
    venue: str,
    position_mode: PositionMode,
    spec: PositionSpec,
    where: str,
    instrument: Instrument | None = None,
) -> dict[str, Any]:
    """:meth:`Account.load_position`'s arguments for a position of the scenario."""
    if instrument is None:
        instrument = _instrument(venue, spec.symbol, where, spec.market_margin_rule)
    return {
        "instrument": instrument,
        "size": spec.size if spec.side == "long" else -spec.size,
        "entry_price": spec.entry_price,
        "leverage": spec.leverage,
        "margin_mode": spec.margin_mode,
        "isolated_margin": spec.isolated_margin,
        "mark_price": spec.mark_price,
        "oracle_price": spec.oracle_price,
        "tiers": _tiers(venue, instrument, spec, where),
        "leg": None if position_mode is PositionMode.ONE_WAY else spec.side,
    }


def _load(
    account: Account,
    venue: str,
    position_mode: PositionMode,
    spec: PositionSpec,
    where: str,
    instrument: Instrument | None = None,
) -> None:
    arguments = _arguments(venue, position_mode, spec, where, instrument)
    try:
        position = account.load_position(**arguments)
    except LevtradeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    _check_inside(account, position.key, f"{where}.tiers")


def _check_inside(account: Account, key: PositionKey, where: str) -> None:
    """A partial tier table must hold the position's notional at its mark and at its
    liquidation price (the tier the venue uses there)."""
    table = account.tiers(key.symbol)
    if not table.partial:
        return
    floor, cap = table.tiers[0].floor, table.tiers[-1].cap
    position = account.position(key)
    prices: list[tuple[str, float | None]] = [
        ("mark price", account.mark_price(key.symbol)),
        ("liquidation price", account.liquidation_price(key)),
    ]
    for name, price in prices:
        if price is None:
            continue
        notional = contract_notional(position.instrument, position.size, price)
        if not floor <= notional < cap:
            side = "below its first floor" if notional < floor else "at or above its last cap"
            raise ConfigError(
                f"{where}: the table covers notional {floor:.8g} to {cap:.8g}; the position's "
                f"notional at its {name} {price:.8g} is {notional:.8g}, {side}: give the "
                "venue's tiers down to floor 0 (or up to that notional)"
            )


def _instrument(
    venue: str, symbol: str, where: str, rule: MarketMarginRule = MarketMarginRule.ANY
) -> Instrument:
    try:
        if rule is MarketMarginRule.ANY:
            return instrument_for(venue, symbol)
        return instrument_for(venue, symbol, margin_rule=rule)
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


def evaluate(scenario: AnyScenario) -> dict[str, Any]:
    """The figures of a scenario: for a futures account the fields docs/margin.md lists; for the
    other kinds see :func:`evaluate_spot` and :func:`evaluate_scoped`."""
    if isinstance(scenario, SpotScenario):
        return evaluate_spot(scenario)
    if isinstance(scenario, ScopedScenario):
        return evaluate_scoped(scenario)
    account = build_account(scenario)
    return {
        "account": _account_figures(account),
        "positions": _position_figures(account, scenario.liquidation_buffer),
    }


def evaluate_scoped(scenario: ScopedScenario) -> dict[str, Any]:
    """Each pool's account figures and positions, and which pool is worst. A position shows
    its DEX and margin mode besides DESIGN.md §5's fields."""
    scoped = build_scoped_account(scenario)
    pools = []
    for name, account in scoped.pools.items():
        positions = _position_figures(account, scenario.liquidation_buffer)
        for figures, position in zip(positions, account.positions, strict=True):
            figures["dex"] = position.instrument.dex or MAIN_DEX
            figures["margin_mode"] = position.margin_mode.value
        pools.append(
            {
                "pool": name,
                "currency": account.currency,
                "account": _account_figures(account),
                "positions": positions,
            }
        )
    return {
        "account_type": scoped.account_type.value,
        "liquidatable": scoped.liquidatable,
        "worst_pool": scoped.worst_pool,
        "pools": pools,
    }


def _account_figures(account: Account) -> dict[str, Any]:
    return {
        "equity": account.equity,
        "initial_margin": account.initial_margin,
        "maintenance_margin": account.maintenance_margin,
        "margin_ratio": _finite(account.margin_ratio),
        "liquidatable": account.liquidatable,
        "withdrawable": account.withdrawable,
    }


def _position_figures(account: Account, buffer: float) -> list[dict[str, Any]]:
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
    return positions


def build_spot_account(scenario: SpotScenario) -> tuple[SpotAccount, str]:
    """The spot account a scenario describes and the pool its figures are read from."""
    venue = get_spot_venue(scenario.venue)
    currency = _currency(scenario)
    try:
        account = SpotAccount(
            venue,
            currency=currency,
            trading_mode=scenario.trading_mode,
            margin_mode=scenario.margin_mode,
            interest_rates=scenario.interest_rates,
        )
    except ConfigError as exc:
        raise ConfigError(str(exc)) from None
    pool = account.main_pool
    if scenario.symbol is not None:
        try:
            pair = spot_instrument_for(scenario.venue, scenario.symbol)
        except ConfigError as exc:
            raise ConfigError(f"symbol: {exc}") from None
        pool = account.pool_for(pair)
    for asset, price in scenario.prices.items():
        account.set_price(asset, price)
    for asset in [*scenario.assets, *scenario.loans]:
        if asset != currency and asset not in scenario.prices:
            raise ConfigError(
                f"prices: no price for {asset!r} (prices are in the currency {currency!r})"
            )
    for asset, amount in scenario.assets.items():
        if amount > 0.0:
            account.deposit(asset, amount, pool=pool)
    for asset, amount in scenario.loans.items():
        try:
            account.load_loan(
                asset,
                amount,
                pool=pool,
                leverage=scenario.leverage,
                interest=scenario.interest.get(asset, 0.0),
            )
        except LevtradeError as exc:
            raise ConfigError(f"loans[{asset!r}]: {exc}") from None
    return account, pool


def evaluate_spot(scenario: SpotScenario) -> dict[str, Any]:
    """A spot or spot-margin account's figures: margin level and the venue's thresholds; for
    an account exposed to one asset, that asset's margin-call and liquidation prices; per
    asset, its price at each and the move that reaches it, every other price held; interest
    per hour at the given rates."""
    account, pool = build_spot_account(scenario)
    currency = account.currency
    levels = account.levels(pool)
    names = list(dict.fromkeys([*scenario.assets, *scenario.loans]))
    exposed = [
        a for a in names if a != currency and (account.balance(a, pool) or account.debt(a, pool))
    ]
    rows = []
    for asset in names:
        price = account.price(asset)
        row: dict[str, Any] = {
            "asset": asset,
            "price": price,
            "holding": account.balance(asset, pool),
            "loan": account.loan(asset, pool),
            "unpaid_interest": account.unpaid_interest(asset, pool),
            "net": account.net(asset, pool),
            "value": account.net(asset, pool) * price,
            "interest_per_hour": _finite(account.interest_per_hour(pool, asset=asset)),
            "margin_call_price": None,
            "liquidation_price": None,
            "move_to_margin_call": None,
            "move_to_liquidation": None,
        }
        if levels is not None and asset != currency:
            call = account.margin_call_price(asset, pool)
            liquidation = account.liquidation_price(asset, pool)
            row["margin_call_price"] = call
            row["liquidation_price"] = liquidation
            row["move_to_margin_call"] = None if call is None else call / price - 1.0
            row["move_to_liquidation"] = None if liquidation is None else liquidation / price - 1.0
        rows.append(row)
    one = exposed[0] if len(exposed) == 1 else None
    one_row = next((r for r in rows if r["asset"] == one), None)
    figures: dict[str, Any] = {
        "trading_mode": scenario.trading_mode,
        "margin_mode": scenario.margin_mode if account.is_margin else None,
        "pool": pool,
        "currency": currency,
        "total_assets": account.total_assets(pool),
        "total_liabilities": account.total_liabilities(pool),
        "unpaid_interest": account.interest_owed(pool),
        "equity": account.equity(pool),
        "used_margin": account.used_margin(pool)
        if account.venue.margin_level_rule is MarginLevelRule.EQUITY_OVER_USED_MARGIN
        else None,
        "margin_level_rule": account.venue.margin_level_rule.value,
        "margin_level": _finite(account.margin_level(pool)) if levels is not None else None,
        "status": account.status(pool).value,
        "transfer_level": None if levels is None else levels.transfer_out,
        "borrow_level": None if levels is None else levels.borrow,
        "margin_call_level": None if levels is None else levels.margin_call,
        "liquidation_level": None if levels is None else levels.liquidation,
        "liquidatable": account.liquidatable(pool),
        "interest_per_hour": _finite(account.interest_per_hour(pool)),
        "asset": one,
        "margin_call_price": None if one_row is None else one_row["margin_call_price"],
        "liquidation_price": None if one_row is None else one_row["liquidation_price"],
    }
    return {"account": figures, "assets": rows}


def _currency(scenario: SpotScenario) -> str:
    """The currency prices are in: given, or the one asset named without a price."""
    if scenario.currency is not None:
        if scenario.currency in scenario.prices:
            raise ConfigError(
                f"prices: {scenario.currency!r} is the currency; its price is 1, not "
                f"{scenario.prices[scenario.currency]!r}"
            )
        return scenario.currency
    unpriced = [
        a for a in dict.fromkeys([*scenario.assets, *scenario.loans]) if a not in scenario.prices
    ]
    if len(unpriced) == 1:
        return unpriced[0]
    if not unpriced:
        raise ConfigError("currency: every asset has a price; name the currency they are in")
    names = ", ".join(repr(a) for a in unpriced)
    raise ConfigError(
        f"prices: {names} have no price; every asset but the currency needs one (or name the "
        "currency)"
    )


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
