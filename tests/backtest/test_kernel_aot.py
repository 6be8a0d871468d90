"""The kernel built ahead of time (:mod:`levtrade.backtest.kernel_aot`) against the same
kernel compiled just in time: every output array identical, bit for bit, on runs that reach
the kernel's steps (fills, stops, trailing stops, ROI, the buffer floor, funding, isolated and
cross liquidation with each venue's outcome model, hedge legs, a cross pool spanning symbols);
and the choice between the two."""

from __future__ import annotations

import importlib.util
import logging
import sysconfig
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numba
import numpy as np
import pytest
from test_engines_agree import BOOK, SINGLE, crash_longs, random_signals, symbols_of, venue_tiers

from levtrade.backtest import kernel, kernel_aot, kernel_core
from levtrade.backtest import kernel_layout as layout
from levtrade.data import MarketData, Portfolio
from levtrade.spec.config import BacktestConfig
from levtrade.strategy.signals import SignalRules, Signals

RULES = {
    "stops": SignalRules(can_short=True, stoploss=-0.2, minimal_roi={0: 0.3, 240: 0.1}),
    "trailing": SignalRules(
        can_short=True,
        stoploss=-0.5,
        trailing_stop=True,
        trailing_stop_positive=0.01,
        trailing_stop_positive_offset=0.02,
    ),
    "bare": SignalRules(can_short=True),
}


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The installed build when it is current, else one built here from these sources."""
    module = kernel_aot.native_module()
    if module is not None:
        return module
    name = kernel_aot.MODULE.rsplit(".", 1)[1]
    target = tmp_path_factory.mktemp("kernel") / f"{name}{sysconfig.get_config_var('EXT_SUFFIX')}"
    kernel_aot.build(target)
    spec = importlib.util.spec_from_file_location(kernel_aot.MODULE, target)
    assert spec is not None and spec.loader is not None
    built = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(built)
    return built


def outputs(
    data: MarketData | Portfolio,
    signals: Signals,
    config: BacktestConfig,
    simulate: Any,
    replay: Any,
) -> tuple[np.ndarray[Any, Any], ...]:
    """The tables of a run and its series replayed from its state log, by one build."""
    inputs = kernel.prepare_inputs(data, signals, config)
    tables = inputs.simulate(simulate)
    return (*inputs.series(tables[3], replay), *tables)


CASES = [
    # venue, margin mode, position mode, book (else one symbol), rules (bare: crash_longs)
    ("binance", "cross", "one_way", True, "stops"),
    ("binance", "isolated", "one_way", False, "trailing"),
    ("binance", "cross", "hedge", True, "trailing"),
    ("binance", "cross", "one_way", True, "bare"),
    ("bybit", "isolated", "hedge", False, "stops"),
    ("bybit", "isolated", "one_way", True, "bare"),
    ("okx", "isolated", "one_way", True, "stops"),
    ("okx", "cross", "hedge", True, "bare"),
    ("hyperliquid", "cross", "one_way", True, "bare"),
    ("hyperliquid", "isolated", "one_way", True, "trailing"),
    ("dydx", "cross", "one_way", True, "bare"),
    ("dydx", "isolated", "one_way", True, "stops"),
]


@pytest.mark.parametrize(("venue", "mode", "position_mode", "book", "rules"), CASES)
def test_the_ahead_of_time_build_equals_the_just_in_time_kernel(
    native: ModuleType,
    venue: str,
    mode: str,
    position_mode: str,
    book: bool,
    rules: str,
) -> None:
    data: MarketData | Portfolio = BOOK if book else SINGLE
    config = BacktestConfig(
        venue=venue,
        margin_mode=mode,
        position_mode=position_mode,
        leverage=20,
        stake_amount="unlimited" if rules == "bare" else 500.0,
        slippage_bps=5.0,
        liquidation_slippage_bps=10.0,
        liquidation_buffer=0.1 if position_mode == "hedge" or rules == "stops" else 0.0,
        tiers=venue_tiers(venue, symbols_of(data)),
    )
    if rules == "bare":
        signals = crash_longs(data, RULES[rules])
    else:
        signals = random_signals(data, len(venue) + len(mode), density=0.02, rules=RULES[rules])
    kernel_core.compile_kernels()
    compiled = outputs(data, signals, config, kernel_core.simulate, kernel_core.replay_series)
    built = outputs(data, signals, config, native.simulate, native.replay_series)
    names = (
        "series", "liquidation prices", "notionals", "ledger", "trades", "orders", "state log",
        "account",
    )  # fmt: skip
    for name, jit, aot in zip(names, compiled, built, strict=True):
        assert jit.shape == aot.shape, name
        assert np.array_equal(jit, aot, equal_nan=True), name
    trades = compiled[4]
    assert len(trades) > 0
    if rules == "bare":  # the crash liquidates
        assert (trades[:, layout.T_REASON] == layout.ORIGIN_LIQUIDATION).any()


@pytest.fixture
def fresh_choice(monkeypatch: pytest.MonkeyPatch) -> Callable[[], tuple[str, Any]]:
    """simulate_function with its remembered choice cleared (and restored after)."""
    monkeypatch.setattr(kernel_aot, "_chosen", None)
    return kernel_aot.simulate_function


def test_the_current_build_is_chosen(
    native: ModuleType,
    fresh_choice: Callable[[], tuple[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kernel_aot, "_native", lambda: (native, ""))
    monkeypatch.delenv(kernel_aot.BACKEND_VARIABLE, raising=False)
    backend, simulate = fresh_choice()
    assert backend == "aot"
    inputs = kernel.prepare_inputs(SINGLE, crash_longs(SINGLE, RULES["bare"]), BacktestConfig())
    built, direct = inputs.simulate(simulate), inputs.simulate(native.simulate)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(built, direct, strict=True))


def test_the_build_refuses_arguments_of_other_types(native: ModuleType) -> None:
    # the compiled module itself has no type dispatch: the check stands in for it
    simulate = kernel_aot.checked(native.simulate)
    inputs = kernel.prepare_inputs(SINGLE, crash_longs(SINGLE, RULES["bare"]), BacktestConfig())
    n = inputs.run.bars
    market = inputs.market
    funding = np.zeros(n, dtype=bool)
    out = (
        np.empty((8, 6)), np.empty((8, 12)), np.empty((8, 16)), np.zeros(4, dtype=np.int64),
        np.empty((8, 8)),
    )  # fmt: skip
    with pytest.raises(TypeError, match="simulate argument 0: array\\(float32"):
        simulate(np.zeros(n, dtype=np.float32), market, funding, inputs.signals,
                 inputs.context, out)  # fmt: skip
    with pytest.raises(TypeError, match="simulate argument 2"):
        simulate(inputs.run.timestamps, market, funding.astype(np.int8), inputs.signals,
                 inputs.context, out)  # fmt: skip
    frozen = tuple(table.copy() for table in out)
    for table in frozen:
        table.flags.writeable = False
    with pytest.raises(TypeError, match="simulate argument 5"):  # the kernel writes its tables
        simulate(inputs.run.timestamps, market, funding, inputs.signals, inputs.context,
                 frozen)  # fmt: skip
    with pytest.raises(TypeError, match="simulate takes 6 arguments, not 2"):
        simulate(inputs.run.timestamps, market)
    replay = kernel_aot.checked(native.replay_series, kernel_core.SERIES_SIGNATURE, "replay_series")
    series = (np.empty((n, 5)), np.empty((n, 1)), np.empty((n, 1)))
    closes = market[kernel_core.MK_MARK_CLOSE]
    with pytest.raises(TypeError, match="replay_series argument 0"):  # a log of other floats
        replay(np.empty((0, 8), dtype=np.float32), market, closes, inputs.context, series)
    with pytest.raises(TypeError, match="replay_series argument 4"):
        replay(np.empty((0, 8)), market, closes, inputs.context, series[:2])


def test_arrays_are_typed_as_numba_types_them() -> None:
    # the check types an array once per kind: each kind as numba.typeof says, the second
    # array of a kind too (its type read from the first)
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    frozen = base.copy()
    frozen.flags.writeable = False
    arrays = [
        base,
        np.asfortranarray(base),
        base[:, ::2],
        base[:, 1],
        frozen,
        base.astype(np.float32),
        np.zeros(5, dtype=np.bool_),
        np.zeros((3, 1), dtype=np.uint8),
        np.zeros(0, dtype=np.int64),
    ]
    for array in arrays + [a.copy(order="K") for a in arrays]:
        assert kernel_aot._array_type(array) == numba.typeof(array), (array.dtype, array.flags)


def test_a_build_from_other_sources_is_not_used(
    native: ModuleType,
    fresh_choice: Callable[[], tuple[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # an edited checkout: the sources' digest is no longer the one compiled into the module
    monkeypatch.setattr(kernel_core, "source_digest", lambda: "f" * 64)
    edited = kernel_aot.build_digest(kernel_aot.target_cpu())
    assert native.build_digest() != kernel_aot.digest_number(edited)
    assert kernel_aot.native_module() is None
    with caplog.at_level(logging.WARNING, logger=kernel_aot.__name__):
        assert fresh_choice() == ("jit", kernel_core.simulate)
    assert "the ahead-of-time build is from other sources" in caplog.text


def test_a_processor_without_the_build_level_falls_back(
    native: ModuleType,
    fresh_choice: Callable[[], tuple[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(kernel_aot, "target_cpu", lambda: kernel_aot.X86_64_V2)
    monkeypatch.setattr(kernel_aot, "host_supports", lambda cpu: False)
    assert kernel_aot.native_module() is None
    with caplog.at_level(logging.WARNING, logger=kernel_aot.__name__):
        assert fresh_choice() == ("jit", kernel_core.simulate)
    assert "the ahead-of-time build needs an x86-64-v2 processor" in caplog.text


def test_the_x86_64_v2_level_needs_sse4_2_and_popcnt() -> None:
    level = dict.fromkeys(kernel_aot.X86_64_V2_FEATURES, True)
    assert kernel_aot.host_supports(kernel_aot.X86_64_V2, level)
    assert kernel_aot.host_supports(kernel_aot.X86_64_V2, {**level, "avx2": False})
    assert not kernel_aot.host_supports(kernel_aot.X86_64_V2, {**level, "sse4.2": False})
    assert not kernel_aot.host_supports(kernel_aot.X86_64_V2, {**level, "popcnt": False})
    assert kernel_aot.host_supports("", {})  # an architecture's generic model


def test_the_build_digest_covers_the_cpu_model() -> None:
    assert kernel_aot.build_digest(kernel_aot.X86_64_V2) != kernel_aot.build_digest("")


def test_the_just_in_time_kernel_on_request(
    fresh_choice: Callable[[], tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(kernel_aot.BACKEND_VARIABLE, "JIT")
    assert fresh_choice() == ("jit", kernel_core.simulate)


def test_an_unknown_backend_is_named_in_the_error(
    fresh_choice: Callable[[], tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(kernel_aot.BACKEND_VARIABLE, "gpu")
    with pytest.raises(ValueError, match="LEVTRADE_KERNEL='gpu'"):
        fresh_choice()


def test_the_digest_number_is_the_digest_prefix() -> None:
    # 15 hex digits = 60 bits: fits the int64 the module returns
    assert kernel_aot.digest_number("0" * 14 + "1" + "f" * 49) == 1
    assert kernel_aot.digest_number("f" * 64) == 2**60 - 1
