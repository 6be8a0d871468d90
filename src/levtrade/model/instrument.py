"""Instruments: CCXT unified symbols and their contract specification.

``BTC/USDT:USDT`` is a linear perpetual settled in USDT, ``BTC/USD:BTC`` an inverse perpetual
settled in BTC, ``BTC/USDT`` spot. A builder-deployed (HIP-3) Hyperliquid perpetual is named
``DEX-COIN/QUOTE:SETTLE`` as ccxt names it (``XYZ-AAPL/USDC:USDC``): its base is ``XYZ-AAPL``, its
DEX ``xyz``, and it settles in that DEX's collateral token.

Sizes are signed contracts; base amount = contracts × contract size. Rounding to lot and tick
happens only where orders are created. The contract arithmetic (notional, PnL, funding) is
margin math: :mod:`levtrade.margin.contracts`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, NamedTuple

from levtrade.errors import ConfigError, UnknownSymbolError
from levtrade.model.positions import MarketMarginRule

_SYMBOL = re.compile(
    r"(?P<base>\w+(?:[-.]\w+)*)/(?P<quote>\w+)"
    r"(?::(?P<settle>\w+)(?:-(?P<expiry>[^-]+)(?P<option>-.*)?)?)?"
)
"""ccxt's unified symbol, ``BASE/QUOTE[:SETTLE[-YYMMDD[-STRIKE-C|P]]]``. Codes are letters
and digits in any script (Binance lists ``哈基米/USDT:USDT``); a base may hold inner ``-`` or
``.`` (Hyperliquid's builder-deployed markets, ``XYZ-AAPL/USDC:USDC``)."""

_USD_STABLECOINS = frozenset({"USDC", "USDT", "USDE", "USDH", "USD1", "FDUSD", "DAI"})
"""Settle currencies of contracts quoted in ``USD`` that ccxt marks linear (dYdX's and
Paradex's ``ETH/USD:USDC``): money is counted in the stablecoin, one for one with USD."""

_SHAPES = "BTC/USDT:USDT linear, BTC/USD:BTC inverse, BTC/USDT:USDT-251226 dated, BTC/USDT spot"


class ContractKind(StrEnum):
    """How a contract's PnL and notional are computed."""

    LINEAR = "linear"
    INVERSE = "inverse"
    SPOT = "spot"


@dataclass(frozen=True)
class Instrument:
    """A tradable market and its contract specification."""

    symbol: str
    base: str
    quote: str
    settle: str | None
    kind: ContractKind
    contract_size: float = 1.0
    tick_size: float = 0.0
    """Price increment; 0 means prices are not rounded."""
    lot_size: float = 0.0
    """Size increment in contracts; 0 means sizes are not rounded."""
    min_notional: float = 0.0
    maker_fee: float = 0.0002
    taker_fee: float = 0.0005
    funding_interval_hours: float = 8.0
    venue: str = ""
    expiry: str | None = None
    margin_rule: MarketMarginRule = MarketMarginRule.ANY
    """The margin modes the market allows (a Hyperliquid no-cross or strict-isolated market)."""

    def __post_init__(self) -> None:
        for name in ("contract_size",):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{self.symbol}: {name} must be > 0, got {value!r}")
        for name in ("tick_size", "lot_size", "min_notional"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{self.symbol}: {name} must be ≥ 0, got {value!r}")
        for name in ("maker_fee", "taker_fee"):
            value = getattr(self, name)
            if not (math.isfinite(value) and -0.01 < value < 0.1):
                raise ConfigError(f"{self.symbol}: {name} must be a fee rate, got {value!r}")
        if not (math.isfinite(self.funding_interval_hours) and self.funding_interval_hours > 0):
            raise ConfigError(
                f"{self.symbol}: funding_interval_hours must be > 0, "
                f"got {self.funding_interval_hours!r}"
            )

    @classmethod
    def parse(cls, symbol: str, **overrides: Any) -> Instrument:
        """Parse a CCXT unified symbol; ``overrides`` set the contract specification."""
        parts = split_ccxt_symbol(symbol)
        text = symbol.strip()
        dex, dash, _ = parts.base.partition("-")
        if dash and not parts.settle:
            raise UnknownSymbolError(
                f"symbol: {text!r} names a DEX ({dex}-); DEX markets are perpetuals "
                "(DEX-COIN/QUOTE:SETTLE)"
            )
        if not parts.settle:
            kind = ContractKind.SPOT
        elif parts.settle == parts.quote:
            kind = ContractKind.LINEAR
        elif parts.settle == parts.base:
            kind = ContractKind.INVERSE
        elif parts.quote == "USD" and parts.settle in _USD_STABLECOINS:
            kind = ContractKind.LINEAR
        else:
            raise UnknownSymbolError(
                f"symbol: {text!r} settles in {parts.settle}, neither its base {parts.base} nor "
                f"its quote {parts.quote} (a quanto contract, which levtrade does not model)"
            )
        fields: dict[str, Any] = {
            "symbol": text,
            "base": parts.base,
            "quote": parts.quote,
            "settle": parts.settle or None,
            "kind": kind,
            "expiry": parts.expiry or None,
        }
        return cls(**(fields | overrides))

    @property
    def is_inverse(self) -> bool:
        return self.kind is ContractKind.INVERSE

    @property
    def is_derivative(self) -> bool:
        return self.kind is not ContractKind.SPOT

    @property
    def dex(self) -> str:
        """The builder-deployed DEX of a HIP-3 market, lower case (``xyz``); empty for the rest."""
        head, dash, _ = self.base.partition("-")
        return head.lower() if dash else ""

    @property
    def margin_currency(self) -> str:
        """The currency money is counted in: the settle currency (quote for spot)."""
        return self.settle or self.quote

    def round_size(self, size: float) -> float:
        """Round a size toward zero to the lot (orders only, never inside formulas)."""
        if self.lot_size <= 0:
            return size
        lots = math.floor(abs(size) / self.lot_size + 1e-9)
        return math.copysign(lots * self.lot_size, size)

    def round_price(self, price: float) -> float:
        """Round a price to the nearest tick (orders only)."""
        if self.tick_size <= 0:
            return price
        return round(price / self.tick_size) * self.tick_size


class SymbolParts(NamedTuple):
    """A ccxt unified symbol split: ``BASE/QUOTE[:SETTLE[-EXPIRY]]``."""

    base: str
    quote: str
    settle: str
    """Empty for spot."""
    expiry: str
    """``YYMMDD`` for dated futures, empty for perpetuals and spot."""


def split_ccxt_symbol(symbol: str) -> SymbolParts:
    """Split a ccxt unified symbol (the one parser of symbols: :meth:`Instrument.parse` and the
    venue symbol mappers read it). Options are refused: levtrade trades spot, perpetuals and
    dated futures."""
    text = symbol.strip() if isinstance(symbol, str) else None
    match = _SYMBOL.fullmatch(text) if text is not None else None
    if text is None or match is None:
        raise UnknownSymbolError(f"symbol: {symbol!r} is not a CCXT unified symbol ({_SHAPES})")
    expiry = match["expiry"] or ""
    if match["option"] is not None:
        raise UnknownSymbolError(
            f"symbol: {text!r} is an option (BASE/QUOTE:SETTLE-EXPIRY-STRIKE-TYPE); levtrade "
            "trades spot, perpetuals and dated futures"
        )
    if expiry and not _is_expiry(expiry):
        raise UnknownSymbolError(
            f"symbol: {text!r} has expiry {expiry!r}; a dated future's is YYMMDD, such as "
            "BTC/USDT:USDT-251226"
        )
    return SymbolParts(match["base"], match["quote"], match["settle"] or "", expiry)


def _is_expiry(text: str) -> bool:
    """Whether ``text`` is a ``YYMMDD`` date."""
    if len(text) != 6 or not text.isdigit():
        return False
    try:
        date(2000 + int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError:
        return False
    return True
