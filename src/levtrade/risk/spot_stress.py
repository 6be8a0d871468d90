"""Stress tests of a spot-margin account (a spot or margin scenario of the calculator).

* **Liquidating moves**: per asset, the move of its price (every other price held) that brings
  the account to the venue's margin call and to its liquidation level; for the account, the
  joint uniform move of every asset's price that liquidates it, down and up.
* **Ladders**: for a list of moves, jointly and per asset: equity, the venue's margin level,
  the status it is in (margin call, liquidation, ...).
* **Historical shocks**: every k-bar move of the assets' prices in a price history, each asset
  at its adverse extreme of the window (the low for what the account holds, the high for what
  it owes), applied to the account: the worst windows and how many liquidate.

Every figure is :class:`~levtrade.margin.SpotAccount`'s own (``margin_level``, ``status``,
``level_price``), read with its prices moved; nothing here computes margin. Moves are relative:
``-0.1`` puts a price at 90 % of its current value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from levtrade.calculator import SpotScenario, build_spot_account
from levtrade.data.timeframes import format_ts
from levtrade.errors import ConfigError
from levtrade.margin import MarginStatus, SpotAccount
from levtrade.risk.stress import MAX_MOVE, MIN_MOVE, SCAN_STEP, PriceHistory

_BISECTIONS = 60


def _moved(
    account: SpotAccount, base: dict[str, float], assets: Sequence[str], move: float
) -> None:
    """Prices of ``assets`` at ``(1 + move)`` × their base, the others at their base."""
    for asset, price in base.items():
        account.set_price(asset, price * (1.0 + move) if asset in assets else price)


def _liquidated(account: SpotAccount, pool: str) -> bool:
    return account.status(pool) is MarginStatus.LIQUIDATION


def _joint_move(
    account: SpotAccount, pool: str, base: dict[str, float], assets: Sequence[str], down: bool
) -> float | None:
    """The smallest joint move (down or up) at which the pool reaches liquidation: a grid
    scan refined by bisection; None when none does within the scanned range."""
    step = -SCAN_STEP if down else SCAN_STEP
    limit = MIN_MOVE if down else MAX_MOVE
    previous = 0.0
    move = step
    while (move >= limit) if down else (move <= limit):
        _moved(account, base, assets, move)
        if _liquidated(account, pool):
            lo, hi = previous, move
            for _ in range(_BISECTIONS):
                mid = (lo + hi) / 2.0
                _moved(account, base, assets, mid)
                if _liquidated(account, pool):
                    hi = mid
                else:
                    lo = mid
            _moved(account, base, assets, 0.0)
            return hi
        previous = move
        move += step
    _moved(account, base, assets, 0.0)
    return None


def _row(account: SpotAccount, pool: str, move: float) -> dict[str, Any]:
    level = account.margin_level(pool)
    return {
        "move": move,
        "equity": account.equity(pool),
        "margin_level": level if math.isfinite(level) else None,
        "status": account.status(pool).value,
        "liquidated": _liquidated(account, pool),
    }


def spot_stress_report(
    scenario: SpotScenario,
    *,
    moves: Sequence[float],
    data_dir: str | Path | None = None,
    timeframe: str = "1h",
    aliases: Mapping[str, str] | None = None,
    window: int = 24,
) -> dict[str, Any]:
    """The stress tests of a spot or margin scenario (module docstring), as plain values.
    With ``data_dir``, the historical shocks read each asset's ``<ASSET>/<CURRENCY>`` candles
    there (:meth:`PriceHistory.from_dir`; ``aliases`` map a pair to another file stem)."""
    if scenario.trading_mode != "margin":
        raise ConfigError("trading_mode: a spot account is never liquidated; stress a margin one")
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ConfigError(f"window: a number of bars ≥ 1, got {window!r}")
    account, pool = build_spot_account(scenario)
    levels = account.levels(pool)
    assert levels is not None
    currency = account.currency
    assets = [
        a
        for a in dict.fromkeys([*scenario.assets, *scenario.loans])
        if a != currency and (account.balance(a, pool) or account.debt(a, pool))
    ]
    base = {a: account.price(a) for a in assets}
    level = account.margin_level(pool)
    per_asset = []
    for asset in assets:
        call = account.margin_call_price(asset, pool)
        liquidation = account.liquidation_price(asset, pool)
        per_asset.append(
            {
                "asset": asset,
                "price": base[asset],
                "net": account.net(asset, pool),
                "margin_call_price": call,
                "liquidation_price": liquidation,
                "move_to_margin_call": None if call is None else call / base[asset] - 1.0,
                "move_to_liquidation": (
                    None if liquidation is None else liquidation / base[asset] - 1.0
                ),
            }
        )
    ladders = []
    for name, moved in (("joint", assets), *((a, [a]) for a in assets)):
        rows = []
        for move in moves:
            _moved(account, base, moved, move)
            rows.append(_row(account, pool, move))
        _moved(account, base, moved, 0.0)
        ladders.append({"name": name, "rows": rows})
    report: dict[str, Any] = {
        "account": {
            "venue": scenario.venue,
            "currency": currency,
            "pool": pool,
            "equity": account.equity(pool),
            "margin_level": level if math.isfinite(level) else None,
            "status": account.status(pool).value,
            "margin_call_level": levels.margin_call,
            "liquidation_level": levels.liquidation,
            "liquidation_move": {
                "down": _joint_move(account, pool, base, assets, True),
                "up": _joint_move(account, pool, base, assets, False),
            },
        },
        "assets": per_asset,
        "ladders": ladders,
        "historical_shocks": None,
    }
    if data_dir is not None and assets:
        history = PriceHistory.from_dir(
            data_dir,
            [f"{a}/{currency}" for a in assets],
            timeframe=timeframe,
            prefer_mark=False,
            aliases=aliases,
        )
        report["historical_shocks"] = _shocks(account, pool, base, assets, history, window)
    return report


def _shocks(
    account: SpotAccount,
    pool: str,
    base: dict[str, float],
    assets: list[str],
    history: PriceHistory,
    window: int,
) -> dict[str, Any]:
    """Every ``window``-bar stretch of ``history`` (one column per asset, in order), each asset
    at its adverse extreme relative to the window's first open."""
    bars = len(history)
    if bars < window:
        raise ConfigError(f"window: {window} bars, the history has {bars}")
    holds = {a: account.net(a, pool) > 0.0 for a in assets}
    rows: list[dict[str, Any]] = []
    liquidating = 0
    for start in range(0, bars - window + 1):
        end = start + window
        moves = {}
        for j, asset in enumerate(assets):
            first = float(history.open[start, j])
            extreme = (
                float(np.min(history.low[start:end, j]))
                if holds[asset]
                else float(np.max(history.high[start:end, j]))
            )
            moves[asset] = extreme / first - 1.0
        for asset, price in base.items():
            account.set_price(asset, price * (1.0 + moves[asset]))
        level = account.margin_level(pool)
        hit = _liquidated(account, pool)
        liquidating += hit
        rows.append(
            {
                "start_utc": format_ts(int(history.timestamps[start])),
                "end_utc": format_ts(int(history.timestamps[end - 1])),
                "moves": moves,
                "equity": account.equity(pool),
                "margin_level": level if math.isfinite(level) else None,
                "liquidated": hit,
            }
        )
    for asset, price in base.items():
        account.set_price(asset, price)
    rows.sort(key=lambda r: math.inf if r["margin_level"] is None else float(r["margin_level"]))
    return {
        "window": window,
        "windows": len(rows),
        "liquidating_windows": liquidating,
        "history": {
            "timeframe": history.timeframe,
            "start": format_ts(int(history.timestamps[0])),
            "end": format_ts(int(history.timestamps[-1])),
            "sources": list(history.sources),
        },
        "worst": rows[:5],
    }
