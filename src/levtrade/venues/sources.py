"""Where tier tables come from: venue responses, ccxt output, files, and a dated fetch cache.

Every parser returns :class:`~levtrade.margin.tiers.TierTable` objects keyed by ccxt symbol, in
notional of the settle currency (MARGIN_SPEC.md §0). Where a venue publishes its maintenance
amount (Binance ``cum``, Bybit deduction) it is checked against the continuity recursion
``D_k = D_{k−1} + floor_k·(MMR_k − MMR_{k−1})`` (§1.1, §3): a mismatch means a corrupted or
misread table and is an error. Where a venue publishes none it is derived the same way
(Hyperliquid, §2.2), except OKX, whose maintenance margin has no deduction (§3).

A table fetched from a venue is as of the day it was fetched: :func:`fetch_tiers` stores the raw
response in ``<cache_dir>/<venue>-<YYYY-MM-DD>.json`` (``.json.gz`` compressed) and that day
becomes the tables' effective date, so a cache directory filled over time is a dated history for
:class:`~levtrade.venues.registry.TierRegistry`. :func:`import_tier_file` adds a tier file
(FreqTrade's ``binance_leverage_tiers.json``, a ccxt dump, Binance's brackets) to such a
directory under the date it was taken; levtrade's own full tables are shipped in this format.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from levtrade._jit import plain
from levtrade.errors import ConfigError, TierTableError, UnknownSymbolError
from levtrade.margin import formulas
from levtrade.margin.tiers import Tier, TierTable
from levtrade.model.instrument import split_ccxt_symbol
from levtrade.venues.registry import ccxt_symbol, unified_symbol, venue_name

_AMOUNT_ABS_TOL = 0.005
"""Half a cent: published maintenance amounts are in the settle currency."""
_AMOUNT_REL_TOL = 1e-9
_MAINTENANCE_AMOUNTS = plain(formulas.maintenance_amounts)
"""The formula's plain original: a loop over a table's few tiers, run once per table, costs
less than Numba's dispatch (and, in a fresh process, loading Numba)."""

CACHE_VERSION = 1
_CACHE_NAME = re.compile(r"^(?P<venue>[a-z0-9]+)-(?P<day>\d{4}-\d{2}-\d{2})\.json(?P<gz>\.gz)?$")
_FORMAT_CCXT = "ccxt_leverage_tiers"
_FORMAT_HYPERLIQUID = "hyperliquid_meta"
_FORMAT_BRACKETS = "binance_leverage_brackets"
_FORMATS = (_FORMAT_CCXT, _FORMAT_HYPERLIQUID, _FORMAT_BRACKETS)


class _Row(NamedTuple):
    floor: float
    cap: float | None
    mmr: float
    amount: float | None
    max_leverage: float


# ------------------------------------------------------------------------------------------
# Shared helpers
# ------------------------------------------------------------------------------------------


def _optional_number(obj: Mapping[str, Any], keys: tuple[str, ...], where: str) -> float | None:
    """The first of ``keys`` present in ``obj`` as a finite float (numbers or numeric strings);
    None when none is present (an empty string counts as absent, as Bybit sends it)."""
    for key in keys:
        value = obj.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, bool):
            raise TierTableError(f"{where}: {key} must be a number, got {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TierTableError(f"{where}: {key} must be a number, got {value!r}") from None
        if not math.isfinite(number):
            raise TierTableError(f"{where}: {key} must be a finite number, got {value!r}")
        return number
    return None


def _number(obj: Mapping[str, Any], keys: tuple[str, ...], where: str) -> float:
    """Like :func:`_optional_number`, but a missing field is an error naming it."""
    number = _optional_number(obj, keys, where)
    if number is None:
        raise TierTableError(f"{where}: missing field {' or '.join(repr(k) for k in keys)}")
    return number


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TierTableError(f"{where}: expected an object, got {_describe(value)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise TierTableError(f"{where}: expected a list, got {_describe(value)}")
    if not value:
        raise TierTableError(f"{where}: the list of tiers is empty")
    return value


def _describe(value: Any) -> str:
    if isinstance(value, Mapping):
        keys = list(value)[:5]
        return f"an object with keys {keys!r}" if keys else "an empty object"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    return f"{type(value).__name__} {value!r}"[:120]


def _build_table(
    venue: str,
    symbol: str,
    rows: Sequence[_Row],
    *,
    amount_field: str,
    effective_date: date | None,
    source: str,
) -> TierTable:
    """A table from rows in the venue's order; published amounts are checked, missing ones
    derived, both by the continuity recursion."""
    for k, row in enumerate(rows):
        if not 0.0 <= row.mmr < 1.0:
            raise TierTableError(
                f"{venue} {symbol!r} tier {k + 1}: maintenance margin rate (mmr) must be a "
                f"fraction in [0, 1), got {row.mmr!r}"
            )
        if not row.max_leverage > 0.0:
            raise TierTableError(
                f"{venue} {symbol!r} tier {k + 1}: max_leverage must be > 0, "
                f"got {row.max_leverage!r}"
            )
    for k in range(1, len(rows)):
        if not rows[k].floor > rows[k - 1].floor:
            raise TierTableError(
                f"{venue} {symbol!r} tier {k + 1}: floor {rows[k].floor!r} is not above the "
                f"previous tier's floor {rows[k - 1].floor!r} (tiers must be in ascending order)"
            )
    floors = np.array([r.floor for r in rows], dtype=np.float64)
    mmrs = np.array([r.mmr for r in rows], dtype=np.float64)
    derived = _MAINTENANCE_AMOUNTS(floors, mmrs)
    tiers = []
    for k, row in enumerate(rows):
        expected = float(derived[k])
        if row.amount is not None and not math.isclose(
            row.amount, expected, rel_tol=_AMOUNT_REL_TOL, abs_tol=_AMOUNT_ABS_TOL
        ):
            raise TierTableError(
                f"{venue} {symbol!r} tier {k + 1}: {amount_field} {row.amount!r} does not match "
                f"the recursion D_k = D_(k-1) + floor_k·(MMR_k − MMR_(k-1)) = {expected!r}"
            )
        amount = expected if row.amount is None else row.amount
        if row.cap is not None:
            cap = row.cap
        else:
            cap = rows[k + 1].floor if k + 1 < len(rows) else math.inf
        tiers.append(Tier(row.floor, cap, row.mmr, amount, row.max_leverage))
    return TierTable(venue, symbol, tuple(tiers), effective_date, source)


def _legacy_or_venue_key(venue: str, key: str) -> str:
    """A tier file's market key as a ccxt symbol.

    ccxt keyed Binance USDⓈ-M perpetuals ``BASE/QUOTE`` until its 2022 unified-symbol change
    (the 2022 freqtrade snapshots), and leaves delisted markets under the venue's raw id.
    """
    if "/" not in key:
        return ccxt_symbol(venue, key)
    parts = split_ccxt_symbol(key)
    if parts.settle:
        return key
    settle = parts.base if parts.quote == "USD" else parts.quote
    return f"{key}:{settle}"


# ------------------------------------------------------------------------------------------
# ccxt fetch_leverage_tiers() output (current and 2022-era formats)
# ------------------------------------------------------------------------------------------


def parse_ccxt_leverage_tiers(
    data: Any,
    *,
    venue: str,
    effective_date: date | None = None,
    source: str = "ccxt fetch_leverage_tiers",
) -> list[TierTable]:
    """Tables from ccxt ``fetch_leverage_tiers()`` output: ``{symbol: [tier, ...]}``.

    Reads the unified fields (``minNotional``/``maxNotional``/``maintenanceMarginRate``/
    ``maxLeverage``; 2022-era ``notionalFloor``/``notionalCap``/``maintenanceMarginRatio``) and
    the venue's maintenance amount from ``info`` (Binance ``cum``, Bybit ``mmDeduction``) or
    FreqTrade's ``maintAmt``, checked against the recursion. OKX's ccxt tiers are in contracts,
    not notional: use :func:`parse_okx_position_tiers` for them.
    """
    name = venue_name(venue)
    if name == "okx":
        raise TierTableError(
            "venue okx: ccxt's OKX tiers count contracts (minSz/maxSz), not notional; parse "
            "them with parse_okx_position_tiers(..., notional_per_contract=...)"
        )
    markets = _mapping(data, f"{name} leverage tiers")
    tables: dict[str, TierTable] = {}
    for key, tiers in markets.items():
        if not isinstance(key, str):
            raise TierTableError(f"{name} leverage tiers: market key {key!r} is not a string")
        symbol = _legacy_or_venue_key(name, key)
        if symbol in tables:
            raise TierTableError(
                f"{name} leverage tiers: {key!r} names the same market as another key ({symbol!r})"
            )
        rows = []
        amount_field = "maintenance amount"
        for k, raw in enumerate(_list(tiers, f"{name} leverage tiers {key!r}")):
            where = f"{name} {key!r} tier {k + 1}"
            tier = _mapping(raw, where)
            info = tier.get("info")
            info = info if isinstance(info, Mapping) else {}
            amount = None
            for holder, field in ((info, "cum"), (info, "mmDeduction"), (tier, "maintAmt")):
                amount = _optional_number(holder, (field,), where)
                if amount is not None:
                    amount_field = field
                    break
            floor = _number(tier, ("minNotional", "notionalFloor"), where)
            cap = _number(tier, ("maxNotional", "notionalCap"), where)
            mmr = _number(tier, ("maintenanceMarginRate", "maintenanceMarginRatio"), where)
            max_leverage = _number(tier, ("maxLeverage",), where)
            rows.append(_Row(floor, cap, mmr, amount, max_leverage))
        tables[symbol] = _build_table(
            name,
            symbol,
            rows,
            amount_field=amount_field,
            effective_date=effective_date,
            source=source,
        )
    if not tables:
        raise TierTableError(f"{name} leverage tiers: no markets in the data")
    return list(tables.values())


# ------------------------------------------------------------------------------------------
# Binance GET /fapi/v1/leverageBracket
# ------------------------------------------------------------------------------------------


def parse_binance_leverage_brackets(
    data: Any,
    *,
    effective_date: date | None = None,
    source: str = "Binance GET /fapi/v1/leverageBracket",
) -> list[TierTable]:
    """Tables from Binance's ``leverageBracket`` response: a list of ``{symbol, brackets}``
    or one such object. COIN-M brackets (``qtyFloor``/``qtyCap``) are read as coin notional."""
    entries = [data] if isinstance(data, Mapping) else data
    entries = _list(entries, "binance leverageBracket")
    tables: dict[str, TierTable] = {}
    for i, raw in enumerate(entries):
        entry = _mapping(raw, f"binance leverageBracket[{i}]")
        venue_id = entry.get("symbol")
        if not isinstance(venue_id, str) or not venue_id:
            raise TierTableError(
                f"binance leverageBracket[{i}]: symbol must be a Binance id, got {venue_id!r}"
            )
        symbol = ccxt_symbol("binance", venue_id)
        if symbol in tables:
            raise TierTableError(f"binance leverageBracket: {venue_id!r} appears twice")
        rows = []
        brackets = _list(entry.get("brackets"), f"binance leverageBracket {venue_id!r} brackets")
        for k, raw_bracket in enumerate(brackets):
            where = f"binance {venue_id!r} bracket {k + 1}"
            bracket = _mapping(raw_bracket, where)
            floor = _number(bracket, ("notionalFloor", "qtyFloor"), where)
            cap = _number(bracket, ("notionalCap", "qtyCap"), where)
            mmr = _number(bracket, ("maintMarginRatio",), where)
            max_leverage = _number(bracket, ("initialLeverage",), where)
            cum = _optional_number(bracket, ("cum",), where)
            rows.append(_Row(floor, cap, mmr, cum, max_leverage))
        tables[symbol] = _build_table(
            "binance",
            symbol,
            rows,
            amount_field="cum",
            effective_date=effective_date,
            source=source,
        )
    return list(tables.values())


# ------------------------------------------------------------------------------------------
# Hyperliquid info {"type": "meta"}
# ------------------------------------------------------------------------------------------

_HL_SINGLE_TIER_IDS = 50
"""Margin table ids below 50 are a single tier with max leverage = id (MARGIN_SPEC.md §2.2)."""


def parse_hyperliquid_meta(
    meta: Any,
    *,
    effective_date: date | None = None,
    source: str = "Hyperliquid info meta",
) -> list[TierTable]:
    """Tables from Hyperliquid's ``meta`` response (or ``metaAndAssetCtxs``, whose first
    element is the meta).

    Each asset's ``marginTableId`` selects a table in ``marginTables``; ids below 50 are one tier
    at ``maxLeverage = id``, and an asset without an id (older responses) is one tier at its
    ``maxLeverage``. MMR = 1/(2·maxLeverage); deductions follow the recursion (§2.2).
    """
    if isinstance(meta, list) and meta and isinstance(meta[0], Mapping):
        meta = meta[0]
    document = _mapping(meta, "hyperliquid meta")
    universe = _list(document.get("universe"), "hyperliquid meta universe")
    margin_tables: dict[int, list[Any]] = {}
    raw_tables = document.get("marginTables", [])
    if not isinstance(raw_tables, list):
        raise TierTableError(
            f"hyperliquid meta marginTables: expected a list, got {_describe(raw_tables)}"
        )
    for i, pair in enumerate(raw_tables):
        where = f"hyperliquid meta marginTables[{i}]"
        if not (isinstance(pair, list) and len(pair) == 2):
            raise TierTableError(f"{where}: expected [id, table], got {_describe(pair)}")
        table_id = _table_id(pair[0], where)
        body = _mapping(pair[1], where)
        margin_tables[table_id] = _list(body.get("marginTiers"), f"{where} marginTiers")
    tables = []
    for i, raw in enumerate(universe):
        asset = _mapping(raw, f"hyperliquid meta universe[{i}]")
        coin = asset.get("name")
        if not isinstance(coin, str) or not coin:
            raise TierTableError(
                f"hyperliquid meta universe[{i}]: name must be a coin, got {coin!r}"
            )
        where = f"hyperliquid {coin!r}"
        symbol = ccxt_symbol("hyperliquid", coin)
        raw_id = asset.get("marginTableId")
        if raw_id is None:
            max_leverage = _number(asset, ("maxLeverage",), where)
            rows = [_Row(0.0, None, _hl_mmr(max_leverage, where), None, max_leverage)]
        else:
            table_id = _table_id(raw_id, f"{where} marginTableId")
            if table_id < _HL_SINGLE_TIER_IDS:
                lev = float(table_id)
                rows = [_Row(0.0, None, _hl_mmr(lev, where), None, lev)]
            elif table_id in margin_tables:
                rows = []
                for k, raw_tier in enumerate(margin_tables[table_id]):
                    tier_where = f"{where} margin table {table_id} tier {k + 1}"
                    tier = _mapping(raw_tier, tier_where)
                    floor = _number(tier, ("lowerBound",), tier_where)
                    lev_k = _number(tier, ("maxLeverage",), tier_where)
                    rows.append(_Row(floor, None, _hl_mmr(lev_k, tier_where), None, lev_k))
            else:
                raise TierTableError(
                    f"{where}: marginTableId {table_id} is not in marginTables "
                    f"(ids: {sorted(margin_tables)})"
                )
        tables.append(
            _build_table(
                "hyperliquid",
                symbol,
                rows,
                amount_field="deduction",
                effective_date=effective_date,
                source=source,
            )
        )
    return tables


def _table_id(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TierTableError(
            f"{where}: margin table id must be a non-negative integer, got {value!r}"
        )
    return value


def _hl_mmr(max_leverage: float, where: str) -> float:
    if not max_leverage >= 1:
        raise TierTableError(f"{where}: maxLeverage must be ≥ 1, got {max_leverage!r}")
    return 1.0 / (2.0 * max_leverage)


# ------------------------------------------------------------------------------------------
# Bybit risk limits
# ------------------------------------------------------------------------------------------


def parse_bybit_risk_limits(
    data: Any,
    *,
    symbol: str | None = None,
    effective_date: date | None = None,
    source: str = "Bybit GET /v5/market/risk-limit",
) -> list[TierTable]:
    """Tables from Bybit risk-limit rows (the v5 ``/v5/market/risk-limit`` response, its
    ``list``, or rows as on the Margin Parameters page).

    Row fields: ``riskLimitValue``/``riskLimit`` (the tier's cap; its floor is the previous
    cap), ``maintenanceMargin``/``maintenanceMarginRate`` (a fraction), ``maxLeverage`` and
    optionally ``mmDeduction``/``maintenanceMarginDeduction``, checked against Bybit's recursion
    (§3). Rows are grouped by their ``symbol``; ``symbol=`` names the market for rows without
    one, or selects one market from many.
    """
    rows = _bybit_rows(data)
    wanted = unified_symbol("bybit", symbol) if symbol is not None else None
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for i, raw in enumerate(rows):
        row = _mapping(raw, f"bybit risk limits[{i}]")
        row_id = row.get("symbol")
        if row_id is None:
            if wanted is None:
                raise TierTableError(
                    f"bybit risk limits[{i}]: the row has no symbol; pass symbol=..."
                )
            row_symbol = wanted
        elif isinstance(row_id, str):
            row_symbol = ccxt_symbol("bybit", row_id)
        else:
            raise TierTableError(f"bybit risk limits[{i}]: symbol must be a string, got {row_id!r}")
        if wanted is None or row_symbol == wanted:
            groups.setdefault(row_symbol, []).append(row)
    if not groups:
        raise UnknownSymbolError(f"bybit risk limits: no rows for symbol {symbol!r}")
    tables = []
    for market, market_rows in groups.items():
        parsed = []
        previous_cap = 0.0
        for k, row in enumerate(market_rows):
            where = f"bybit {market!r} tier {k + 1}"
            cap = _number(row, ("riskLimitValue", "riskLimit"), where)
            mmr = _number(row, ("maintenanceMargin", "maintenanceMarginRate"), where)
            max_leverage = _number(row, ("maxLeverage",), where)
            deduction = _optional_number(row, ("mmDeduction", "maintenanceMarginDeduction"), where)
            if not cap > previous_cap:
                raise TierTableError(
                    f"{where}: risk limit {cap!r} is not above the previous tier's "
                    f"{previous_cap!r} (tiers must be in ascending order)"
                )
            parsed.append(_Row(previous_cap, cap, mmr, deduction, max_leverage))
            previous_cap = cap
        tables.append(
            _build_table(
                "bybit",
                market,
                parsed,
                amount_field="deduction",
                effective_date=effective_date,
                source=source,
            )
        )
    return tables


def _bybit_rows(data: Any) -> list[Any]:
    if isinstance(data, Mapping):
        if "retCode" in data and data.get("retCode") not in (0, "0"):
            raise TierTableError(
                f"bybit risk limits: the response is an error (retCode {data.get('retCode')!r}, "
                f"retMsg {data.get('retMsg')!r})"
            )
        result = data.get("result", data)
        data = result.get("list") if isinstance(result, Mapping) else None
    return _list(data, "bybit risk limits")


# ------------------------------------------------------------------------------------------
# OKX position tiers
# ------------------------------------------------------------------------------------------


def parse_okx_position_tiers(
    data: Any,
    *,
    symbol: str,
    notional_per_contract: float,
    effective_date: date | None = None,
    source: str = "OKX GET /api/v5/public/position-tiers",
) -> TierTable:
    """A table from OKX position tiers, which bound the position in **contracts**.

    OKX tier ``k`` covers sizes up to ``maxSz_k`` contracts; it is converted to notional with
    ``notional_per_contract`` (linear: ``ctVal × price``; inverse, in coin: ``ctVal / price``),
    so the table is exact at that price only. OKX's maintenance margin is notional × the tier's
    MMR with no deduction (MARGIN_SPEC.md §3), so every maintenance amount is 0. Accepts the
    response (``{"code": "0", "data": [...]}``), its rows, or ccxt's tiers (their ``info``).
    """
    market = unified_symbol("okx", symbol)
    npc = notional_per_contract
    if (
        isinstance(npc, bool)
        or not isinstance(npc, int | float)
        or not (math.isfinite(npc) and npc > 0)
    ):
        raise ConfigError(f"notional_per_contract must be a number > 0, got {npc!r}")
    tiers = []
    previous_max = 0.0
    for k, raw in enumerate(_okx_rows(data)):
        where = f"okx {market!r} tier {k + 1}"
        row = _mapping(raw, where)
        if isinstance(row.get("info"), Mapping) and "maxSz" not in row:
            row = row["info"]
        min_sz = _number(row, ("minSz",), where)
        max_sz = _number(row, ("maxSz",), where)
        mmr = _number(row, ("mmr",), where)
        max_leverage = _number(row, ("maxLever",), where)
        if k == 0 and min_sz != 0:
            raise TierTableError(f"{where}: minSz must be 0 for the first tier, got {min_sz!r}")
        if k > 0 and min_sz < previous_max:
            raise TierTableError(
                f"{where}: minSz {min_sz!r} is below the previous tier's maxSz {previous_max!r} "
                "(tiers must be in ascending order)"
            )
        if not max_sz > previous_max:
            raise TierTableError(
                f"{where}: maxSz {max_sz!r} is not above the previous tier's {previous_max!r}"
            )
        tiers.append(Tier(previous_max * npc, max_sz * npc, mmr, 0.0, max_leverage))
        previous_max = max_sz
    return TierTable("okx", market, tuple(tiers), effective_date, source)


def _okx_rows(data: Any) -> list[Any]:
    if isinstance(data, Mapping):
        if data.get("code") not in (None, "0", 0):
            raise TierTableError(
                f"okx position tiers: the response is an error (code {data.get('code')!r}, "
                f"msg {data.get('msg')!r})"
            )
        data = data.get("data")
    return _list(data, "okx position tiers")


# ------------------------------------------------------------------------------------------
# dYdX liquidity tiers
# ------------------------------------------------------------------------------------------


def dydx_tier_table(
    symbol: str,
    *,
    initial_margin_fraction: float,
    maintenance_fraction: float,
    effective_date: date | None = None,
    source: str = "dYdX liquidity tier",
) -> TierTable:
    """One-tier table of a dYdX liquidity tier: MMF = IMF × maintenance fraction, max leverage
    1/IMF (MARGIN_SPEC.md §4). The open-interest scaling of IMF is not a notional tier."""
    market = unified_symbol("dydx", symbol)
    for name, value in (
        ("initial_margin_fraction", initial_margin_fraction),
        ("maintenance_fraction", maintenance_fraction),
    ):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
            raise TierTableError(f"dydx {market!r}: {name} must be in (0, 1], got {value!r}")
    tier = Tier(
        0.0,
        math.inf,
        initial_margin_fraction * maintenance_fraction,
        0.0,
        1.0 / initial_margin_fraction,
    )
    return TierTable("dydx", market, (tier,), effective_date, source)


def parse_dydx_liquidity_tier(
    params: Any,
    *,
    symbol: str,
    effective_date: date | None = None,
    source: str = "dYdX liquidity tier",
) -> TierTable:
    """A table from dYdX liquidity-tier parameters: the chain's ``initial_margin_ppm`` and
    ``maintenance_fraction_ppm`` (genesis / governance), or the indexer market's
    ``initialMarginFraction`` and ``maintenanceMarginFraction`` (which is already IMF × fraction).
    """
    where = f"dydx {symbol!r} liquidity tier"
    p = _mapping(params, where)
    if "initial_margin_ppm" in p or "maintenance_fraction_ppm" in p:
        imf_ppm = _number(p, ("initial_margin_ppm",), where)
        fraction_ppm = _number(p, ("maintenance_fraction_ppm",), where)
        imf, fraction = imf_ppm / 1e6, fraction_ppm / 1e6
    elif "initialMarginFraction" in p:
        imf_value = _number(p, ("initialMarginFraction",), where)
        mmf = _number(p, ("maintenanceMarginFraction",), where)
        if not imf_value > 0:
            raise TierTableError(f"{where}: initialMarginFraction must be > 0, got {imf_value!r}")
        imf, fraction = imf_value, mmf / imf_value
    else:
        raise TierTableError(
            f"{where}: expected initial_margin_ppm/maintenance_fraction_ppm or "
            f"initialMarginFraction/maintenanceMarginFraction, got {_describe(p)}"
        )
    return dydx_tier_table(
        symbol,
        initial_margin_fraction=imf,
        maintenance_fraction=fraction,
        effective_date=effective_date,
        source=source,
    )


# ------------------------------------------------------------------------------------------
# User files
# ------------------------------------------------------------------------------------------


def load_tier_file(
    path: str | os.PathLike[str], *, venue: str, effective_date: date | None = None
) -> list[TierTable]:
    """Tables from a JSON file (``.json`` or ``.json.gz``) in either ccxt's
    ``fetch_leverage_tiers`` shape ``{symbol: [tiers]}`` or Binance's ``leverageBracket`` shape
    ``[{symbol, brackets}]`` (or one such object); the shape is detected."""
    file = Path(path)
    document = _read_json(file)
    source = f"file {file.name}"
    name = venue_name(venue)
    if _looks_like_brackets(document):
        if name != "binance":
            raise TierTableError(f"{file}: Binance leverageBracket data, but venue is {venue!r}")
        return parse_binance_leverage_brackets(
            document, effective_date=effective_date, source=source
        )
    if _looks_like_ccxt(document):
        return parse_ccxt_leverage_tiers(
            document, venue=name, effective_date=effective_date, source=source
        )
    raise TierTableError(
        f"{file}: unrecognised tier file: expected ccxt fetch_leverage_tiers output "
        "({symbol: [tiers]}) or Binance leverageBracket ([{symbol, brackets}]), got "
        f"{_describe(document)}"
    )


def _looks_like_brackets(document: Any) -> bool:
    if isinstance(document, Mapping):
        return "brackets" in document
    return (
        isinstance(document, list)
        and bool(document)
        and all(isinstance(e, Mapping) and "brackets" in e for e in document)
    )


def _looks_like_ccxt(document: Any) -> bool:
    return (
        isinstance(document, Mapping)
        and bool(document)
        and all(
            isinstance(tiers, list)
            and bool(tiers)
            and all(
                isinstance(t, Mapping) and ("minNotional" in t or "notionalFloor" in t)
                for t in tiers
            )
            for tiers in document.values()
        )
    )


def _read_json(file: Path) -> Any:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"tier file {file}: cannot be read ({exc.strerror})") from None
    if file.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise TierTableError(f"tier file {file}: not valid gzip ({exc})") from None
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TierTableError(f"tier file {file}: not valid JSON ({exc})") from None
    except RecursionError:
        raise TierTableError(f"tier file {file}: JSON nested too deeply") from None


# ------------------------------------------------------------------------------------------
# Fetching through ccxt, with a dated cache
# ------------------------------------------------------------------------------------------


def cache_path(
    cache_dir: str | os.PathLike[str], venue: str, day: date, *, compress: bool = False
) -> Path:
    """The cache file of ``venue``'s tables taken on ``day`` (``.json.gz`` when ``compress``)."""
    suffix = ".json.gz" if compress else ".json"
    return Path(cache_dir) / f"{venue_name(venue)}-{day.isoformat()}{suffix}"


def fetch_tiers(
    exchange: Any,
    symbols: Sequence[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str],
    fetched_on: date | None = None,
    compress: bool = False,
) -> list[TierTable]:
    """Fetch tier tables from a venue through a ccxt exchange object and cache them.

    Binance and Bybit use ``exchange.fetch_leverage_tiers(symbols)`` (Binance's endpoint is
    signed: the exchange needs API keys); Hyperliquid uses its public ``meta`` (``POST /info``).
    The raw response is written to ``<cache_dir>/<venue>-<day>.json`` (``.json.gz`` with
    ``compress``, keeping only the fields the parsers read; merged with what was already
    fetched that day) and the tables are effective from ``fetched_on`` (today, UTC, by
    default). ``symbols`` are ccxt symbols; None fetches every market.
    """
    exchange_id = getattr(exchange, "id", None)
    if not isinstance(exchange_id, str):
        raise ConfigError(f"exchange: expected a ccxt exchange object, got {exchange!r}")
    venue = venue_name(exchange_id)
    day = fetched_on or datetime.now(UTC).date()
    wanted = list(symbols) if symbols is not None else None
    if venue in ("binance", "bybit"):
        fmt, raw = _FORMAT_CCXT, exchange.fetch_leverage_tiers(wanted)
    elif venue == "hyperliquid":
        fmt, raw = _FORMAT_HYPERLIQUID, exchange.publicPostInfo({"type": "meta"})
    else:
        raise ConfigError(
            f"exchange {exchange_id!r}: fetching {venue} tiers is not supported; build them with "
            + (
                "parse_okx_position_tiers (OKX tiers are in contracts)"
                if venue == "okx"
                else "parse_dydx_liquidity_tier (dYdX has liquidity tiers, not notional tiers)"
            )
        )
    if fmt == _FORMAT_CCXT and isinstance(raw, Mapping) and not raw:
        raise UnknownSymbolError(f"{venue}: the venue returned no tiers for {wanted!r}")
    source = _fetch_source(exchange_id, fmt, day)
    tables = _parse_cached(venue, fmt, raw, day, source)
    if wanted is not None:
        tables = _select(venue, tables, wanted)
    file = cache_path(cache_dir, venue, day, compress=compress)
    _write_cache(file, venue, exchange_id, fmt, day, raw, None)
    return tables


def import_tier_file(
    path: str | os.PathLike[str],
    *,
    venue: str,
    effective_date: date,
    cache_dir: str | os.PathLike[str],
    source: str | None = None,
    compress: bool = True,
) -> list[TierTable]:
    """Add a tier file (the shapes :func:`load_tier_file` reads) to a cache directory as the
    tables in force from ``effective_date``, with ``source`` saying where they came from
    (default: the file's name); the tables as read back."""
    file = Path(path)
    document = _read_json(file)
    name = venue_name(venue)
    fmt = _FORMAT_BRACKETS if _looks_like_brackets(document) else _FORMAT_CCXT
    where = source or f"file {file.name}"
    # parsed first: a file that does not read is refused before anything is written
    tables = _parse_cached(name, fmt, document, effective_date, where)
    target = cache_path(cache_dir, name, effective_date, compress=compress)
    _write_cache(target, name, name, fmt, effective_date, document, where, merge=False)
    return tables


def load_cached_tiers(
    cache_dir: str | os.PathLike[str], venue: str | None = None
) -> list[TierTable]:
    """Every table in a cache directory written by :func:`fetch_tiers` or
    :func:`import_tier_file` (optionally one venue's), each effective from its file's day."""
    folder = Path(cache_dir)
    if not folder.is_dir():
        raise ConfigError(f"cache_dir: {folder} is not a directory")
    only = venue_name(venue) if venue is not None else None
    tables: list[TierTable] = []
    for file in sorted(folder.iterdir()):
        match = _CACHE_NAME.match(file.name)
        if match is None or (only is not None and match["venue"] != only):
            continue
        tables.extend(_read_cache(file))
    return tables


@dataclass(frozen=True)
class TierSnapshot:
    """One cache document read but not yet parsed: its venue, day, source and each market's raw
    tiers, so that a look-up parses only the markets it asks for (levtrade's shipped tables hold
    about 1,900 markets; a run needs a few)."""

    venue: str
    effective_date: date
    source: str
    format: str
    markets: Mapping[str, Any]
    """ccxt symbol → the raw data of that market alone (the whole document for Hyperliquid's
    meta, under every coin)."""
    where: str

    def table(self, symbol: str) -> TierTable | None:
        """The table of ``symbol`` (a ccxt symbol), parsed now; None if not in the document."""
        raw = self.markets.get(symbol)
        if raw is None:
            return None
        tables = _parse_cached(self.venue, self.format, raw, self.effective_date, self.source)
        return next(t for t in tables if t.symbol == symbol)

    def tables(self) -> list[TierTable]:
        """Every table of the document."""
        tables = []
        for symbol in self.markets:
            table = self.table(symbol)
            assert table is not None
            tables.append(table)
        return tables


def read_tier_snapshot(raw: bytes, where: str) -> TierSnapshot:
    """One cache document given as bytes (gzip or plain JSON), split by market, unparsed: how
    levtrade reads the full tables it ships as package data."""
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise TierTableError(f"{where}: not valid gzip ({exc})") from None
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TierTableError(f"{where}: not valid JSON ({exc})") from None
    document = _check_cache_document(document, where)
    venue, day, source = _cache_facts(document, where)
    fmt = str(document["format"])
    data = document.get("data")
    markets: dict[str, Any] = {}
    if fmt == _FORMAT_CCXT:
        for key, tiers in _mapping(data, f"{where} data").items():
            markets[_legacy_or_venue_key(venue, str(key))] = {key: tiers}
    elif fmt == _FORMAT_BRACKETS:
        entries = [data] if isinstance(data, Mapping) else _list(data, f"{where} data")
        for entry in entries:
            venue_id = _mapping(entry, f"{where} data").get("symbol")
            markets[ccxt_symbol("binance", str(venue_id))] = [entry]
    else:
        for table in _parse_cached(venue, fmt, data, day, source):
            markets[table.symbol] = data
    return TierSnapshot(venue, day, source, fmt, markets, where)


def _fetch_source(exchange_id: str, fmt: str, day: date) -> str:
    what = "fetch_leverage_tiers" if fmt == _FORMAT_CCXT else "info meta"
    return f"ccxt {exchange_id} {what}, fetched {day.isoformat()}"


def _parse_cached(venue: str, fmt: str, raw: Any, day: date, source: str) -> list[TierTable]:
    if fmt == _FORMAT_CCXT:
        return parse_ccxt_leverage_tiers(raw, venue=venue, effective_date=day, source=source)
    if fmt == _FORMAT_BRACKETS:
        return parse_binance_leverage_brackets(raw, effective_date=day, source=source)
    return parse_hyperliquid_meta(raw, effective_date=day, source=source)


def _select(venue: str, tables: list[TierTable], wanted: Sequence[str]) -> list[TierTable]:
    by_symbol = {t.symbol: t for t in tables}
    chosen = []
    for symbol in wanted:
        unified = unified_symbol(venue, symbol)
        if unified not in by_symbol:
            raise UnknownSymbolError(f"{venue}: the venue returned no tiers for {symbol!r}")
        chosen.append(by_symbol[unified])
    return chosen


_KEPT_TIER_FIELDS = (
    "minNotional",
    "maxNotional",
    "maintenanceMarginRate",
    "maxLeverage",
    "notionalFloor",
    "notionalCap",
    "maintenanceMarginRatio",
    "maintAmt",
)
_KEPT_INFO_FIELDS = ("cum", "mmDeduction")


def _slim(fmt: str, data: Any) -> Any:
    """ccxt tiers with only the fields :func:`parse_ccxt_leverage_tiers` reads (the compressed
    cache keeps no more); other formats as they are."""
    if fmt != _FORMAT_CCXT or not isinstance(data, Mapping):
        return data
    slim: dict[str, Any] = {}
    for key, tiers in data.items():
        rows = []
        for tier in tiers if isinstance(tiers, list) else []:
            if not isinstance(tier, Mapping):
                return data
            row = {k: tier[k] for k in _KEPT_TIER_FIELDS if k in tier}
            info = tier.get("info")
            if isinstance(info, Mapping):
                kept = {k: info[k] for k in _KEPT_INFO_FIELDS if k in info}
                if kept:
                    row["info"] = kept
            rows.append(row)
        slim[key] = rows
    return slim


def _write_cache(
    file: Path,
    venue: str,
    exchange_id: str,
    fmt: str,
    day: date,
    raw: Any,
    source: str | None,
    *,
    merge: bool = True,
) -> None:
    data = raw
    if merge and file.exists() and fmt == _FORMAT_CCXT:
        previous = _load_cache_document(file)
        if previous["format"] == fmt and isinstance(previous["data"], Mapping):
            data = {**previous["data"], **raw}
    compress = file.suffix == ".gz"
    document: dict[str, Any] = {
        "levtrade_tier_cache": CACHE_VERSION,
        "venue": venue,
        "exchange": exchange_id,
        "format": fmt,
        "fetched_on": day.isoformat(),
    }
    if source is not None:
        document["source"] = source
    document["data"] = _slim(fmt, data) if compress else data
    text = json.dumps(document, allow_nan=False, separators=(",", ":") if compress else None)
    payload = gzip.compress(text.encode("utf-8"), 9, mtime=0) if compress else text.encode()
    file.parent.mkdir(parents=True, exist_ok=True)
    tmp = file.with_name(file.name + ".tmp")
    tmp.write_bytes(payload)
    os.replace(tmp, file)


def _check_cache_document(document: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(document, Mapping) or document.get("levtrade_tier_cache") != CACHE_VERSION:
        raise TierTableError(f"{where}: not a levtrade tier cache (version {CACHE_VERSION})")
    fmt = document.get("format")
    if fmt not in _FORMATS:
        raise TierTableError(f"{where}: unknown format {fmt!r}")
    return document


def _load_cache_document(file: Path) -> Mapping[str, Any]:
    return _check_cache_document(_read_json(file), f"cache file {file}")


def _cache_facts(document: Mapping[str, Any], where: str) -> tuple[str, date, str]:
    """A cache document's venue, day and source (the fetch, unless the document says)."""
    try:
        day = date.fromisoformat(document["fetched_on"])
    except (KeyError, TypeError, ValueError):
        raise TierTableError(
            f"{where}: fetched_on must be YYYY-MM-DD, got {document.get('fetched_on')!r}"
        ) from None
    venue = venue_name(str(document.get("venue")))
    exchange_id = str(document.get("exchange", venue))
    source = document.get("source")
    if not isinstance(source, str):
        source = _fetch_source(exchange_id, str(document["format"]), day)
    return venue, day, source


def _tables_of(document: Mapping[str, Any], where: str) -> list[TierTable]:
    venue, day, source = _cache_facts(document, where)
    return _parse_cached(venue, str(document["format"]), document.get("data"), day, source)


def _read_cache(file: Path) -> list[TierTable]:
    return _tables_of(_load_cache_document(file), f"cache file {file}")
