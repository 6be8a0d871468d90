"""What differs between venues behind ccxt's unified API, as data and small functions.

ccxt unifies the calls; the venues still differ in how a client order id may look, how a
conditional order is asked for, how an account's position mode is read and set, and how a
liquidation, an auto-deleveraging and a funding payment show in what they report. Each
:class:`Dialect` answers those questions for one venue; the adapter asks it and stays the same.

* Binance USDⓈ-M (the reference, tested end to end against the local venue): client ids up to
  36 characters of ``[.A-Z:/a-z0-9_-]``; conditional orders on the algo service (``trigger``);
  a liquidation is an order whose client id starts ``autoclose-``, an ADL one whose id is
  ``adl_autoclose`` (``settlement_autoclose-`` a delisting settlement); funding and
  clearances are income records (``FUNDING_FEE``, ``INSURANCE_CLEAR``).
* Bybit: ``orderLinkId`` up to 36 characters of letters, digits, ``-`` and ``_``; executions
  of type ``BustTrade`` (liquidation) and ``AdlTrade``; funding as executions of type
  ``Funding`` (``fetch_funding_history``); a closing execution's realized PnL is its
  ``execPnl``.
* OKX: ``clOrdId`` 1–32 letters and digits; an order's ``category`` is
  ``full_liquidation``/``partial_liquidation`` or ``adl``; funding as bills of type 8; a fill's
  realized PnL is its ``fillPnl``.
* Hyperliquid: a client id is a 128-bit hex string (``0x`` + 32 hex digits): ours are hashed
  to one; the fill of a liquidated trader carries a ``liquidation`` object naming them; funding
  from ``userFunding`` (``fetch_funding_history``), identified by coin and time; a fill's
  realized PnL is its ``closedPnl``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from levtrade.errors import ConfigError


@dataclass(frozen=True)
class Dialect:
    """One venue's differences (module docstring)."""

    name: str
    ccxt_id: str
    client_id_pattern: str
    """What the venue accepts as a client order id."""
    hedge_mode: bool = True
    """Whether the venue offers hedge mode (both legs of a symbol at once)."""
    trigger_params: tuple[tuple[str, Any], ...] = (("trigger", True),)
    """Parameters that make ccxt fetch, list or cancel conditional orders."""
    integer_leverage: bool = True
    funding_from: str = "ledger"
    """Where funding payments are read: the account's ``ledger`` (``fetch_ledger``) or its
    ``funding_history`` (``fetch_funding_history``)."""
    realized_field: str | None = "realizedPnl"
    """The field of a fill's ``info`` holding the PnL it realized (None: the venue does not
    report it per fill)."""

    # -- client order ids ----------------------------------------------------------------------
    def encode_client_id(self, canonical: str) -> str:
        """Our id (:mod:`levtrade.live.ids`) in the form the venue accepts."""
        if self.name == "okx":
            encoded = canonical.replace(".", "X")
        elif self.name == "bybit":
            encoded = canonical.replace(".", "_")
        elif self.name == "hyperliquid":
            encoded = "0x" + hashlib.sha256(canonical.encode()).hexdigest()[:32]
        else:
            encoded = canonical
        if not re.fullmatch(self.client_id_pattern, encoded):
            raise ConfigError(f"client order id {encoded!r} is not one {self.name} accepts")
        return encoded

    def client_id_of(self, order: dict[str, Any]) -> str | None:
        """The client order id of a ccxt order structure."""
        value = order.get("clientOrderId")
        if value:
            return str(value)
        info = order.get("info") or {}
        for key in ("clientOrderId", "clientAlgoId", "orderLinkId", "clOrdId", "algoClOrdId",
                    "cloid", "c"):  # fmt: skip
            if info.get(key):
                return str(info[key])
        return None

    def client_id_params(self, client_id: str, *, trigger: bool) -> dict[str, Any]:
        """Parameters asking the venue for the order with ``client_id``."""
        if self.name == "binance":
            key = "clientAlgoId" if trigger else "origClientOrderId"
            return {key: client_id, **(dict(self.trigger_params) if trigger else {})}
        if self.name == "bybit":
            return {"orderLinkId": client_id, **(dict(self.trigger_params) if trigger else {})}
        if self.name == "okx":
            key = "algoClOrdId" if trigger else "clOrdId"
            return {key: client_id, **(dict(self.trigger_params) if trigger else {})}
        return {"clientOrderId": client_id}

    # -- what the venue did ----------------------------------------------------------------------
    def forced_kind(
        self, trade: dict[str, Any], order: dict[str, Any] | None, account: str | None = None
    ) -> str | None:
        """``liquidation`` or ``adl`` when the venue closed the position itself (the fill of
        ``trade``, its order ``order`` when known; ``account`` the trader's address where the
        venue names it), else None."""
        info = trade.get("info") or {}
        if self.name == "binance":
            client = self.client_id_of(order) if order is not None else None
            if client is None:
                return None
            if client.startswith("adl_autoclose"):
                return "adl"
            if client.startswith("autoclose-") or client.startswith("settlement_autoclose-"):
                return "liquidation"
            return None
        if self.name == "bybit":
            kind = str(info.get("execType", ""))
            return {"BustTrade": "liquidation", "AdlTrade": "adl"}.get(kind)
        if self.name == "okx":
            category = str((order or {}).get("info", {}).get("category", "") or "")
            if category in ("full_liquidation", "partial_liquidation"):
                return "liquidation"
            if category == "adl":
                return "adl"
            sub = str(info.get("subType", ""))
            return {"100": "liquidation", "101": "liquidation", "106": "adl"}.get(sub)
        if self.name == "hyperliquid":
            liquidation = info.get("liquidation") or {}
            liquidated = str(liquidation.get("liquidatedUser") or "").lower()
            if liquidated and (account is None or liquidated == account.lower()):
                return "liquidation"
            return "adl" if "Auto-Deleveraging" in str(info.get("dir", "")) else None
        return None

    def funding_id(self, entry: dict[str, Any]) -> str:
        """A funding payment's id, unique on the venue (Hyperliquid's ``hash`` is all zeros for
        funding: its coin and time are)."""
        if self.name == "hyperliquid":
            delta = (entry.get("info") or {}).get("delta") or {}
            return f"funding:{delta.get('coin')}:{entry.get('timestamp')}"
        return str(entry.get("id"))

    def income_kind(self, entry: dict[str, Any]) -> str | None:
        """What a ccxt ledger entry is to the store: ``funding``, ``clearance``, ``transfer``,
        or None (realized PnL and commissions come with the fills)."""
        info = entry.get("info") or {}
        if self.name == "binance":
            kind = str(info.get("incomeType", ""))
            return {
                "FUNDING_FEE": "funding",
                "INSURANCE_CLEAR": "clearance",
                "TRANSFER": "transfer",
            }.get(kind)
        if self.name == "bybit":
            kind = str(info.get("type", "") or entry.get("type", ""))
            return {"TRANSFER_IN": "transfer", "TRANSFER_OUT": "transfer"}.get(kind)
        if self.name == "okx":
            kind = str(info.get("type", ""))
            return {"8": "funding", "1": "transfer", "5": "clearance"}.get(kind)
        if self.name == "hyperliquid":
            delta = info.get("delta") or {}
            kind = str(delta.get("type", ""))
            return {"deposit": "transfer", "withdraw": "transfer"}.get(kind)
        return None


BINANCE = Dialect(
    name="binance",
    ccxt_id="binanceusdm",
    client_id_pattern=r"[.A-Za-z0-9:/_-]{1,36}",
)
BYBIT = Dialect(
    name="bybit",
    ccxt_id="bybit",
    client_id_pattern=r"[A-Za-z0-9_-]{1,36}",
    funding_from="funding_history",
    realized_field="execPnl",
)
OKX = Dialect(
    name="okx",
    ccxt_id="okx",
    client_id_pattern=r"[A-Za-z0-9]{1,32}",
    realized_field="fillPnl",
)
HYPERLIQUID = Dialect(
    name="hyperliquid",
    ccxt_id="hyperliquid",
    client_id_pattern=r"0x[0-9a-f]{32}",
    hedge_mode=False,
    trigger_params=(),
    integer_leverage=True,
    funding_from="funding_history",
    realized_field="closedPnl",
)
DIALECTS = {d.name: d for d in (BINANCE, BYBIT, OKX, HYPERLIQUID)}
_ALIASES = {"binanceusdm": "binance", "binance": "binance", "bybit": "bybit", "okx": "okx",
            "myokx": "okx", "hyperliquid": "hyperliquid"}  # fmt: skip


def dialect_for(exchange: str) -> Dialect:
    """The dialect of a venue by levtrade's or ccxt's name (``binance``, ``binanceusdm`` ...)."""
    name = _ALIASES.get(exchange.strip().lower())
    if name is None:
        known = ", ".join(sorted(_ALIASES))
        raise ConfigError(f"exchange.name: levtrade trades on {known}; got {exchange!r}")
    return DIALECTS[name]
