"""A symbol's dataset in the store is written as one unit (levtrade.data.commit).

The kill tests run a save in a child process that kills itself with SIGKILL — no cleanup, no
``finally`` — at the n-th file-system step of the save (each ``os.replace``, ``os.fsync`` and
``os.unlink``), for every n a save has, and at random instants of a loop of saves. The next
reader must find the trade, mark, index and funding series all of the first save or all of the
second, and no temporary file or journal left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from levtrade.data import Store, demo_market
from levtrade.data.commit import MANIFEST, manifest
from levtrade.data.errors import DataValidationError
from levtrade.data.market import MarketData

SYMBOL = "BTC/USDT:USDT"
BARS = 500

CHILD = textwrap.dedent(
    """
    import json, os, random, signal, sys, time
    from levtrade.data import Store, demo_market

    root, mode, arg = sys.argv[1], sys.argv[2], int(sys.argv[3])
    first, second = (demo_market("BTC/USDT:USDT", seed=s, bars=BARS) for s in (1, 2))

    def steps(store, at):
        # save version 1, then version 2 dying at the at-th os.replace/fsync/unlink call
        store.save(first, "x")
        count = 0
        def deadly(real):
            def call(*args, **kwargs):
                nonlocal count
                count += 1
                if count == at:
                    os.kill(os.getpid(), signal.SIGKILL)
                return real(*args, **kwargs)
            return call
        for name in ("replace", "fsync", "unlink"):
            setattr(os, name, deadly(getattr(os, name)))
        store.save(second, "x")
        return count

    def loop(store, ready):
        store.save(first, "x")
        os.write(ready, b"r")  # the first save is whole: kill me at any instant from now
        i = 0
        while True:
            i += 1
            store.save(second if i % 2 else first, "x")

    # each case runs in a process forked from this one (which has not used Arrow's threads)
    # and killed with SIGKILL: by itself at a step, or by this process at a random instant
    cases = [-1] + list(range(1, arg + 1)) if mode == "steps" else list(range(arg))
    rng = random.Random(20)
    outcome = {}
    for case in cases:
        store = Store(os.path.join(root, f"case{case}"))
        ready, told = os.pipe()
        pid = os.fork()
        if pid == 0:
            if mode == "steps":
                print(json.dumps({"count": steps(store, case)}), flush=True)
            else:
                loop(store, told)
            os._exit(0)
        if mode == "loop":
            os.read(ready, 1)
            time.sleep(rng.uniform(0.0, 0.5))
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        outcome[case] = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    print(json.dumps(outcome), flush=True)
    """
).replace("BARS", str(BARS))


def _run_child(root: Path, mode: str, arg: int) -> tuple[dict[int, bool], list[str]]:
    """Run the cases in a child; returns whether each case was killed, and the other lines."""
    root.mkdir(parents=True, exist_ok=True)
    script = root / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), str(root), mode, str(arg)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    lines = done.stdout.strip().splitlines()
    return {int(k): v for k, v in json.loads(lines[-1]).items()}, lines[:-1]


def _versions() -> tuple[MarketData, MarketData]:
    return demo_market(SYMBOL, seed=1, bars=BARS), demo_market(SYMBOL, seed=2, bars=BARS)


def _same_series(loaded: MarketData, saved: MarketData) -> bool:
    pairs = [(loaded.close, saved.close), (loaded.funding.rates, saved.funding.rates)]
    for kind in ("mark", "index"):
        mine, theirs = loaded.candles(kind), saved.candles(kind)
        if (mine is None) != (theirs is None):
            return False
        if mine is not None and theirs is not None:
            pairs.append((mine.close, theirs.close))
    return all(a.shape == b.shape and np.array_equal(a, b) for a, b in pairs)


def _check_whole(root: Path) -> int:
    """The stored dataset is wholly version 1 or wholly version 2 (which is returned), and
    reading it left no temporary file or journal."""
    first, second = _versions()
    loaded = Store(root).load("x", SYMBOL, "1h")
    folder = root / "x" / "BTC_USDT_USDT"
    leftovers = [p.name for p in folder.iterdir() if p.name.endswith(".tmp") or "commit" in p.name]
    assert leftovers == []
    assert first.candles("mark") is not None and first.candles("index") is not None
    if _same_series(loaded, first):
        return 1
    assert _same_series(loaded, second), "a mix of two saves was loaded"
    return 2


@pytest.mark.slow
def test_a_save_killed_at_every_step_leaves_one_whole_dataset(tmp_path: Path) -> None:
    # a dry run (case -1, never killed) counts the steps of the second save
    killed, lines = _run_child(tmp_path / "count", "steps", 0)
    steps = json.loads(lines[0])["count"]
    assert killed == {-1: False}
    # four series, each staged (fsync), the journal, four renames, the manifest, the cleanup
    assert steps >= 10
    killed, _ = _run_child(tmp_path, "steps", steps)
    assert killed == {-1: False, **dict.fromkeys(range(1, steps + 1), True)}
    seen = {_check_whole(tmp_path / f"case{at}") for at in range(1, steps + 1)}
    assert seen == {1, 2}  # early kills keep the old save, late ones complete the new one


@pytest.mark.slow
def test_saves_killed_at_random_instants_leave_one_whole_dataset(tmp_path: Path) -> None:
    killed, _ = _run_child(tmp_path, "loop", 5)
    assert killed == dict.fromkeys(range(5), True)
    for trial in range(5):
        _check_whole(tmp_path / f"case{trial}")


def test_a_mix_of_two_saves_is_refused(tmp_path: Path) -> None:
    first, second = _versions()
    one, two = Store(tmp_path / "one"), Store(tmp_path / "two")
    one.save(first, "x")
    two.save(second, "x")
    # the mark file of another save copied over this one's
    name = "1h-mark.parquet"
    source = tmp_path / "two" / "x" / "BTC_USDT_USDT" / name
    target = tmp_path / "one" / "x" / "BTC_USDT_USDT" / name
    target.write_bytes(source.read_bytes())
    listed = manifest(target.parent)
    with pytest.raises(DataValidationError) as caught:
        one.load("x", SYMBOL, "1h")
    message = str(caught.value)
    assert f"lists save {listed[name]!r}" in message
    assert "the symbol's files come from different saves" in message
    assert name in message


def test_manifest_lists_each_file_of_the_last_save(tmp_path: Path) -> None:
    first, _ = _versions()
    written = Store(tmp_path).save(first, "x")
    folder = tmp_path / "x" / "BTC_USDT_USDT"
    document = json.loads((folder / MANIFEST).read_text("utf-8"))
    assert sorted(document["files"]) == sorted(p.name for p in written)
    assert len(set(document["files"].values())) == 1  # one save, one token


def test_stale_temporary_files_are_removed_by_the_next_save(tmp_path: Path) -> None:
    first, second = _versions()
    store = Store(tmp_path)
    store.save(first, "x")
    folder = tmp_path / "x" / "BTC_USDT_USDT"
    stale = [folder / ".1h-trade.parquet.0123abcd.tmp", folder / ".funding.parquet.xyz.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    store.save(second, "x")
    assert not any(p.exists() for p in stale)
    assert _same_series(store.load("x", SYMBOL, "1h"), second)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_files_honour_the_umask(tmp_path: Path, umask: int) -> None:
    first, _ = _versions()
    previous = os.umask(umask)
    try:
        written = Store(tmp_path).save(first, "x")
    finally:
        os.umask(previous)
    for path in [*written, written[0].parent / MANIFEST]:
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path.name


@pytest.mark.parametrize(
    ("exchange", "symbol", "message"),
    [
        ("../x", SYMBOL, "exchange: '../x' cannot name a store directory"),
        ("..", SYMBOL, "exchange: '..' cannot name a store directory"),
        ("/etc", SYMBOL, "exchange: '/etc' cannot name a store directory"),
        ("", SYMBOL, "exchange: '' cannot name a store directory"),
        ("x", "..", "symbol: '..' cannot name a store directory"),
        ("x", ".hidden/USDT:USDT", "symbol: '.hidden/USDT:USDT' cannot name a store"),
        ("x", "A\\B/USDT:USDT", "cannot name a store directory"),
    ],
)
def test_names_that_leave_the_store_root_are_refused(
    tmp_path: Path, exchange: str, symbol: str, message: str
) -> None:
    first, _ = _versions()
    root = tmp_path / "root"
    with pytest.raises(DataValidationError) as caught:
        Store(root).write_candles(first.candles("trade"), exchange, symbol)
    assert message in str(caught.value)
    assert not any(p for p in tmp_path.rglob("*") if p.is_file())  # nothing written anywhere


def test_data_list_names_unreadable_store_files(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from levtrade.cli import app

    first, _ = _versions()
    written = Store(tmp_path).save(first, "x")
    trade = next(p for p in written if p.name == "1h-trade.parquet")
    data = trade.read_bytes()
    trade.write_bytes(data[: len(data) // 2])  # truncated: the footer is gone
    result = CliRunner().invoke(app, ["data", "list", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    by_file = {Path(row["path"]).name: row for row in json.loads(result.stdout)}
    assert by_file["1h-trade.parquet"]["error"].startswith("cannot read as parquet: ")
    assert by_file["1h-trade.parquet"]["rows"] == 0
    assert by_file["1h-mark.parquet"]["error"] is None
    assert by_file["1h-mark.parquet"]["rows"] == BARS
    table = CliRunner().invoke(app, ["data", "list", str(tmp_path)], env={"COLUMNS": "250"})
    line = next(x for x in table.stdout.splitlines() if "1h-trade.parquet" in x)
    assert "cannot read as parquet" in line


def test_data_list_names_a_garbage_freqtrade_feather(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from levtrade.cli import app

    futures = tmp_path / "futures"
    futures.mkdir()
    good = pd.DataFrame(
        {
            "date": pd.to_datetime([0, 3_600_000], unit="ms", utc=True),
            "open": [1.0, 2.0],
            "high": [1.0, 2.0],
            "low": [1.0, 2.0],
            "close": [1.0, 2.0],
            "volume": [1.0, 1.0],
        }
    )
    good.to_feather(futures / "BTC_USDT_USDT-1h-futures.feather")
    garbage = futures / "ETH_USDT_USDT-1h-futures.feather"
    garbage.write_bytes(b"\x00garbage, not arrow\xff")
    result = CliRunner().invoke(app, ["data", "list", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    rows = {Path(r["path"]).name: r for r in json.loads(result.stdout)}
    assert rows["BTC_USDT_USDT-1h-futures.feather"]["rows"] == 2
    assert "rows" not in rows["ETH_USDT_USDT-1h-futures.feather"]
    assert rows["ETH_USDT_USDT-1h-futures.feather"]["error"].startswith(
        f"{garbage}: cannot read as feather"
    )
