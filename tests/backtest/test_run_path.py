"""The one run path: ``engine="auto"`` runs signal strategies on the compiled kernel and
``Strategy`` subclasses on the event engine."""

from __future__ import annotations

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
