"""``levtrade venue serve``: a local Binance USDⓈ-M exchange over levtrade's margin engine.

It prints the base URL and the API key, then serves until stopped (Ctrl-C / SIGTERM). Errors in
the setup are one line on stderr and exit code 1. See docs/localvenue.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from levtrade.cli.failure import fail
from levtrade.errors import LevtradeError
from levtrade.localvenue.clock import CLOCK_MODES
from levtrade.localvenue.faults import Fault
from levtrade.localvenue.launch import DEFAULT_KEYS, venue_from
from levtrade.localvenue.server import VenueServer

app = typer.Typer(help="A local exchange (Binance USD-M API) for ccxt bots.", no_args_is_help=True)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free one).")] = 8765,
    wallet: Annotated[float, typer.Option(help="Starting USDT wallet of each account.")] = 10_000.0,
    data: Annotated[
        Path | None,
        typer.Option(help="Data directory (levtrade store, FreqTrade, per-symbol files)."),
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Serve the embedded demo data.")] = False,
    symbols: Annotated[
        list[str] | None, typer.Option("--symbols", help="Symbols to serve (default: all).")
    ] = None,
    timeframe: Annotated[str, typer.Option(help="Bar size of the data served.")] = "1h",
    clock: Annotated[str, typer.Option(help="replay | realtime | manual.")] = "manual",
    speed: Annotated[float, typer.Option(help="Replay speed (times real time).")] = 1.0,
    start: Annotated[str | None, typer.Option(help="Data time to start at.")] = None,
    state: Annotated[Path | None, typer.Option(help="SQLite state file (resumed).")] = None,
    api_key: Annotated[str | None, typer.Option("--api-key", help="API key.")] = None,
    secret: Annotated[str | None, typer.Option("--secret", help="Its secret.")] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="JSON file of fill settings (slippage_bps, fees, tiers, ...)."),
    ] = None,
    tiers: Annotated[
        Path | None,
        typer.Option(help="Leverage brackets file (ccxt fetch_leverage_tiers or Binance)."),
    ] = None,
    faults: Annotated[
        str | None, typer.Option(help='Faults at start, JSON: [{"kind": "latency", "ms": 200}].')
    ] = None,
) -> None:
    """Serve Binance USD-M's REST and websocket API over levtrade's margin engine."""
    if clock not in CLOCK_MODES:
        fail(f"clock: must be one of {', '.join(CLOCK_MODES)}, got {clock!r}")
    if (api_key is None) != (secret is None):
        fail("api-key: give --api-key and --secret together")
    if data is not None and demo:
        fail("data: give --data DIR or --demo, not both")
    keys = {api_key: secret} if api_key is not None and secret is not None else DEFAULT_KEYS
    try:
        settings: dict[str, Any] = {}
        if config is not None:
            settings = json.loads(config.read_text("utf-8"))
        fault_list = [Fault.from_dict(f) for f in json.loads(faults)] if faults else []
        venue, timer = venue_from(
            data=data,
            symbols=symbols or None,
            timeframe=timeframe,
            wallet=wallet,
            api_keys=keys,
            start=start,
            clock=clock,
            speed=speed,
            state=state,
            config=settings,
            tiers_file=tiers,
        )
    except (LevtradeError, OSError, ValueError) as exc:
        fail(exc)
    server = VenueServer(venue, timer, host=host, port=port)
    for fault in fault_list:
        server.faults.add(fault)
    asyncio.run(_run(server, keys))


async def _run(server: VenueServer, keys: dict[str, str]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await server.start()
    status = server.status()
    typer.echo(f"levtrade venue serving at {server.url}", err=False)
    typer.echo(
        json.dumps(
            {"url": server.url, "ws": server.ws_url + "/ws", "api_keys": list(keys), **status}
        )
    )
    await stop.wait()
    await server.stop()
    if server.venue.journal is not None:
        server.venue.journal.close()
