"""The self-driven clocks: ``replay`` walks the data at a speed, ``realtime`` shows the data
shifted to the wall clock (its bar opening when the venue starts)."""

from __future__ import annotations

import time

from venue_helpers import KEY, SECRET

from levtrade import localvenue

BTC = "BTC/USDT:USDT"


def test_replay_walks_the_data_at_its_speed() -> None:
    # 1h bars at 36,000x real time: a bar every 0.1 s
    server = localvenue.serve(api_keys={KEY: SECRET}, clock="replay", speed=36_000)
    try:
        start = server.venue.cursor
        time.sleep(1.0)
        walked = server.call(lambda: server.venue.cursor) - start
        assert 5 <= walked <= 12
    finally:
        server.stop_thread()


def test_realtime_shows_recorded_prices_at_the_wall_clock() -> None:
    server = localvenue.serve(api_keys={KEY: SECRET}, clock="realtime", start="2024-03-01")
    try:
        exchange = localvenue.client(server.url, KEY, SECRET)
        exchange.load_markets()
        now = time.time() * 1000
        (last,) = exchange.fetch_ohlcv(BTC, "1h", limit=1)
        # the bar now opening is the recorded 2024-03-01 00:00 bar, shown at the start time
        assert abs(last[0] - now) < 5_000
        data = server.venue.data[BTC]
        assert last[1] == data.open[int(data.timestamps.searchsorted(1_709_251_200_000))]
        assert abs(exchange.fetch_time() - now) < 5_000
    finally:
        server.stop_thread()
