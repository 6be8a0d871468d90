"""BacktestConfig: every setting of a run (docs/backtest.md, "Inputs").

A pydantic model so a run loads from TOML/JSON and accepts FreqTrade's key names
(``dry_run_wallet``, ``futures_funding_rate``, ``trading_mode``, ``max_open_trades = -1``). A
bad value raises :class:`~levtrade.errors.ConfigError` naming the field and the value.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from levtrade._validation import MAX_FUNDING_RATE, describe_validation_error
from levtrade.errors import ConfigError, LevtradeError, UnknownSymbolError
from levtrade.margin.tiers import TierTable
from levtrade.model.instrument import Instrument
from levtrade.model.venue import SpotMarginProfile, VenueProfile
from levtrade.venues import (
    SPOT_VENUES,
    VENUES,
    default_tiers,
    get_spot_venue,
    get_venue,
    instrument_for,
    spot_instrument_for,
)
from levtrade.venues.registry import venue_name

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
FeeRate = Annotated[float, Field(gt=-0.01, lt=0.1, allow_inf_nan=False)]


class InstrumentOverrides(BaseModel):
    """Per-symbol contract specification overriding the venue's (tick, lot, minimum notional,
    contract size, fees)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contract_size: Positive | None = None
    tick_size: NonNegative | None = None
    lot_size: NonNegative | None = None
    min_notional: NonNegative | None = None
    maker_fee: FeeRate | None = None
    taker_fee: FeeRate | None = None


class AccountSettings(BaseModel):
    """How a run's account trades and its orders fill: the settings a backtest
    (:class:`BacktestConfig`) and a run configuration file
    (``levtrade.configuration.RunConfig``) share, declared once. FreqTrade's names are accepted
    where FreqTrade has the setting."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    trading_mode: str = "futures"
    """``futures`` (perpetual swaps), ``spot`` (what the wallet holds, long only) or ``margin``
    (spot margin: borrowing with interest)."""
    margin_mode: Literal["cross", "isolated"] = "cross"
    position_mode: Literal["one_way", "hedge"] = "one_way"
    leverage: Annotated[float, Field(ge=1, allow_inf_nan=False)] = 1.0
    liquidation_buffer: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.0
    slippage_bps: NonNegative = 0.0
    """Adverse slippage on market and stop fills, in basis points."""
    volume_slippage_bps: NonNegative = 0.0
    """Extra slippage per unit of participation: bps × fill quantity / bar volume (≤ 1)."""
    participation: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] | None = None
    """Partial fills: a resting limit order fills at most this share of a bar's volume per
    bar, the rest resting on (None: limit orders fill whole)."""
    maker_fee: FeeRate | None = None
    taker_fee: FeeRate | None = None
    funding_rate: (
        Annotated[float, Field(ge=-MAX_FUNDING_RATE, le=MAX_FUNDING_RATE, allow_inf_nan=False)]
        | None
    ) = Field(default=None, validation_alias=AliasChoices("funding_rate", "futures_funding_rate"))
    """Constant rate per interval for symbols without funding data (None: a backtest's such
    symbols pay no funding; a configured run refuses them); at most ±10 % (twice the widest
    venue cap)."""
    funding_interval_hours: Positive = 8.0
    stake_amount: Positive | Literal["unlimited"] = "unlimited"
    """Margin per entry, or ``"unlimited"``: available balance × tradable_balance_ratio /
    free slots."""
    tradable_balance_ratio: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.99
    max_open_trades: int | None = None
    """At most this many open positions (None: no limit; FreqTrade's -1 is read as None)."""
    instruments: dict[str, InstrumentOverrides] = Field(default_factory=dict)
    tiers: dict[str, list[dict[str, float]]] = Field(default_factory=dict)
    """Tier tables by symbol (rows as in the margin scenario); others use the venue's."""
    interest_rates: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=dict
    )
    """Spot margin: interest rate per asset and per the venue's interest period (Binance: per
    hour; Kraken: per 4-hour rollover), beside the venue's published ones."""
    account_type: Literal["standard", "unified"] | None = None
    """Collateral scopes of a futures account across DEXs (Hyperliquid; MARGIN_SPEC.md §12):
    ``standard`` keeps a cross pool per DEX, ``unified`` one per collateral token; None: one
    account, one cross pool."""
    wallet_balances: dict[str, NonNegative] = Field(default_factory=dict)
    """With ``account_type``: each pool's starting balance, by DEX (``main``, ``xyz``) for
    ``standard``, by collateral token (``USDC``) for ``unified``; they add up to the wallet."""

    @field_validator("trading_mode")
    @classmethod
    def _known_mode(cls, value: str) -> str:
        if value in ("futures", "spot", "margin"):
            return value
        raise ValueError(f'trading_mode: must be "futures", "spot" or "margin", got {value!r}')

    @model_validator(mode="after")
    def _spot_settings(self) -> AccountSettings:
        if self.trading_mode == "futures":
            if self.interest_rates:
                raise ValueError(
                    "interest_rates: futures pay funding, not interest; interest_rates are for "
                    'trading_mode = "margin"'
                )
            return self
        if self.position_mode == "hedge":
            raise ValueError(
                f"position_mode: a {self.trading_mode} account holds assets, it has no hedge "
                "mode, got 'hedge'"
            )
        if self.trading_mode == "spot" and self.leverage != 1.0:
            raise ValueError(f"leverage: spot trades at 1x, got {self.leverage!r}")
        if self.trading_mode == "spot" and self.interest_rates:
            raise ValueError("interest_rates: a spot account does not borrow")
        if self.funding_rate is not None:
            raise ValueError(
                f"futures_funding_rate: a {self.trading_mode} account pays no funding, got "
                f"{self.funding_rate!r}"
            )
        return self

    @model_validator(mode="after")
    def _scope_settings(self) -> AccountSettings:
        if self.account_type is None:
            if self.wallet_balances:
                raise ValueError(
                    "wallet_balances: balances per pool are for an account_type ('standard' or "
                    "'unified'), none is set"
                )
            return self
        if self.trading_mode != "futures":
            raise ValueError(
                f"account_type: collateral scopes pool perpetuals (trading_mode 'futures'), got "
                f"{self.trading_mode!r}"
            )
        if not self.wallet_balances:
            raise ValueError(
                f"wallet_balances: the {self.account_type!r} account names each pool's balance "
                "(standard: by DEX, e.g. main and xyz; unified: by token, e.g. USDC)"
            )
        return self

    @field_validator("max_open_trades")
    @classmethod
    def _open_trades(cls, value: int | None) -> int | None:
        if value is None or value == -1:
            return None
        if value < 1:
            raise ValueError(f"max_open_trades: must be ≥ 1 or -1 (no limit), got {value!r}")
        return value

    @field_validator("tiers")
    @classmethod
    def _valid_tiers(cls, value: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
        for symbol, rows in value.items():
            TierTable.from_rows(rows, venue="config", symbol=symbol)
        return value


class BacktestConfig(AccountSettings):
    """Settings of one run (backtest, paper or live); see docs/backtest.md for each field."""

    venue: str = "binance"
    wallet: Positive = Field(
        default=10_000.0, validation_alias=AliasChoices("wallet", "dry_run_wallet")
    )
    """Starting cross wallet, in the settle currency."""
    clearance_fee_rate: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] | None = None
    liquidation_slippage_bps: NonNegative = 0.0

    def __init__(self, **data: Any) -> None:
        balances = data.get("wallet_balances")
        if (
            balances
            and isinstance(balances, Mapping)
            and not {"wallet", "dry_run_wallet"} & set(data)
        ):
            # the pools' balances are the wallet
            # (a bad value is left to the field's own validation, which names it)
            with contextlib.suppress(TypeError, ValueError):
                data = {**data, "wallet": sum(float(v) for v in balances.values())}
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc)) from None

    @field_validator("venue")
    @classmethod
    def _known_venue(cls, value: str) -> str:
        return venue_name(value)

    @model_validator(mode="after")
    def _scoped_wallet(self) -> BacktestConfig:
        if self.account_type is None:
            return self
        if self.venue != "hyperliquid":
            raise ValueError(
                f"account_type: account types pool collateral across Hyperliquid's DEXs; venue "
                f"is {self.venue}"
            )
        total = sum(self.wallet_balances.values())
        if abs(total - self.wallet) > 1e-9 * max(total, self.wallet):
            raise ValueError(
                f"wallet_balances: they add up to {total:g}, the wallet is {self.wallet:g}; set "
                "the wallet (dry_run_wallet) to their sum or leave it out"
            )
        return self

    @model_validator(mode="after")
    def _spot_venue(self) -> BacktestConfig:
        if self.trading_mode == "futures":
            return self
        if self.venue not in SPOT_VENUES:
            raise ValueError(
                f"venue: {self.venue} has no spot-margin profile; spot and margin run on "
                f"{', '.join(sorted(set(SPOT_VENUES) & set(VENUES)))}"
            )
        levels = get_spot_venue(self.venue).levels(self.margin_mode == "isolated")
        if self.trading_mode == "margin" and levels is None:
            raise ValueError(f"margin_mode: {self.venue} has no {self.margin_mode} margin")
        if (
            levels is not None
            and self.trading_mode == "margin"
            and (self.leverage > levels.max_leverage)
        ):
            raise ValueError(
                f"leverage: {self.leverage!r} is above {self.venue}'s {self.margin_mode} "
                f"margin maximum {levels.max_leverage:g}"
            )
        return self

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> BacktestConfig:
        """Build from a mapping (a parsed TOML/JSON document)."""
        if not isinstance(values, Mapping):
            raise ConfigError(f"config: expected a mapping of settings, got {values!r}")
        return cls(**dict(values))

    @classmethod
    def from_file(cls, path: str | Path) -> BacktestConfig:
        """Load a ``.toml`` or ``.json`` file; a ``[backtest]`` table is used when present."""
        file = Path(path)
        try:
            text = file.read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"config: cannot read {str(file)!r}: {exc.strerror}") from None
        try:
            if file.suffix.lower() == ".toml":
                document: Any = tomllib.loads(text)
            elif file.suffix.lower() == ".json":
                document = json.loads(text)
            else:
                raise ConfigError(f"config: {str(file)!r} is neither .toml nor .json")
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"config: {str(file)!r} does not parse: {exc}") from None
        except RecursionError:
            raise ConfigError(f"config: {str(file)!r} nests too deeply to be read") from None
        if isinstance(document, dict) and isinstance(document.get("backtest"), dict):
            document = document["backtest"]
        return cls.from_dict(document)

    # -- what a run is built from --------------------------------------------------------------
    def venue_profile(self) -> VenueProfile:
        """The venue's profile with the clearance fee override applied."""
        profile = get_venue(self.venue)
        if self.clearance_fee_rate is None:
            return profile
        return dataclasses.replace(
            profile, clearance_fee_rate=self.clearance_fee_rate, clearance_fee_rates={}
        )

    def spot_venue_profile(self) -> SpotMarginProfile | None:
        """The venue's spot and spot-margin profile (None for a futures run)."""
        return None if self.trading_mode == "futures" else get_spot_venue(self.venue)

    def instrument(self, symbol: str) -> Instrument:
        """The instrument traded for ``symbol``: the venue's (a spot pair for spot and
        margin), with the fee overrides and the symbol's own overrides."""
        fields: dict[str, float] = {}
        if self.maker_fee is not None:
            fields["maker_fee"] = self.maker_fee
        if self.taker_fee is not None:
            fields["taker_fee"] = self.taker_fee
        spec = self.instruments.get(symbol)
        if spec is not None:
            fields.update(spec.model_dump(exclude_none=True))
        if self.trading_mode != "futures":
            return spot_instrument_for(self.venue, symbol, **fields)
        return instrument_for(self.venue, symbol, **fields)

    def tier_table(self, instrument: Instrument) -> TierTable:
        """The tier table for an instrument: the config's rows, else the venue's shipped one.
        A spot pair has one tier and no maintenance margin, its maximum leverage the
        account's: 1 for spot, the venue's margin maximum for margin."""
        spot = self.spot_venue_profile()
        if spot is not None:
            levels = spot.levels(self.margin_mode == "isolated")
            ceiling = 1.0 if self.trading_mode == "spot" or levels is None else levels.max_leverage
            return TierTable.from_rows(
                [{"floor": 0.0, "mmr": 0.0, "max_leverage": ceiling}],
                venue=self.venue,
                symbol=instrument.symbol,
                source="spot",
            )
        rows = self.tiers.get(instrument.symbol)
        if rows is not None:
            return TierTable.from_rows(
                rows, venue=self.venue, symbol=instrument.symbol, source="config"
            )
        try:
            return default_tiers(self.venue, instrument.symbol)
        except LevtradeError as exc:
            raise UnknownSymbolError(
                f"tiers: no tier table for {instrument.symbol} on {self.venue}; give one in "
                f"BacktestConfig.tiers ({exc})"
            ) from None

    @property
    def slippage(self) -> float:
        """Fixed slippage as a fraction."""
        return self.slippage_bps / 10_000.0

    @property
    def volume_slippage(self) -> float:
        return self.volume_slippage_bps / 10_000.0

    @property
    def liquidation_slippage(self) -> float:
        return self.liquidation_slippage_bps / 10_000.0
