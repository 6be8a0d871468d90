"""SymbolSignals: the executed signals follow FreqTrade's candle rules for every combination of
flags, and the leverage/stake checks name the smallest bad value."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from levtrade.errors import ConfigError
from levtrade.strategy.signals import SignalRules, SymbolSignals


def _random_table(bars: int = 4096) -> SymbolSignals:
    rng = np.random.default_rng(7)
    flags = {name: rng.random(bars) < 0.3 for name in ("el", "xl", "es", "xs")}
    return SymbolSignals.from_arrays(
        bars,
        enter_long=flags["el"],
        exit_long=flags["xl"],
        enter_short=flags["es"],
        exit_short=flags["xs"],
    )


@pytest.mark.parametrize(
    ("can_short", "use_exit", "hedge"), list(itertools.product([False, True], repeat=3))
)
def test_executed_follows_the_candle_rules(can_short: bool, use_exit: bool, hedge: bool) -> None:
    table = _random_table()
    rules = SignalRules(can_short=can_short, use_exit_signal=use_exit)
    acted = table.executed(rules, hedge=hedge)
    el, xl, es, xs = table.enter_long, table.exit_long, table.enter_short, table.exit_short
    if hedge:
        expected = (el, xl & use_exit, es, xs & use_exit)
    else:
        shorts = es & can_short
        expected = (
            el & ~xl & ~shorts,
            xl & ~el & use_exit,
            shorts & ~xs & ~el,
            xs & ~es & use_exit,
        )
    got = (acted.enter_long, acted.exit_long, acted.enter_short, acted.exit_short)
    for column, want in zip(got, expected, strict=True):
        assert column.dtype == np.bool_
        assert np.array_equal(column, want)
    # the table it came from is left as it was
    assert not any(np.shares_memory(a, b) for a in got[1::2] for b in (xl, xs))


def test_flags_are_copied_and_numbers_converted() -> None:
    flags = np.array([True, False, True])
    table = SymbolSignals.from_arrays(3, enter_long=flags, exit_long=[1, 0, 2])
    flags[0] = False  # the caller's array changed after: the table keeps what it was given
    assert table.enter_long.tolist() == [True, False, True]
    assert table.exit_long.tolist() == [True, False, True]
    assert table.enter_short.tolist() == [False] * 3


def test_flags_nothing_can_write_are_shared_not_copied() -> None:
    frozen = np.array([True, False, True])
    frozen.flags.writeable = False
    view = frozen[::-1]  # read-only, and so is the array it views
    writable_base = np.array([False, True, False])
    readonly_view = writable_base[:]
    readonly_view.flags.writeable = False  # its base can still be written: copied
    foreign = np.frombuffer(bytearray(b"\x01\x00\x01"), dtype=np.bool_)  # owned by a buffer
    foreign.flags.writeable = False
    table = SymbolSignals.from_arrays(
        3, enter_long=frozen, exit_long=view, enter_short=readonly_view, exit_short=foreign
    )
    assert table.enter_long is frozen
    assert table.exit_long is view
    writable_base[0] = True
    assert table.enter_short.tolist() == [False, True, False]
    assert not np.shares_memory(table.exit_short, foreign)
    assert table.exit_short.tolist() == [True, False, True]


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("leverage", [math.nan, 3.0, 0.5, 0.75], "signals.leverage: must be ≥ 1, got 0.5"),
        ("leverage", [-math.inf, math.nan], "signals.leverage: must be ≥ 1, got -inf"),
        ("stake", [math.nan, 10.0, 0.0, math.nan], "signals.stake: must be > 0, got 0.0"),
        ("stake", [5.0, -2.0, math.nan, 1.0], "signals.stake: must be > 0, got -2.0"),
    ],
)
def test_bad_leverage_or_stake_names_the_smallest(
    column: str, values: list[float], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        SymbolSignals.from_arrays(len(values), **{column: values})
    assert str(caught.value) == message


def test_nan_and_valid_leverage_and_stake_pass() -> None:
    table = SymbolSignals.from_arrays(
        3, leverage=[math.nan, 1.0, math.inf], stake=[math.nan, 1e-9, 5.0]
    )
    assert table.bars == 3
    assert SymbolSignals.from_arrays(0).bars == 0
