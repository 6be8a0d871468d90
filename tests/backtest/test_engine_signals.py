"""Signal strategies in the event engine (docs/backtest.md, "Signal strategies"), by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from backtest_helpers import BTC, ETH, HOUR, T0, at, config, flat, market, portfolio, signals

from levtrade.backtest import run
from levtrade.backtest.engine import run_signals
from levtrade.data import demo_portfolio
from levtrade.errors import ConfigError
from levtrade.strategy.signals import SignalRules

FLAT5 = [flat(100)] * 5


def run_btc(bars: list, rules: SignalRules | None = None, /, **cfg: object) -> object:
    """Helper: run BTC signals given as keyword columns in ``cfg['cols']``."""
    data = market(bars)
    columns = cfg.pop("cols")
    assert isinstance(columns, dict)
    return run_signals(data, signals(data, rules, BTC=columns), config(**cfg))


def test_entry_size_is_stake_times_leverage_over_the_fill_price() -> None:
    # stake 100 × 5 / (100 × 1.001 with 10 bps) = 4.995004995 -> lot 0.001 -> 4.995
    n = 5
    result = run_btc(
        FLAT5,
        cols={"enter_long": at(n, 0)},
        stake_amount=100.0,
        leverage=5,
        slippage_bps=10,
        instruments={BTC: {"lot_size": 0.001}},
    )
    trade = result.trades.iloc[0]
    assert trade["size"] == pytest.approx(4.995)
    assert trade.entry_price == pytest.approx(100.1)
    assert trade.entry_time == T0 + HOUR


def test_row_leverage_and_stake_override_the_config() -> None:
    # the row says stake 50 at 2x: 50 × 2 / 100 = 1 contract, leverage 2
    n = 5
    result = run_btc(
        FLAT5,
        cols={"enter_long": at(n, 0), "leverage": [2.0] * n, "stake": [50.0] * n},
        stake_amount=100.0,
        leverage=5,
    )
    trade = result.trades.iloc[0]
    assert (trade["size"], trade.leverage) == (1.0, 2.0)


def test_unlimited_stake_shares_the_available_balance_among_free_slots() -> None:
    # wallet 1,000, two free slots, ratio 0.99, 1x: BTC (first in symbol order) gets
    # 1,000 × 0.99 / 2 = 495 -> 4.95 contracts; then ETH: available 1,000 − 495 = 505,
    # one free slot: 505 × 0.99 = 499.95 -> 4.9995 contracts
    btc = market(FLAT5)
    eth = market(FLAT5, symbol=ETH)
    book = portfolio(btc, eth)
    table = signals(book, BTC={"enter_long": at(5, 0)}, ETH={"enter_long": at(5, 0)})
    result = run_signals(book, table, config(wallet=1_000.0, max_open_trades=2))
    sizes = result.trades.set_index("symbol")["size"]
    assert sizes[BTC] == pytest.approx(4.95)
    assert sizes[ETH] == pytest.approx(4.9995)


def test_both_entries_together_are_ignored_and_short_needs_can_short() -> None:
    n = 5
    both = {"enter_long": at(n, 0), "enter_short": at(n, 0)}
    assert run_btc(FLAT5, SignalRules(can_short=True), cols=both, stake_amount=10.0).trades.empty
    # without can_short the short signal does not count: the long is taken
    taken = run_btc(FLAT5, SignalRules(can_short=False), cols=both, stake_amount=10.0)
    assert list(taken.trades["side"]) == ["long"]
    short_only = {"enter_short": at(n, 0)}
    assert run_btc(FLAT5, cols=short_only, stake_amount=10.0).trades.empty


def test_exit_long_with_enter_short_flips_at_one_open() -> None:
    # long from bar 1's open (100); at bar 2's close exit + short: both at bar 3's open 103,
    # the exit first. Long: 1 × (103 − 100) = 3 on stake 100 at 1x (1 contract).
    bars = [flat(100), flat(100), flat(101), flat(103), flat(102)]
    n = len(bars)
    result = run_btc(
        bars,
        SignalRules(can_short=True),
        cols={"enter_long": at(n, 0), "exit_long": at(n, 2), "enter_short": at(n, 2)},
        stake_amount=100.0,
    )
    long, short = result.trades.iloc[0], result.trades.iloc[1]
    assert (long.side, long.exit_time, long.pnl) == ("long", T0 + 3 * HOUR, pytest.approx(3.0))
    assert (short.side, short.entry_time) == ("short", T0 + 3 * HOUR)
    # short 100/103 contracts from 103 to the last close 102: (100/103) × 1 = 0.97087
    assert short.pnl == pytest.approx(100 / 103)


def test_an_entry_while_in_a_position_is_ignored() -> None:
    n = 5
    result = run_btc(FLAT5, cols={"enter_long": [True] * n}, stake_amount=10.0)
    assert len(result.trades) == 1
    assert result.orders["tag"].tolist().count("enter_long") == 1


def test_stoploss_sits_at_the_stake_ratio_over_leverage() -> None:
    # stoploss −10 % of the stake at 5x: long stop 100 × (1 − 0.1/5) = 98; bar 2 falls to 97
    bars = [flat(100), flat(100), (100.0, 100.0, 97.0, 99.0), flat(99)]
    n = len(bars)
    result = run_btc(
        bars,
        SignalRules(stoploss=-0.10),
        cols={"enter_long": at(n, 0)},
        stake_amount=100.0,
        leverage=5,
    )
    trade = result.trades.iloc[0]
    # 5 contracts × (98 − 100) = −10 = 10 % of the stake of 100
    assert (trade.exit_reason, trade.exit_price) == ("stop_loss", 98.0)
    assert trade.pnl == pytest.approx(-10.0)


def test_short_stoploss_is_above_the_entry() -> None:
    # short stop 100 × (1 + 0.1/5) = 102; bar 2 rises to 103
    bars = [flat(100), flat(100), (100.0, 103.0, 100.0, 101.0), flat(101)]
    n = len(bars)
    result = run_btc(
        bars,
        SignalRules(can_short=True, stoploss=-0.10),
        cols={"enter_short": at(n, 0)},
        stake_amount=100.0,
        leverage=5,
    )
    assert result.trades.iloc[0].exit_price == 102.0


def test_minimal_roi_follows_the_trade_age() -> None:
    # ROI {0: 10 %, 120 min: 2 %} at 5x from entry 100 (bar 1): target 100 × (1 + 0.1/5) = 102
    # for the first two hours; from bar 3's open (age 120 min) 100 × (1 + 0.02/5) = 100.4.
    # Bars 1-2 top out at 101.5 (< 102); bar 3 opens 100.2 and reaches 101 -> exit at 100.4.
    bars = [
        flat(100),
        (100.0, 101.0, 99.5, 100.0),
        (100.0, 101.5, 99.5, 100.0),
        (100.2, 101.0, 100.1, 100.8),
        flat(100.8),
    ]
    n = len(bars)
    result = run_btc(
        bars,
        SignalRules(minimal_roi={0: 0.10, 120: 0.02}),
        cols={"enter_long": at(n, 0)},
        stake_amount=100.0,
        leverage=5,
    )
    trade = result.trades.iloc[0]
    assert (trade.exit_reason, trade.exit_time) == ("roi", T0 + 3 * HOUR)
    assert trade.exit_price == pytest.approx(100.4)
    # 5 contracts × 0.4 = 2 = 2 % of the stake
    assert trade.pnl == pytest.approx(2.0)


def test_trailing_stop_positive_starts_once_the_offset_is_reached() -> None:
    # stoploss −10 %, trailing_stop_positive 2 % from a profit of 5 % (only then), 5x:
    # the profit ratio passes 0.05 above 100 × (1 + 0.05/5) = 101. At the high 104 the stop
    # moves to 104 × (1 − 0.02/5) = 103.584; bar 3 falls through it.
    bars = [
        flat(100),
        flat(100),
        (100.0, 104.0, 100.0, 103.9),
        (103.9, 103.9, 102.0, 102.5),
        flat(102.5),
    ]
    n = len(bars)
    rules = SignalRules(
        stoploss=-0.10,
        trailing_stop=True,
        trailing_stop_positive=0.02,
        trailing_stop_positive_offset=0.05,
        trailing_only_offset_is_reached=True,
    )
    result = run_btc(bars, rules, cols={"enter_long": at(n, 0)}, stake_amount=100.0, leverage=5)
    trade = result.trades.iloc[0]
    assert trade.exit_reason == "trailing_stop"
    assert trade.exit_price == pytest.approx(103.584)


def test_trailing_without_the_offset_keeps_the_stoploss_distance() -> None:
    # plain trailing stop at |stoploss|/L = 2 % behind the best point: high 110 -> 107.8
    bars = [flat(100), flat(100), (100.0, 110.0, 100.0, 106.0), flat(106)]
    n = len(bars)
    result = run_btc(
        bars,
        SignalRules(stoploss=-0.10, trailing_stop=True),
        cols={"enter_long": at(n, 0)},
        stake_amount=100.0,
        leverage=5,
    )
    trade = result.trades.iloc[0]
    assert (trade.exit_reason, trade.exit_price) == ("trailing_stop", pytest.approx(107.8))


def test_rejected_entries_are_recorded_with_their_reason() -> None:
    n = 5
    # stake 100 × 5 = 500 of notional < minimum 600
    small = run_btc(
        FLAT5,
        cols={"enter_long": at(n, 0)},
        stake_amount=100.0,
        leverage=5,
        instruments={BTC: {"min_notional": 600.0}},
    )
    entry = small.orders.iloc[0]
    assert (entry.status, entry.reason) == ("rejected", "min_notional")
    # a stake of 20,000 at 1x needs 20,000 of margin; the wallet has 10,000
    big = run_btc(FLAT5, cols={"enter_long": at(n, 0)}, stake_amount=20_000.0)
    entry = big.orders.iloc[0]
    assert (entry.status, entry.reason) == ("rejected", "insufficient_margin")
    assert small.trades.empty and big.trades.empty


def test_a_liquidated_position_needs_a_new_signal() -> None:
    # enter at bar 0 only; liquidated at bar 2 (isolated 10x, low 85 < LP 90.36): flat after
    bars = [flat(100), flat(100), (100.0, 101.0, 85.0, 88.0), flat(88), flat(88)]
    n = len(bars)
    result = run_btc(
        bars,
        cols={"enter_long": at(n, 0)},
        stake_amount=10.0,
        leverage=10,
        margin_mode="isolated",
    )
    assert list(result.trades["exit_reason"]) == ["liquidation"]


def test_signal_tables_are_checked_against_the_run() -> None:
    data = market(FLAT5)
    eth_only = signals(data, ETH={"enter_long": at(5, 0)})
    with pytest.raises(ConfigError, match="ETH/USDT:USDT"):
        run_signals(data, eth_only, config())
    short = signals(market(FLAT5[:3]), BTC={"enter_long": at(3, 0)})
    with pytest.raises(ConfigError, match="3 bars"):
        run_signals(data, short, config())


def test_run_entry_point_takes_signals_and_signal_strategies() -> None:
    data = market(FLAT5)
    table = signals(data, BTC={"enter_long": at(5, 0)})

    class Source:
        def to_signals(self, frame: object, cfg: object) -> object:
            return table

    direct = run(table, data, config(stake_amount=10.0), engine="event")
    via = run(Source(), data, config(stake_amount=10.0), engine="event")
    assert direct.trades.equals(via.trades)
    assert direct.metadata["engine"] == "event"
    with pytest.raises(ConfigError, match="engine"):
        run(table, data, config(), engine="turbo")
    with pytest.raises(ConfigError, match="strategy"):
        run(42, data, config())


def test_trade_pnl_adds_up_to_the_wallet_on_a_portfolio() -> None:
    # whatever happens (fees, slippage, funding, stops, ROI), Σ trade pnl is the wallet's change
    book = demo_portfolio(bars=600)
    rng = np.random.default_rng(3)
    n = len(book)
    tables = {
        symbol.split("/")[0]: {
            "enter_long": rng.random(n) < 0.05,
            "exit_long": rng.random(n) < 0.05,
            "enter_short": rng.random(n) < 0.05,
            "exit_short": rng.random(n) < 0.05,
        }
        for symbol in book.symbols
    }
    table = signals(
        book, SignalRules(can_short=True, stoploss=-0.3, minimal_roi={0: 0.2}), **tables
    )
    cfg = config(
        taker_fee=0.0005,
        maker_fee=0.0002,
        slippage_bps=5,
        leverage=5,
        stake_amount=500.0,
        tiers={s: [{"floor": 0, "mmr": 0.01, "max_leverage": 50}] for s in book.symbols},
    )
    result = run_signals(book, table, cfg)
    assert len(result.trades) > 10
    assert result.trades["pnl"].sum() == pytest.approx(
        result.series["wallet"].iloc[-1] - cfg.wallet, abs=1e-6
    )
    assert result.account is not None
    assert math.isclose(result.account.ledger.total(), 0.0, abs_tol=1e-6)
    assert set(result.trades["exit_reason"]) <= {
        "signal",
        "stop_loss",
        "roi",
        "liquidation",
        "end_of_data",
    }
