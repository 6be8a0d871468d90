"""FreqTrade: the SMA cross as a FreqTrade strategy, backtested offline in futures mode.

Idiom: an ``IStrategy`` (``freqtrade_strategy/sma_cross_benchmark.py``) with TA-Lib SMAs,
``enter_long``/``enter_short`` and the matching exit columns, ``can_short``, a ``leverage``
callback returning 3 and market orders; FreqTrade's own ``Backtesting`` on its feather data
directory (``trading_mode`` futures, isolated margin, ``stake_amount`` "unlimited",
``tradable_balance_ratio`` 1, ``fee`` 0.05 %, ``futures_funding_rate`` 0). FreqTrade enters at
the open of the candle after the signal and, with shorting enabled, re-enters the opposite
side on the same candle a position was closed on; open trades are closed at the last close.

Offline: FreqTrade loads the exchange's markets through ccxt at start-up. As in FreqTrade's
own tests, that one call is replaced: ``Exchange._load_async_markets`` installs a static
Binance ``BTC/USDT:USDT`` perpetual market (``set_markets``), with an amount step of 1e-8 so
sizes are fractional like the other tools'. Leverage tiers come from the file FreqTrade ships
for Binance, as in any FreqTrade backtest. The 1h mark candles it requires are the trade
candles resampled (they only price funding, which is 0 here).

Sizing: FreqTrade's "unlimited" stake is the free balance and the size ``stake * L / P``;
``custom_stake_amount`` returns ``balance / (1 + L * f)``, the benchmark's rule.

End of data: FreqTrade closes a trade still open at the last candle's open; the result moves
that exit to the last close (price and fee), the benchmark's rule.

Times: ``warmup_s`` is the ``Backtesting`` set-up (configuration, exchange, strategy, data
load) plus a backtest of a 2,000-candle prefix; ``wall_s`` is ``backtest_one_strategy`` on the
full data (indicators, signals, simulation, trade list).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any
from unittest import mock

from benchmarks.workloads import CACHE_DIR, Workload

NAME = "freqtrade"
PACKAGES = ("freqtrade", "ccxt")
KINDS = ("signal",)
STRATEGY = "SmaCrossBenchmark"
STRATEGY_DIR = Path(__file__).resolve().parent / "freqtrade_strategy"
WARMUP_BARS = 2_000


def static_market(symbol: str, fee: float) -> dict[str, Any]:
    """A ccxt market structure for a Binance USDT-M linear perpetual."""
    base, rest = symbol.split("/")
    quote, settle = rest.split(":")
    return {
        "id": f"{base}{quote}",
        "symbol": symbol,
        "base": base,
        "quote": quote,
        "settle": settle,
        "baseId": base,
        "quoteId": quote,
        "settleId": settle,
        "type": "swap",
        "spot": False,
        "margin": False,
        "swap": True,
        "future": False,
        "option": False,
        "index": False,
        "active": True,
        "contract": True,
        "linear": True,
        "inverse": False,
        "contractSize": 1.0,
        "taker": fee,
        "maker": fee,
        "expiry": None,
        "expiryDatetime": None,
        "strike": None,
        "optionType": None,
        "created": None,
        "precision": {"amount": 1e-8, "price": 1e-8, "base": 1e-8, "quote": 1e-8},
        "limits": {
            "leverage": {"min": 1.0, "max": 125.0},
            "amount": {"min": 1e-8, "max": None},
            "price": {"min": None, "max": None},
            "cost": {"min": None, "max": None},
            "market": {"min": None, "max": None},
        },
        "marginModes": {"cross": True, "isolated": True},
        "info": {"symbol": f"{base}{quote}", "status": "TRADING", "contractType": "PERPETUAL"},
    }


def write_config(workload: Workload, workdir: Path) -> Path:
    """The FreqTrade configuration file for this workload."""
    config = {
        "trading_mode": "futures",
        "margin_mode": "isolated",
        "max_open_trades": 1,
        "stake_currency": "USDT",
        "stake_amount": "unlimited",
        "tradable_balance_ratio": 1.0,
        "dry_run": True,
        "dry_run_wallet": workload.equity,
        "fee": workload.fee,
        "timeframe": workload.timeframe,
        "futures_funding_rate": 0,
        "dataformat_ohlcv": "feather",
        "exchange": {
            "name": "binance",
            "key": "",
            "secret": "",
            "pair_whitelist": [workload.symbol],
            "pair_blacklist": [],
        },
        "pairlists": [{"method": "StaticPairList"}],
        "entry_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "exit_pricing": {"price_side": "other", "use_order_book": True, "order_book_top": 1},
        "internals": {"verbosity": "error"},
        "levtrade_benchmark": {
            "fast": workload.fast,
            "slow": workload.slow,
            "leverage": workload.leverage,
            "fee": workload.fee,
        },
    }
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def run(workload: Workload) -> dict[str, Any]:
    """Measure one run (see the module docstring for what each figure covers)."""
    from freqtrade.commands.optimize_commands import setup_optimize_configuration
    from freqtrade.configuration.directory_operations import create_userdata_dir
    from freqtrade.enums import RunMode
    from freqtrade.exchange.exchange import Exchange
    from freqtrade.optimize.backtesting import Backtesting

    markets = {workload.symbol: static_market(workload.symbol, workload.fee)}

    def load_static_markets(self: Exchange, reload: bool = False) -> None:
        self._api_async.set_markets(markets)

    workdir = CACHE_DIR / "freqtrade-run" / workload.key
    create_userdata_dir(str(workdir / "user_data"), create_dir=True)
    args = {
        "config": [str(write_config(workload, workdir))],
        "strategy": STRATEGY,
        "strategy_path": str(STRATEGY_DIR),
        "datadir": workload.freqtrade_dir,
        "user_data_dir": str(workdir / "user_data"),
        "export": "none",
    }
    start = time.perf_counter()
    with mock.patch.object(Exchange, "_load_async_markets", load_static_markets):
        config = setup_optimize_configuration(args, RunMode.BACKTEST)
        logging.getLogger("freqtrade").setLevel(logging.WARNING)
        backtesting = Backtesting(config)
        data, timerange = backtesting.load_bt_data()
        strategy = backtesting.strategylist[0]
        prefix = {pair: frame.iloc[:WARMUP_BARS] for pair, frame in data.items()}
        backtesting.backtest_one_strategy(strategy, prefix, timerange)
        warmup = time.perf_counter() - start
        start = time.perf_counter()
        backtesting.backtest_one_strategy(strategy, data, timerange)
        wall = time.perf_counter() - start
    content = backtesting.all_bt_content[STRATEGY]
    trades = content["results"]
    equity = float(content["final_balance"])
    last_close = float(data[workload.symbol]["close"].iloc[-1])
    equity += reprice_forced_exit(trades, last_close, workload.fee)
    return {"trades": len(trades), "final_equity": equity, "wall_s": wall, "warmup_s": warmup}


def reprice_forced_exit(trades: Any, last_close: float, fee: float) -> float:
    """Equity change from moving the end-of-data exit from the last candle's open (where
    FreqTrade's ``handle_left_open`` closes) to its close (the benchmark's rule)."""
    forced = trades[trades["exit_reason"] == "force_exit"]
    change = 0.0
    for trade in forced.itertuples():
        side = -1.0 if trade.is_short else 1.0
        move = last_close - float(trade.close_rate)
        change += float(trade.amount) * move * (side - fee)
    return change
