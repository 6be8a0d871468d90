"""Preflight: the account's settings on the venue made to match the configuration before the
first entry — position mode, multi-assets mode, margin mode and leverage of every symbol.

A setting that already matches is left alone (Binance's "no need to change", −4046, is not an
error). A setting that differs is changed when nothing blocks it; when an open position or an
open order blocks it (the venue refuses to switch margin or position mode under either), the
bot refuses to start, naming the symbol, what the venue has and what the configuration wants.
Leverage is checked against the venue's tiers first (a leverage above the symbol's maximum is
an error here, not a silent cap at the venue, hummingbot#6954).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from ccxt.base import errors as cx

from levtrade.live.adapter import VenueAdapter
from levtrade.live.errors import PreflightRefused
from levtrade.margin.tiers import TierTable

logger = logging.getLogger("levtrade.live.preflight")


@dataclass
class PreflightReport:
    """What the preflight changed (``changed``) and found already right (``kept``)."""

    changed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


async def preflight(
    adapter: VenueAdapter,
    symbols: Sequence[str],
    *,
    hedge: bool,
    margin_mode: str,
    leverage: dict[str, float],
    tiers: dict[str, TierTable],
) -> PreflightReport:
    """Bring the account to the configuration (module docstring)."""
    report = PreflightReport()
    positions = await adapter.positions(symbols)
    open_orders = await adapter.open_orders(symbols)
    held = {p.symbol for p in positions}
    ordered = {o.symbol for o in open_orders}

    for symbol, wanted in leverage.items():
        table = tiers.get(symbol)
        if table is not None:
            most = table.tier_at(0.0).max_leverage
            if wanted > most:
                raise PreflightRefused(
                    f"leverage: {wanted:g} for {symbol} is above the venue's maximum of "
                    f"{most:g} (its first tier)"
                )

    current = await adapter.hedge_mode(symbols[0])
    if current != hedge:
        what = (
            f"position mode: the venue is in {_mode(current)} mode, the configuration wants "
            f"{_mode(hedge)}"
        )
        if held or ordered:
            blocking = ", ".join(sorted(held | ordered))
            raise PreflightRefused(
                f"{what}, and open positions or orders on {blocking} block the change; close "
                "them (or change position_mode in the configuration) and start again"
            )
        await adapter.set_hedge_mode(hedge, symbols[0])
        report.changed.append(f"position mode → {_mode(hedge)}")
    else:
        report.kept.append(f"position mode {_mode(hedge)}")

    if await adapter.multi_assets():
        if held:
            raise PreflightRefused(
                "multi-assets mode: the venue account is in multi-assets margin mode, which "
                "levtrade's margin figures do not model, and open positions block switching it "
                "off; close them and start again"
            )
        await adapter.set_multi_assets(False)
        report.changed.append("multi-assets mode → off")

    for symbol in symbols:
        mode, current_leverage = await adapter.settings(symbol)
        if mode != margin_mode:
            if symbol in held or symbol in ordered:
                raise PreflightRefused(
                    f"margin_mode: {symbol} is {mode} on the venue, the configuration wants "
                    f"{margin_mode}, and an open position or order on {symbol} blocks the "
                    "change; close it (or change margin_mode) and start again"
                )
            try:
                changed = await adapter.set_margin_mode(symbol, margin_mode)
            except cx.ExchangeError as exc:
                raise PreflightRefused(
                    f"margin_mode: the venue refused {margin_mode} for {symbol}: {exc}"
                ) from None
            if changed:
                report.changed.append(f"{symbol} margin mode → {margin_mode}")
        else:
            report.kept.append(f"{symbol} margin mode {mode}")
        target = leverage.get(symbol)
        if target is not None and int(target) != int(current_leverage):
            try:
                await adapter.set_leverage(symbol, target)
            except cx.ExchangeError as exc:
                raise PreflightRefused(
                    f"leverage: the venue refused {target:g}x for {symbol} (it has "
                    f"{current_leverage:g}x{' and a position' if symbol in held else ''}): {exc}"
                ) from None
            report.changed.append(f"{symbol} leverage {current_leverage:g} → {int(target)}")
        elif target is not None:
            report.kept.append(f"{symbol} leverage {int(target)}")
    for line in report.changed:
        logger.info("preflight: %s", line)
    return report


def _mode(hedge: bool) -> str:
    return "hedge" if hedge else "one-way"
