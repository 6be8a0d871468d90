"""``levtrade margin`` on accounts with many positions: time per scenario and per position.

Run from the repository root with the project's interpreter::

    .venv/bin/python -m benchmarks.bench_calculator_scale            # the default sizes
    .venv/bin/python -m benchmarks.bench_calculator_scale --sizes 1000,10000 --modes cross

Each scenario is a Binance account whose positions are each on their own symbol (an account
holds one position per symbol and leg) with the symbol's tiers given in the scenario (three
Binance-like brackets), prices spread over two orders of magnitude, longs and shorts. The
scenario goes through the calculator's whole path: the JSON text parsed and validated
(:func:`levtrade.calculator.parse_scenarios`), the account built and every figure of DESIGN.md
§5 computed (:func:`levtrade.calculator.evaluate`), the result written as JSON. Times are CPU
time of this process (``time.process_time``; the machine is shared) and wall time, best of
``--repeats``. The time per position should stay flat as the positions grow: the calculator is
linear in its positions. Nothing is asserted: this is a measuring tool.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from levtrade._json import to_json_value
from levtrade.calculator import evaluate, parse_scenarios

TIERS = [
    {"floor": 0, "cap": 50_000, "mmr": 0.004, "maintenance_amount": 0, "max_leverage": 50},
    {"floor": 50_000, "cap": 250_000, "mmr": 0.005, "max_leverage": 20},
    {"floor": 250_000, "mmr": 0.01, "max_leverage": 10},
]


def scenario(count: int, mode: str) -> str:
    """The scenario's JSON text: ``count`` positions in ``mode`` (isolated or cross)."""
    positions = []
    for i in range(count):
        price = 10.0 * (1 + i % 97)
        size = 10.0 * (1 + i % 7)
        position: dict[str, Any] = {
            "symbol": f"C{i}/USDT:USDT",
            "side": "long" if i % 3 else "short",
            "size": size,
            "entry_price": price * (1 + 0.001 * (i % 11)),
            "mark_price": price,
            "leverage": 10,
            "margin_mode": mode,
            "tiers": TIERS,
        }
        if mode == "isolated":
            position["isolated_margin"] = size * price / 10 * 1.05
        positions.append(position)
    return json.dumps({"venue": "binance", "wallet_balance": 1e7, "positions": positions})


def measure(text: str) -> dict[str, float]:
    """CPU and wall seconds of each phase of one run."""
    cpu, wall = time.process_time(), time.perf_counter()
    scenarios, _ = parse_scenarios(text)
    parsed = time.process_time(), time.perf_counter()
    result = evaluate(scenarios[0])
    evaluated = time.process_time(), time.perf_counter()
    json.dumps(to_json_value(result), allow_nan=False)
    done = time.process_time(), time.perf_counter()
    return {
        "parse_cpu": parsed[0] - cpu,
        "evaluate_cpu": evaluated[0] - parsed[0],
        "json_cpu": done[0] - evaluated[0],
        "total_cpu": done[0] - cpu,
        "total_wall": done[1] - wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--modes", default="isolated,cross")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    evaluate(parse_scenarios(scenario(2, "cross"))[0][0])  # imports, JIT caches
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")
    header = (
        f"{'mode':9} {'positions':>9} {'parse':>8} {'evaluate':>9} {'json':>7} "
        f"{'total CPU':>10} {'wall':>8} {'µs/position':>12}"
    )
    print(header)
    for mode in modes:
        for size in sizes:
            text = scenario(size, mode)
            runs = [measure(text) for _ in range(args.repeats)]
            best = min(runs, key=lambda r: r["total_cpu"])
            per = best["total_cpu"] / size * 1e6
            print(
                f"{mode:9} {size:>9,} {best['parse_cpu']:>7.2f}s {best['evaluate_cpu']:>8.2f}s "
                f"{best['json_cpu']:>6.2f}s {best['total_cpu']:>9.2f}s "
                f"{best['total_wall']:>7.2f}s {per:>12.1f}"
            )


if __name__ == "__main__":
    main()
