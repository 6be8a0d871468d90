"""A 20x isolated SOL long through the 2025-10-10 crash on the venue, against the backtester.

The venue serves ``../shared/data/binance_um_freqtrade_harthor`` (1h perpetual candles, 1h mark
candles, funding) in manual clock with Binance's brackets for SOLUSDT from FreqTrade's tier
file. The long is bought through ccxt at the 19:00 open; the backtester runs the same order on
the same files. The venue must liquidate it at the bar the backtester does, at the liquidation
price worked out by hand from the bracket, report it the way Binance does (an ``autoclose-``
fill, a force order, the insurance fund's share as INSURANCE_CLEAR income) and end with the
backtester's wallet.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import pytest
from venue_helpers import KEY, SECRET, advance

from levtrade import localvenue
from levtrade.backtest.engine import Engine
from levtrade.backtest.event_driver import EventDriver
from levtrade.data import load_market
from levtrade.localvenue import VenueServer
from levtrade.strategy.base import Strategy

pytestmark = [pytest.mark.shared, pytest.mark.slow]
SOL = "SOL/USDT:USDT"
HARTHOR = "binance_um_freqtrade_harthor"
TIERS_CSV = "exchange_leverage_tiers/binance_leverage_tiers_freqtrade-2026.9.csv"
ENTRY = "2025-10-10 19:00"


def _ms(when: str) -> int:
    return int(pd.Timestamp(when, tz="UTC").value // 1_000_000)


def _brackets(shared: Path) -> list[dict[str, float]]:
    table = pd.read_csv(shared / TIERS_CSV)
    rows = table[table.ccxt_symbol == SOL]
    return [
        {
            "floor": r.notional_floor,
            "cap": r.notional_cap,
            "mmr": r.maint_margin_ratio,
            "maintenance_amount": r.cum,
            "max_leverage": r.max_leverage,
        }
        for r in rows.itertuples()
    ]


@pytest.fixture(scope="module")
def crash(shared_data: Path) -> Iterator[VenueServer]:
    running = localvenue.serve(
        data=shared_data / HARTHOR,
        symbols=[SOL],
        timeframe="1h",
        api_keys={KEY: SECRET},
        start=ENTRY,
        config={"tiers": {SOL: _brackets(shared_data)}},
    )
    yield running
    running.stop_thread()


class _BuyAt(Strategy):
    """Buys ``size`` SOL at the close of the bar opening at ``time`` (filled at the next open)."""

    params: ClassVar[dict[str, Any]] = {"time": 0, "size": 0.0}

    def next(self) -> None:
        if self.data.datetime[0] == self.p.time and not self.position:
            self.buy(size=self.p.size)


def test_the_crash_liquidates_where_the_backtest_does(
    crash: VenueServer, shared_data: Path
) -> None:
    exchange = localvenue.client(crash.url, KEY, SECRET)
    exchange.load_markets()
    venue = crash.venue
    assert venue.shown(venue.now()) == _ms(ENTRY)
    exchange.set_margin_mode("isolated", SOL)
    exchange.set_leverage(20, SOL)
    entry = float(venue.data[SOL].open[venue.cursor])
    assert entry == 207.36  # the recorded 19:00 open
    size = exchange.amount_to_precision(SOL, 1_000.0 * 20 / entry)
    exchange.create_order(SOL, "market", "buy", float(size))
    advance(crash, 1)
    (position,) = exchange.fetch_positions([SOL])
    margin = float(position["info"]["isolatedWallet"])
    q = float(size)
    # by hand: margin = q·entry/20; bracket 1 of SOLUSDT is 0–50,000 at 0.5 %, cum 0:
    # margin + q (P − entry) = 0.005 q P  →  P = (q·entry − margin) / (q (1 − 0.005))
    assert margin == pytest.approx(q * entry / 20, rel=1e-12)
    expected = (q * entry - margin) / (q * 0.995)
    assert position["liquidationPrice"] == pytest.approx(expected, rel=1e-12)

    # the clock walks the crash until the position is gone
    for _ in range(48):
        advance(crash, 1)
        if not exchange.fetch_positions([SOL]):
            break
    liquidated_bar = venue.cursor - 1
    (force,) = exchange.fetch_my_liquidations(SOL)
    assert force["info"]["clientOrderId"].startswith("autoclose-")
    assert force["price"] == pytest.approx(expected, rel=1e-9)
    assert force["contracts"] == q
    fills = exchange.fetch_my_trades(SOL)
    assert fills[-1]["order"] == force["info"]["orderId"].__str__()
    clear = exchange.fapiPrivateGetIncome({"incomeType": "INSURANCE_CLEAR"})
    assert clear and all(float(i["income"]) < 0 for i in clear)

    # the backtester on the same files and settings
    folder = shared_data / HARTHOR
    data = load_market(
        folder / "SOLUSDT-1h-perp.parquet",
        symbol=SOL,
        mark=folder / "SOLUSDT-1h-mark.parquet",
        funding=folder / "SOLUSDT-funding_rate.parquet",
        start="2025-10-09",
        end="2025-10-13",
    )
    config = venue.config.model_copy(update={"leverage": 20.0, "margin_mode": "isolated"})
    decide = _ms("2025-10-10 18:00")
    engine = Engine(data, config, EventDriver(_BuyAt, {"time": float(decide), "size": q}))
    engine.run()
    (result,) = engine.liquidations
    assert venue.shown(int(venue.timestamps[liquidated_bar])) == result.time
    (trade,) = engine.trades
    assert trade.exit_reason == "liquidation" and trade.entry_price == entry
    wallet = float(exchange.fapiPrivateV3GetAccount()["totalWalletBalance"])
    assert wallet == pytest.approx(engine.account.wallet_balance, rel=1e-12)
    # the trader lost the isolated margin and the entry fee: 10,000 − margin − fee
    assert wallet == pytest.approx(10_000 - margin - 0.0005 * q * entry, rel=1e-12)
    fund = -sum(float(i["income"]) for i in clear)
    assert fund == pytest.approx(result.fee + result.insurance_fund, rel=1e-9)
