"""The one run path: ``engine="auto"`` runs signal strategies on the compiled kernel and
``Strategy`` subclasses on the event engine."""

from __future__ import annotations

import time

from backtest_helpers import at, config, flat, market, signals

from levtrade.backtest import Strategy, run


class Holder(Strategy):
    """Buys one contract on the first bar it sees and holds."""

    def next(self) -> None:
        if not self.position:
            self.buy(size=1.0)


def test_auto_runs_signals_on_the_kernel_and_strategies_on_the_event_engine() -> None:
    data = market([flat(100)] * 6)
    table = signals(data, BTC={"enter_long": at(6, 1)})
    cfg = config(stake_amount=10.0)
    assert run(table, data, cfg).metadata["engine"] == "compiled"
    assert run(table, data, cfg, engine="event").metadata["engine"] == "event"
    assert run(Holder, data, cfg).metadata["engine"] == "event"
    # the same trades either way (the agreement tests hold the two engines to 1e-9)
    auto, event = run(table, data, cfg), run(table, data, cfg, engine="event")
    assert auto.trades[["entry_time", "size", "entry_price"]].equals(
        event.trades[["entry_time", "size", "entry_price"]]
    )


def test_each_engine_times_its_stages_inside_the_run() -> None:
    data = market([flat(100)] * 6)
    table = signals(data, BTC={"enter_long": at(6, 1)})
    cfg = config(stake_amount=10.0)
    for strategy, engine in ((table, "compiled"), (table, "event"), (Holder, "auto")):
        start = time.perf_counter()
        result = run(strategy, data, cfg, engine=engine)
        wall = time.perf_counter() - start
        assert set(result.timings) == {"prepare_s", "simulate_s"}, engine
        assert all(seconds >= 0.0 for seconds in result.timings.values()), engine
        # the stages are parts of the run, before its tables are built
        assert sum(result.timings.values()) <= wall, engine
        assert not result.trades.empty, engine


def test_event_engine_tables_built_on_first_read_show_the_run_as_it_ended() -> None:
    data = market([flat(100)] * 6)
    result = run(Holder, data, config(stake_amount=10.0))
    assert result.account is not None
    posted = len(result.account.ledger)
    # the account is the caller's after the run: a later deposit is not part of the run
    result.account.deposit(500.0)
    assert len(result.ledger) == posted
    assert result.final_equity == result.series["equity"].iloc[-1]
    assert result.metrics["final_equity"] == result.final_equity
