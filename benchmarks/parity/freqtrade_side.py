"""FreqTrade's side of the parity check, run with the benchmark virtualenv's interpreter.

``python -m benchmarks.parity.freqtrade_side --config C --strategy S --out trades.json`` in the
check's working directory runs FreqTrade's own ``Backtesting`` as ``freqtrade backtesting -c C
-s S`` does (strategies from ``user_data/strategies``, data from ``user_data/data/binance``)
and writes its trade list as JSON. Offline, as in FreqTrade's own tests: the one ccxt market
load is replaced by static Binance USDT-M perpetual markets with each contract's published
tick and step (``MARKETS``); the leverage tiers are the file FreqTrade ships for Binance, as in
any FreqTrade backtest.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any
from unittest import mock

from benchmarks.peers.freqtrade_sma import static_market

MARKETS: dict[str, tuple[float, float]] = {
    "BTC/USDT:USDT": (0.1, 0.001),
    "ETH/USDT:USDT": (0.01, 0.001),
    "SOL/USDT:USDT": (0.01, 0.01),
}
"""Binance USDT-M filters of the pairs the check trades: (tickSize, stepSize)."""

TRADE_FIELDS = (
    "pair",
    "is_short",
    "open_date",
    "close_date",
    "open_rate",
    "close_rate",
    "amount",
    "stake_amount",
    "leverage",
    "exit_reason",
    "profit_abs",
    "funding_fees",
    "liquidation_price",
    "stop_loss_abs",
    "initial_stop_loss_abs",
)


def market(symbol: str, fee: float) -> dict[str, Any]:
    """The static ccxt market of ``symbol`` with its tick and step."""
    tick, step = MARKETS[symbol]
    found = static_market(symbol, fee)
    found["precision"] = {"amount": step, "price": tick, "base": 1e-8, "quote": 1e-8}
    found["limits"]["amount"]["min"] = step
    return found


def backtest(config_file: Path, strategy: str, fee: float) -> list[dict[str, Any]]:
    """FreqTrade's trades for ``strategy`` under ``config_file`` (dates in ms, UTC)."""
    from freqtrade.commands.optimize_commands import setup_optimize_configuration
    from freqtrade.enums import RunMode
    from freqtrade.exchange.exchange import Exchange
    from freqtrade.optimize.backtesting import Backtesting

    markets = {symbol: market(symbol, fee) for symbol in MARKETS}

    def load_static_markets(self: Exchange, reload: bool = False) -> None:
        self._api_async.set_markets(markets)

    args = {"config": [str(config_file)], "strategy": strategy, "export": "none"}
    with mock.patch.object(Exchange, "_load_async_markets", load_static_markets):
        config = setup_optimize_configuration(args, RunMode.BACKTEST)
        logging.getLogger("freqtrade").setLevel(logging.WARNING)
        backtesting = Backtesting(config)
        backtesting.start()
    results = backtesting.all_bt_content[strategy]["results"]
    rows = []
    for record in results.to_dict("records"):
        row = {name: record.get(name) for name in TRADE_FIELDS}
        for name in ("open_date", "close_date"):
            row[name] = int(record[name].timestamp() * 1000)
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--strategy", required=True)
    parser.add_argument("--fee", type=float, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    trades = backtest(args.config, args.strategy, args.fee)
    args.out.write_text(json.dumps(trades, allow_nan=True, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
