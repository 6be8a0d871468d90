"""Hypothesis properties of the account model.

* equity(LP) = MM(LP) and equity(BP) = 0, for random tiers, venues, modes and positions
  (cross multi-symbol, isolated, hedge legs, linear and inverse);
* after random sequences of fills, funding, transfers, leverage changes, mark moves and
  liquidations: the books balance and mirror the account, rejected actions change nothing, an
  isolated loss never reaches beyond its margin, and a liquidation never takes more than the
  margin at risk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings
from margin_helpers import VENUES, account, account_state, binance_btc, books_balance, instrument

from levtrade._validation import MAX_PRICE, MIN_PRICE
from levtrade.errors import LevtradeError
from levtrade.margin import CROSS_POOL, Account, Position, TierTable, contracts
from levtrade.margin.liquidation import LiquidationOutcome
from levtrade.model.venue import OutcomeModel

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
REL = 1e-9

LINEAR = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
BASE_PRICE = {"BTC/USDT:USDT": 100_000.0, "ETH/USDT:USDT": 3_000.0, "SOL/USDT:USDT": 150.0}


@st.composite
def tier_tables(draw: st.DrawFn, symbol: str, scale: float) -> TierTable:
    """1–4 tiers; floors in the notional range the positions reach; MMR rising with the tier,
    max leverage 1/(2·MMR) (so IM at the maximum exceeds MM); amounts by the recursion."""
    n = draw(st.integers(1, 4))
    floors = sorted(
        set(draw(st.lists(st.floats(0.01 * scale, 50 * scale), min_size=n - 1, max_size=n - 1)))
    )
    mmrs = sorted(
        draw(st.lists(st.floats(0.001, 0.1), min_size=len(floors) + 1, max_size=len(floors) + 1))
    )
    rows = [
        {"floor": floor, "mmr": mmr, "max_leverage": float(max(1, math.floor(0.5 / mmr)))}
        for floor, mmr in zip([0.0, *floors], mmrs, strict=True)
    ]
    return TierTable.from_rows(rows, venue="test", symbol=symbol)


@dataclass
class Spec:
    symbol: int
    size: float
    entry_factor: float
    mode: str
    leverage_share: float
    margin_factor: float


specs = st.builds(
    Spec,
    symbol=st.integers(0, 2),
    size=st.floats(0.01, 50.0).flatmap(lambda q: st.sampled_from([q, -q])),
    entry_factor=st.floats(0.8, 1.2),
    mode=st.sampled_from(["cross", "isolated", "strict_isolated"]),
    leverage_share=st.floats(0.0, 1.0),
    margin_factor=st.floats(0.3, 3.0),
)


@st.composite
def loaded_accounts(draw: st.DrawFn) -> Account:
    """An account as the calculator builds it: random venue, mode, tiers and positions."""
    venue = draw(st.sampled_from(sorted(VENUES)))
    profile = VENUES[venue]
    inverse = draw(st.booleans())
    hedge = profile.supports_hedge_mode and draw(st.booleans())
    if inverse:
        names = ["BTC/USD:BTC"]
        instruments = {
            "BTC/USD:BTC": instrument("BTC/USD:BTC", contract_size=100.0, taker_fee=0.0005)
        }
        tables = {"BTC/USD:BTC": draw(tier_tables("BTC/USD:BTC", 1.0))}
        wallet = draw(st.floats(0.0, 5.0))
    else:
        names = LINEAR
        instruments = {s: instrument(s, taker_fee=0.0005) for s in names}
        tables = {s: draw(tier_tables(s, 100_000.0)) for s in names}
        wallet = draw(st.floats(0.0, 1e6))
    acct = account(profile, wallet, tiers=tables, position_mode="hedge" if hedge else "one_way")
    for spec in draw(st.lists(specs, min_size=1, max_size=4)):
        name = names[spec.symbol % len(names)]
        inst = instruments[name]
        size = spec.size * (100.0 if inverse else 1.0)
        entry = (50_000.0 if inverse else BASE_PRICE[name]) * spec.entry_factor
        leg = ("LONG" if size > 0 else "SHORT") if hedge else None
        if acct.has_position(name, leg):
            continue
        notional = contracts.notional(inst, size, entry)
        lmax = tables[name].max_leverage_at(notional)
        if lmax < 1:
            continue
        leverage = 1.0 + spec.leverage_share * (lmax - 1.0)
        if profile.integer_leverage:
            leverage = float(math.floor(leverage))
        margin = notional / leverage * spec.margin_factor if spec.mode != "cross" else None
        acct.load_position(
            inst,
            size=size,
            entry_price=entry,
            mark_price=entry,
            leverage=leverage,
            margin_mode=spec.mode,
            isolated_margin=margin,
            leg=leg,
        )
    for name in {p.symbol for p in acct.positions}:
        factor = draw(st.floats(0.9, 1.1))
        acct.set_mark(name, acct.mark_price(name) * factor)
    return acct


def pool_equity_and_mm(acct: Account, pos: Position) -> tuple[float, float]:
    if pos.is_isolated:
        return acct.position_equity(pos), acct.maintenance_margin_of(pos)
    return acct.equity, acct.maintenance_margin


def scale_of(acct: Account) -> float:
    values = [abs(acct.wallet_balance), 1.0]
    for p in acct.positions:
        values += [acct.notional(p), abs(p.isolated_margin)]
    return sum(values)


@PROPERTY
@given(loaded_accounts())
def test_equity_equals_mm_at_the_liquidation_price(acct: Account) -> None:
    for pos in acct.positions:
        lp = acct.liquidation_price(pos)
        if lp is None or not MIN_PRICE <= lp <= MAX_PRICE:
            continue  # beyond any price a mark can take (a short with a large margin)
        mark = acct.mark_price(pos.symbol)
        acct.set_mark(pos.symbol, lp)
        equity, mm = pool_equity_and_mm(acct, acct.position(pos))
        assert abs(equity - mm) <= REL * scale_of(acct), (pos, lp, equity, mm)
        acct.set_mark(pos.symbol, mark)


@PROPERTY
@given(loaded_accounts())
def test_equity_is_zero_at_the_bankruptcy_price(acct: Account) -> None:
    for pos in acct.positions:
        bp = acct.bankruptcy_price(pos)
        if bp is None or not MIN_PRICE <= bp <= MAX_PRICE:
            continue  # beyond any price a mark can take (a short with a large margin)
        mark = acct.mark_price(pos.symbol)
        acct.set_mark(pos.symbol, bp)
        equity, _ = pool_equity_and_mm(acct, acct.position(pos))
        assert abs(equity) <= REL * scale_of(acct), (pos, bp, equity)
        acct.set_mark(pos.symbol, mark)


# ---------------------------------------------------------------------------------------------
# Random action sequences
# ---------------------------------------------------------------------------------------------

SYMBOLS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]
INSTRUMENTS = {s: instrument(s, taker_fee=0.0005, maker_fee=0.0002) for s in SYMBOLS}
TABLES = {
    "BTC/USDT:USDT": binance_btc(),
    "ETH/USDT:USDT": TierTable.from_rows(
        [
            {"floor": 0.0, "mmr": 0.005, "max_leverage": 100},
            {"floor": 50_000.0, "mmr": 0.01, "max_leverage": 50},
            {"floor": 250_000.0, "mmr": 0.02, "max_leverage": 25},
        ],
        venue="test",
        symbol="ETH/USDT:USDT",
    ),
}

fills = st.tuples(
    st.just("fill"),
    st.integers(0, 1),
    st.floats(0.05, 1.2).flatmap(lambda share: st.sampled_from([share, -share])),
    st.floats(0.99, 1.01),
    st.sampled_from(["cross", "cross", "isolated", "strict_isolated"]),
    st.integers(5, 60),
    st.booleans(),
)
marks = st.tuples(st.just("mark"), st.integers(0, 1), st.floats(0.8, 1.2))
liquidations = st.tuples(
    st.just("liquidate"),
    st.integers(0, 1),
    st.floats(0.75, 1.25),
    st.floats(-0.05, 0.05),
    st.floats(0.0, 0.01),
)
ACTIONS: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
    "fill": fills,
    "mark": marks,
    "liquidate": liquidations,
    "funding": st.tuples(st.just("funding"), st.integers(0, 1), st.floats(-0.005, 0.005)),
    "deposit": st.tuples(st.just("deposit"), st.floats(1.0, 50_000.0)),
    "withdraw": st.tuples(st.just("withdraw"), st.floats(0.0, 1.2)),
    "add": st.tuples(st.just("add"), st.integers(0, 3), st.floats(1.0, 20_000.0)),
    "remove": st.tuples(st.just("remove"), st.integers(0, 3), st.floats(0.0, 1.2)),
    "leverage": st.tuples(
        st.just("leverage"), st.integers(0, 1), st.integers(1, 120), st.booleans()
    ),
    "close": st.tuples(st.just("close"), st.integers(0, 3), st.floats(0.95, 1.05)),
    "tick": st.tuples(st.just("tick"), st.integers(1, 60_000)),
}
# fills, mark moves and liquidation runs are drawn more often than the rest, so that
# sequences reach liquidations of every outcome model
WEIGHTED = (
    ["fill"] * 4
    + ["mark"] * 3
    + ["liquidate"] * 3
    + sorted(set(ACTIONS) - {"fill", "mark", "liquidate"})
)
actions = st.sampled_from(WEIGHTED).flatmap(lambda kind: ACTIONS[kind])


def nth_position(acct: Account, index: int) -> Position | None:
    positions = acct.positions
    return positions[index % len(positions)] if positions else None


def run(acct: Account, action: tuple[Any, ...]) -> None:
    kind = action[0]
    if kind == "fill":
        # size: a signed share of what the available balance can carry at this leverage; in
        # hedge mode the other leg is picked for about half the fills (a reduce, or a reject)
        _, i, share, factor, mode, leverage, other_leg = action
        name = SYMBOLS[i]
        held = any(p.symbol == name for p in acct.positions)
        price = (acct.mark_price(name) if held else BASE_PRICE[name]) * factor
        size = share * max(acct.available_balance, 1.0) * leverage / price
        leg = None
        if acct.position_mode == "hedge":
            leg = "LONG" if (size > 0) != other_leg else "SHORT"
        fresh = not acct.has_position(name, leg)
        acct.fill(
            INSTRUMENTS[name],
            size,
            price,
            leg=leg,
            leverage=leverage if fresh else None,
            margin_mode=mode if fresh else None,
        )
    elif kind == "mark":
        name = SYMBOLS[action[1]]
        if any(p.symbol == name for p in acct.positions):
            acct.set_mark(name, acct.mark_price(name) * action[2])
    elif kind == "funding":
        name = SYMBOLS[action[1]]
        if any(p.symbol == name for p in acct.positions):
            acct.settle_funding(name, action[2])
    elif kind == "deposit":
        acct.deposit(action[1])
    elif kind == "withdraw":
        acct.withdraw(max(acct.withdrawable * action[1], 1e-6))
    elif kind == "add":
        pos = nth_position(acct, action[1])
        if pos is not None:
            acct.add_margin(pos, action[2])
    elif kind == "remove":
        pos = nth_position(acct, action[1])
        if pos is not None:
            acct.remove_margin(pos, max(acct.max_removable_margin(pos) * action[2], 1e-6))
    elif kind == "leverage":
        _, i, leverage, long_leg = action
        name = SYMBOLS[i]
        if name in {p.symbol for p in acct.positions}:
            leg = ("LONG" if long_leg else "SHORT") if acct.position_mode == "hedge" else None
            acct.set_leverage(name, leverage, leg=leg)
    elif kind == "close":
        pos = nth_position(acct, action[1])
        if pos is not None:
            acct.close(pos, acct.mark_price(pos.symbol) * action[2])
    elif kind == "tick":
        acct.time += action[1]


def check_liquidations(acct: Account, action: tuple[Any, ...]) -> None:
    """Move one mark (as a bar does before its liquidation test), liquidate every triggered
    pool, and check each outcome against the margin at risk."""
    _, i, factor, shift, slippage = action
    if any(p.symbol == SYMBOLS[i] for p in acct.positions):
        acct.set_mark(SYMBOLS[i], acct.mark_price(SYMBOLS[i]) * factor)
    prices = {p.symbol: acct.mark_price(p.symbol) * (1 + shift) for p in acct.positions}
    isolated_before = {p.key: p.isolated_margin for p in acct.positions if p.is_isolated}
    wallet_before = acct.wallet_balance
    results = acct.process_liquidations(prices=prices, slippage=slippage)
    tol = REL * max(scale_of(acct), 1e6)
    for result in results:
        # what stays with the trader: the pool's margin plus the remaining legs at execution
        remaining = 0.0
        for leg in result.legs:
            if acct.has_position(leg.key.symbol, leg.key.leg):
                pos = acct.position(leg.key)
                if result.pool == CROSS_POOL or pos.book == result.pool:
                    remaining += contracts.upnl(
                        pos.instrument, pos.size, pos.entry_price, leg.execution_price
                    )
        assert result.margin_after + remaining >= -tol, result
        assert result.released >= -tol, result
        assert result.trader_loss <= result.margin_before + remaining + tol
        if result.outcome is LiquidationOutcome.FULL and acct.venue.outcome_model is (
            OutcomeModel.BANKRUPTCY_CLOSE
        ):
            assert abs(result.margin_after + result.released) <= tol  # closed at bankruptcy
    if results and all(r.pool != CROSS_POOL for r in results):
        assert acct.wallet_balance >= wallet_before - tol  # isolated pools only return money
    if any(r.pool == CROSS_POOL for r in results):
        for p in acct.positions:  # a cross liquidation never touches isolated margins
            if (
                p.is_isolated
                and p.key in isolated_before
                and not any(r.pool == p.book for r in results)
            ):
                assert p.isolated_margin == isolated_before[p.key]


@PROPERTY
@given(
    venue=st.sampled_from(sorted(VENUES)),
    hedge=st.booleans(),
    wallet=st.floats(1_000.0, 100_000.0),
    steps=st.lists(actions, min_size=10, max_size=40),
)
def test_books_balance_through_random_sequences(
    venue: str, hedge: bool, wallet: float, steps: list[tuple[Any, ...]]
) -> None:
    profile = VENUES[venue]
    mode = "hedge" if hedge and profile.supports_hedge_mode else "one_way"
    acct = account(profile, wallet, tiers=TABLES, position_mode=mode)
    for action in steps:
        if action[0] == "liquidate":
            check_liquidations(acct, action)
            books_balance(acct)
            continue
        before = account_state(acct)
        isolated_before = {p.key: p.isolated_margin for p in acct.positions if p.is_isolated}
        closing = nth_position(acct, action[1]) if action[0] == "close" else None
        try:
            run(acct, action)
        except LevtradeError:
            assert account_state(acct) == before, action  # a rejected action changes nothing
            continue
        books_balance(acct)
        if action[0] in ("fill", "close"):
            # trading never takes an isolated position below zero margin
            for pos in acct.positions:
                if pos.is_isolated and isolated_before.get(pos.key, 0.0) >= 0.0:
                    assert pos.isolated_margin >= -REL * scale_of(acct), (action, pos)
        if closing is not None and closing.is_isolated:
            # its loss stays inside its margin: closing only returns money to the cross wallet
            assert acct.wallet_balance >= before[0] - REL * scale_of(acct), action


def test_every_action_kind_once() -> None:
    """A fixed hedge-mode sequence through every action kind, books checked after each."""
    acct = account(VENUES["binance"], 50_000.0, tiers=TABLES, position_mode="hedge")
    steps: list[tuple[Any, ...]] = [
        ("fill", 0, 0.5, 1.0, "isolated", 20, False),  # LONG BTC, half the available at 20x
        ("fill", 1, -0.5, 1.0, "cross", 10, False),  # SHORT ETH
        ("mark", 0, 1.04),  # BTC up 4 %: the isolated long has removable margin
        ("funding", 1, 0.001),
        ("add", 0, 500.0),
        ("remove", 0, 0.5),
        ("leverage", 1, 20, False),
        ("close", 1, 1.0),
        ("tick", 1_000),
    ]
    for action in steps:
        run(acct, action)
        books_balance(acct)
    assert [p.leg for p in acct.positions] == ["LONG"]  # the ETH short was closed
    # BTC to 1.04·0.8 = 0.832 of its entry: the 20x isolated long is liquidated
    check_liquidations(acct, ("liquidate", 0, 0.8, 0.0, 0.0))
    assert acct.positions == []
    books_balance(acct)
