"""Fills, fees, margin modes, leverage, transfers and rejections, with hand calculations."""

from __future__ import annotations

import math

import pytest
from margin_helpers import (
    BINANCE,
    BTC,
    BTC_USDC,
    ETH,
    HYPERLIQUID,
    HYPERLIQUID_BTC_ROWS,
    account,
    account_state,
    books_balance,
    hyperliquid,
    instrument,
    single,
)

from levtrade.errors import (
    ConfigError,
    InsufficientMargin,
    LeverageError,
    OrderRejected,
    TransferRejected,
    UnknownSymbolError,
)
from levtrade.margin import Account, EntryKind, Leg, MarginMode, PositionKey, PositionNotFound
from levtrade.model.instrument import Instrument

FEE_BTC = instrument("BTC/USDT:USDT", taker_fee=0.0005, maker_fee=0.0002)
HL_TIERS = {"BTC/USDC:USDC": hyperliquid(HYPERLIQUID_BTC_ROWS, "BTC/USDC:USDC")}


# ---------------------------------------------------------------------------------------------
# Cross fills
# ---------------------------------------------------------------------------------------------


def test_open_increase_reduce_close_cross_with_fees() -> None:
    acct = account(BINANCE, 10_000.0)
    # buy 1 @100k, 20x: fee 0.05 %·100,000 = 50; IM 5,000
    r = acct.fill(FEE_BTC, 1.0, 100_000.0, leverage=20, time=1)
    assert r.fee == pytest.approx(50.0)
    assert acct.wallet_balance == pytest.approx(9_950.0)
    assert acct.initial_margin == pytest.approx(5_000.0)
    assert acct.available_balance == pytest.approx(4_950.0)
    # buy 1 more @110k: entry (100,000 + 110,000)/2 = 105,000; fee 55
    acct.set_mark(FEE_BTC, 110_000.0)
    r = acct.fill(FEE_BTC, 1.0, 110_000.0, time=2)
    assert r.position is not None
    assert r.position.entry_price == pytest.approx(105_000.0)
    assert acct.wallet_balance == pytest.approx(9_895.0)
    # sell 0.5 @120k: realized 0.5·15,000 = 7,500; fee 0.05 %·60,000 = 30
    r = acct.fill(FEE_BTC, -0.5, 120_000.0, time=3)
    assert r.realized_pnl == pytest.approx(7_500.0)
    assert r.fee == pytest.approx(30.0)
    assert r.closed == -0.5 and r.opened == 0.0
    assert acct.wallet_balance == pytest.approx(9_895.0 + 7_500.0 - 30.0)
    # sell the rest 1.5 @100k: realized 1.5·(−5,000) = −7,500; fee 0.05 %·150,000 = 75
    r = acct.fill(FEE_BTC, -1.5, 100_000.0, time=4)
    assert r.position is None
    assert acct.positions == []
    assert acct.wallet_balance == pytest.approx(17_365.0 - 7_500.0 - 75.0)
    books_balance(acct)
    frame = acct.ledger.to_frame()
    assert list(frame.columns) == [
        "time",
        "kind",
        "symbol",
        "source",
        "destination",
        "amount",
        "currency",
    ]
    assert str(frame["time"].dtype) == "int64"
    assert frame["kind"].tolist() == [
        "deposit",
        "fee",
        "fee",
        "realized_pnl",
        "fee",
        "realized_pnl",
        "fee",
    ]
    assert set(frame["currency"]) == {"USDT"}
    # fees: 50 + 55 + 30 + 75 = 210
    assert acct.ledger.balance("fees") == pytest.approx(210.0)


def test_maker_fee_and_explicit_fee_rate() -> None:
    acct = account(BINANCE, 10_000.0)
    # maker 0.02 %·100,000 = 20
    assert acct.fill(FEE_BTC, 1.0, 100_000.0, leverage=20, liquidity="maker").fee == pytest.approx(
        20.0
    )
    # explicit rebate −0.01 %: the fee book pays the wallet 10
    r = acct.fill(FEE_BTC, -1.0, 100_000.0, fee_rate=-0.0001)
    assert r.fee == pytest.approx(-10.0)
    assert acct.wallet_balance == pytest.approx(10_000.0 - 20.0 + 10.0)
    books_balance(acct)


def test_one_way_flip_closes_then_opens_the_rest() -> None:
    acct = account(BINANCE, 10_000.0)
    acct.fill(BTC, 1.0, 100_000.0, leverage=20)
    # sell 3 @110k: close the long (+10,000), open a 2 BTC short at 110k
    r = acct.fill(BTC, -3.0, 110_000.0)
    assert r.closed == -1.0 and r.opened == -2.0
    assert r.realized_pnl == pytest.approx(10_000.0)
    assert r.position is not None
    assert r.position.size == -2.0 and r.position.entry_price == 110_000.0
    assert acct.wallet_balance == pytest.approx(20_000.0)
    books_balance(acct)


def test_flip_is_rejected_whole_when_the_new_side_lacks_margin() -> None:
    acct = account(BINANCE, 6_000.0)
    acct.fill(BTC, 1.0, 100_000.0, leverage=20)
    before = account_state(acct)
    # closing at 100k frees the 5,000 IM, but a 3 BTC short needs 15,000 with 6,000 available
    with pytest.raises(InsufficientMargin, match="size"):
        acct.fill(BTC, -4.0, 100_000.0)
    assert account_state(acct) == before


def test_cross_open_beyond_available_balance_is_rejected_and_changes_nothing() -> None:
    acct = account(BINANCE, 1_000.0)
    acct.register(BTC)
    before = account_state(acct)
    # 1 BTC @100k at 20x needs 5,000 IM; 1,000 available
    with pytest.raises(InsufficientMargin, match=r"size: BTC/USDT:USDT BOTH needs initial margin"):
        acct.fill(BTC, 1.0, 100_000.0, leverage=20, time=5)
    assert account_state(acct) == before
    assert acct.leverage(BTC) == 1.0  # the leverage given with the rejected fill was not kept


def test_cross_close_past_bankruptcy_is_rejected() -> None:
    # 0.1 BTC @100k, wallet 1,000; mark 85,000 → equity 1,000 − 1,500 = −500
    acct = account(BINANCE, 1_000.0)
    acct.fill(BTC, 0.1, 100_000.0, leverage=20)
    acct.set_mark(BTC, 85_000.0)
    before = account_state(acct)
    with pytest.raises(OrderRejected, match="must be liquidated"):
        acct.fill(BTC, -0.1, 85_000.0)
    assert account_state(acct) == before


# ---------------------------------------------------------------------------------------------
# Isolated and strict isolated
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["isolated", "strict_isolated"])
def test_isolated_open_partial_close_and_close(mode: str) -> None:
    acct = account(BINANCE, 10_000.0)
    # buy 1 @100k 20x: IM 5,000 to the isolated book, fee 50 from cross
    r = acct.fill(FEE_BTC, 1.0, 100_000.0, leverage=20, margin_mode=mode)
    pos = r.position
    assert pos is not None and pos.margin_mode == mode
    assert pos.isolated_margin == pytest.approx(5_000.0)
    assert acct.wallet_balance == pytest.approx(4_950.0)
    assert acct.equity == pytest.approx(4_950.0)  # no cross positions
    # sell 0.5 @96k: PnL −2,000 and fee 24 settle into the margin (5,000 → 2,976), then half of
    # it (1,488) is released to cross
    acct.set_mark(FEE_BTC, 96_000.0)
    acct.fill(FEE_BTC, -0.5, 96_000.0)
    assert acct.position(pos).isolated_margin == pytest.approx(1_488.0)
    assert acct.wallet_balance == pytest.approx(4_950.0 + 1_488.0)
    # sell 0.5 @98k: PnL −1,000, fee 24.5 → 463.5 released
    acct.fill(FEE_BTC, -0.5, 98_000.0)
    assert acct.positions == []
    # 10,000 − 3,000 PnL − (50 + 24 + 24.5) fees
    assert acct.wallet_balance == pytest.approx(6_901.5)
    assert acct.ledger.balance(pos.book) == 0.0
    books_balance(acct)


def test_isolated_open_needs_cross_available_for_im_and_fee() -> None:
    acct = account(BINANCE, 5_020.0)
    before = account_state(acct)
    # IM 5,000 + fee 50 > 5,020
    with pytest.raises(InsufficientMargin, match="fee 50"):
        acct.fill(FEE_BTC, 1.0, 100_000.0, leverage=20, margin_mode="isolated")
    assert account_state(acct) == before


def test_isolated_loss_beyond_margin_is_rejected() -> None:
    acct = account(BINANCE, 10_000.0)
    acct.fill(BTC, 1.0, 100_000.0, leverage=20, margin_mode="isolated")
    before = account_state(acct)
    # bankruptcy at 95,000; a close at 94,000 would lose 6,000 of a 5,000 margin
    with pytest.raises(OrderRejected, match="past its bankruptcy price"):
        acct.fill(BTC, -1.0, 94_000.0)
    assert account_state(acct) == before


def test_strict_isolated_forbids_removal_but_allows_top_up() -> None:
    acct = account(BINANCE, 10_000.0)
    pos = acct.fill(BTC, 1.0, 100_000.0, leverage=20, margin_mode="strict_isolated").position
    assert pos is not None
    assert acct.max_removable_margin(pos) == 0.0
    before = account_state(acct)
    with pytest.raises(TransferRejected, match="position: BTC/USDT:USDT BOTH is strict_isolated"):
        acct.remove_margin(pos, 1.0)
    assert account_state(acct) == before
    acct.add_margin(pos, 1_000.0)
    assert acct.position(pos).isolated_margin == pytest.approx(6_000.0)
    books_balance(acct)


def test_isolated_remove_margin_limit() -> None:
    acct = account(BINANCE, 10_000.0)
    pos = acct.fill(BTC, 1.0, 100_000.0, leverage=20, margin_mode="isolated").position
    assert pos is not None
    acct.set_mark(BTC, 103_000.0)
    # BN-13a: 2,850 removable
    with pytest.raises(TransferRejected, match="amount: 2851"):
        acct.remove_margin(pos, 2_851.0)
    acct.remove_margin(pos, 2_850.0)
    assert acct.position(pos).isolated_margin == pytest.approx(2_150.0)
    assert acct.wallet_balance == pytest.approx(5_000.0 + 2_850.0)
    books_balance(acct)


def test_add_margin_limit_binance() -> None:
    # cross wallet 10,000 − 5,000 IM = 5,000 with no cross positions: addable = min(5,000, 5,000)
    acct = account(BINANCE, 10_000.0)
    pos = acct.fill(BTC, 1.0, 100_000.0, leverage=20, margin_mode="isolated").position
    assert pos is not None
    assert acct.max_addable_margin(pos) == pytest.approx(5_000.0)
    with pytest.raises(TransferRejected, match="addable"):
        acct.add_margin(pos, 5_000.01)


def test_transfers_on_cross_positions_are_rejected() -> None:
    acct = account(BINANCE, 10_000.0)
    pos = acct.fill(BTC, 0.1, 100_000.0, leverage=20).position
    assert pos is not None
    with pytest.raises(TransferRejected, match="is cross"):
        acct.add_margin(pos, 1.0)
    with pytest.raises(TransferRejected, match="is cross"):
        acct.remove_margin(pos, 1.0)


def test_deposit_withdraw_and_their_errors() -> None:
    acct = account(BINANCE, 1_000.0)
    acct.deposit(500.0, time=7)
    acct.withdraw(200.0, time=8)
    assert acct.wallet_balance == pytest.approx(1_300.0)
    assert acct.ledger.balance("external") == pytest.approx(-1_300.0)
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(TransferRejected, match="amount"):
            acct.deposit(bad)
    with pytest.raises(TransferRejected, match=r"amount: 1300\.5 exceeds the withdrawable"):
        acct.withdraw(1_300.5)
    kinds = [e.kind for e in acct.ledger.entries]
    assert kinds == [EntryKind.DEPOSIT, EntryKind.DEPOSIT, EntryKind.WITHDRAWAL]
    assert [e.time for e in acct.ledger.entries] == [0, 7, 8]


# ---------------------------------------------------------------------------------------------
# Leverage
# ---------------------------------------------------------------------------------------------


def test_leverage_limited_by_the_tier_at_the_post_fill_notional() -> None:
    acct = account(BINANCE, 1_000_000.0)
    with pytest.raises(LeverageError, match="leverage: 151 is above the tier maximum 150"):
        acct.set_leverage(BTC, 151)
    acct.set_leverage(BTC, 125)
    before = account_state(acct)
    # 4 BTC @100k = 400k notional: bracket 2 allows 100x
    with pytest.raises(LeverageError, match="maximum 100"):
        acct.fill(BTC, 4.0, 100_000.0)
    assert account_state(acct) == before
    acct.fill(BTC, 2.0, 100_000.0)  # 200k: bracket 1, 125x allowed
    with pytest.raises(LeverageError, match="leverage: must be ≥ 1"):
        acct.set_leverage(BTC, 0.5)


def test_lowering_isolated_leverage_needs_margin_for_the_new_im() -> None:
    acct = account(BINANCE, 10_000.0)
    pos = acct.fill(BTC, 1.0, 100_000.0, leverage=20, margin_mode="isolated").position
    assert pos is not None
    before = account_state(acct)
    # 10x needs IM 10,000; the position holds 5,000
    with pytest.raises(InsufficientMargin, match="needs isolated margin ≥ 10000"):
        acct.set_leverage(BTC, 10)
    assert account_state(acct) == before
    acct.add_margin(pos, 5_000.0)
    acct.set_leverage(BTC, 10)
    assert acct.position(pos).leverage == 10
    acct.set_leverage(BTC, 50)  # raising is always allowed
    assert acct.initial_margin_of(pos) == pytest.approx(2_000.0)


def test_lowering_cross_leverage_needs_available_balance() -> None:
    acct = account(BINANCE, 6_000.0)
    acct.fill(BTC, 1.0, 100_000.0, leverage=20)  # IM 5,000, available 1,000
    before = account_state(acct)
    with pytest.raises(InsufficientMargin, match="leverage: 10"):
        acct.set_leverage(BTC, 10)  # IM 10,000
    assert account_state(acct) == before
    acct.set_leverage(BTC, 25)
    assert acct.initial_margin == pytest.approx(4_000.0)


def test_hyperliquid_integer_leverage_and_raise_on_open_position() -> None:
    acct = account(HYPERLIQUID, 10_000.0, tiers=HL_TIERS)
    with pytest.raises(LeverageError, match="whole numbers"):
        acct.set_leverage(BTC_USDC, 10.5)
    with pytest.raises(LeverageError, match="maximum 40"):
        acct.set_leverage(BTC_USDC, 41)
    acct.fill(BTC_USDC, 1.0, 100_000.0, leverage=20)
    acct.set_leverage(BTC_USDC, 40)
    assert acct.initial_margin == pytest.approx(2_500.0)


def test_load_position_leverage_checked_at_the_position_notional() -> None:
    acct = account(BINANCE, 0.0)
    # 4 BTC @100k = 400k: bracket 2, max 100x
    with pytest.raises(LeverageError, match="leverage: 125"):
        acct.load_position(BTC, size=4.0, entry_price=100_000.0, leverage=125, margin_mode="cross")
    with pytest.raises(LeverageError, match="leverage: must be ≥ 1"):
        acct.load_position(BTC, size=1.0, entry_price=100_000.0, leverage=0.5, margin_mode="cross")
    assert acct.positions == [] and len(acct.ledger) == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"size": 0.0}, ConfigError, "size"),
        ({"size": math.nan}, ConfigError, "size"),
        ({"entry_price": -1.0}, ConfigError, "entry_price"),
        ({"margin_mode": "isolated"}, ConfigError, "isolated_margin: required"),
        ({"margin_mode": "isolated", "isolated_margin": -5.0}, ConfigError, "isolated_margin"),
        ({"isolated_margin": 5.0}, ConfigError, "isolated_margin: a cross position"),
        ({"margin_mode": "portfolio"}, ConfigError, "margin_mode: must be one of"),
        ({"mark_price": 0.0}, ConfigError, "mark_price"),
        ({"leg": "LONG"}, ConfigError, "leg: one_way positions use BOTH"),
    ],
)
def test_load_position_validation(kwargs: dict[str, object], error: type, field: str) -> None:
    acct = account(BINANCE, 0.0)
    args: dict[str, object] = {
        "size": 1.0,
        "entry_price": 100_000.0,
        "leverage": 20,
        "margin_mode": "cross",
    }
    args.update(kwargs)
    with pytest.raises(error, match=field):
        acct.load_position(BTC, **args)  # type: ignore[arg-type]
    assert acct.positions == [] and len(acct.ledger) == 0


def test_load_position_twice_is_rejected() -> None:
    acct = account(BINANCE, 0.0)
    acct.load_position(BTC, size=1.0, entry_price=100_000.0, leverage=20, margin_mode="cross")
    with pytest.raises(ConfigError, match="already has an open position"):
        acct.load_position(BTC, size=1.0, entry_price=100_000.0, leverage=20, margin_mode="cross")


# ---------------------------------------------------------------------------------------------
# Modes, keys, instruments
# ---------------------------------------------------------------------------------------------


def test_hedge_mode_legs() -> None:
    acct = account(BINANCE, 100_000.0, position_mode="hedge")
    with pytest.raises(ConfigError, match="leg: hedge mode needs LONG or SHORT"):
        acct.fill(BTC, 1.0, 100_000.0)
    acct.fill(BTC, 1.0, 100_000.0, leg="LONG", leverage=20)
    acct.fill(BTC, -1.0, 100_000.0, leg="short", leverage=20)
    assert [p.key for p in acct.positions] == [
        PositionKey("BTC/USDT:USDT", Leg.LONG),
        PositionKey("BTC/USDT:USDT", Leg.SHORT),
    ]
    with pytest.raises(PositionNotFound, match="both legs open"):
        acct.position("BTC/USDT:USDT")
    assert acct.position(("BTC/USDT:USDT", "long")).size == 1.0
    assert acct.has_position("BTC/USDT:USDT") and acct.has_position("BTC/USDT:USDT", "SHORT")
    before = account_state(acct)
    with pytest.raises(OrderRejected, match=r"LONG leg .* would cross zero"):
        acct.fill(BTC, -2.0, 100_000.0, leg="LONG")
    assert account_state(acct) == before
    acct.fill(BTC, 1.0, 99_000.0, leg="SHORT")  # closes the short leg
    with pytest.raises(OrderRejected, match="SHORT leg"):
        acct.fill(BTC, 1.0, 99_000.0, leg="SHORT")  # a buy with no short open
    assert acct.position("BTC/USDT:USDT").leg is Leg.LONG


def test_hedge_mode_needs_venue_support() -> None:
    with pytest.raises(ConfigError, match="position_mode: hyperliquid-like has no hedge mode"):
        account(HYPERLIQUID, 0.0, position_mode="hedge")
    with pytest.raises(ConfigError, match="position_mode: must be one of"):
        account(BINANCE, 0.0, position_mode="both")


def test_margin_mode_changes_only_while_flat() -> None:
    acct = account(BINANCE, 10_000.0)
    acct.set_margin_mode(BTC, "isolated")
    assert acct.margin_mode(BTC) is MarginMode.ISOLATED
    acct.fill(BTC, 0.1, 100_000.0, leverage=20)
    with pytest.raises(OrderRejected, match="margin_mode: BTC/USDT:USDT BOTH is open in isolated"):
        acct.set_margin_mode(BTC, "cross")
    with pytest.raises(OrderRejected, match="margin_mode"):
        acct.fill(BTC, 0.1, 100_000.0, margin_mode="cross")


def test_account_settles_in_one_currency_and_trades_swaps_only() -> None:
    acct = account(BINANCE, 10_000.0)
    acct.fill(BTC, 0.1, 100_000.0, leverage=20)
    with pytest.raises(ConfigError, match="settles in USDC, this account in USDT"):
        acct.fill(instrument("BTC/USDC:USDC"), 0.1, 100_000.0)
    with pytest.raises(ConfigError, match="instrument: BTC/USDT is spot"):
        acct.fill(Instrument.parse("BTC/USDT"), 0.1, 100_000.0)


def test_unknown_symbols_and_missing_tiers() -> None:
    acct = Account(BINANCE, 100.0)
    with pytest.raises(UnknownSymbolError, match="tiers: no tier table for BTC/USDT:USDT"):
        acct.fill(BTC, 0.001, 100_000.0)
    with pytest.raises(UnknownSymbolError, match="symbol: 'ETH/USDT:USDT' is not registered"):
        acct.set_leverage("ETH/USDT:USDT", 5)
    acct.register(BTC, tiers=single(0.004, 125, 0.0, "BTC/USDT:USDT"))
    acct.fill(BTC, 0.001, 100_000.0, leverage=5)
    with pytest.raises(PositionNotFound, match="no open position in 'ETH/USDT:USDT'"):
        acct.notional("ETH/USDT:USDT")


@pytest.mark.parametrize(
    ("size", "price", "match"),
    [
        (0.0, 1.0, "size: must be non-zero"),
        (math.nan, 1.0, "size"),
        (1.0, 0.0, "price"),
        (1.0, -5.0, "price"),
        (1.0, math.inf, "price"),
    ],
)
def test_fill_validation(size: float, price: float, match: str) -> None:
    acct = account(BINANCE, 1_000.0)
    with pytest.raises(OrderRejected, match=match):
        acct.fill(BTC, size, price)
    assert len(acct.ledger) == 1


def test_constructor_validation() -> None:
    with pytest.raises(ConfigError, match="wallet_balance"):
        Account(BINANCE, -1.0)
    with pytest.raises(ConfigError, match="default_leverage"):
        Account(BINANCE, 1.0, default_leverage=0.0)
    with pytest.raises(ConfigError, match="time"):
        Account(BINANCE, 1.0, time=1.5)  # type: ignore[arg-type]


def test_positions_keep_their_opening_order() -> None:
    acct = account(BINANCE, 100_000.0, tiers={"ETH/USDT:USDT": single(0.005, 100, 0.0, "E")})
    acct.fill(ETH, 1.0, 3_000.0, leverage=10)
    acct.fill(BTC, 0.1, 100_000.0, leverage=10)
    acct.fill(ETH, 1.0, 3_100.0)
    assert [p.symbol for p in acct.positions] == ["ETH/USDT:USDT", "BTC/USDT:USDT"]


def test_inverse_entry_is_the_harmonic_mean() -> None:
    # 100 contracts @50,000 + 100 @40,000: 200/(100/50,000 + 100/40,000) = 44,444.44
    inverse = instrument("BTC/USD:BTC", contract_size=100.0)
    acct = account(BINANCE, 1.0, tiers={"BTC/USD:BTC": single(0.005, 125, 0.0, "BTC/USD:BTC")})
    acct.fill(inverse, 100.0, 50_000.0, leverage=10)
    acct.set_mark(inverse, 40_000.0)
    pos = acct.fill(inverse, 100.0, 40_000.0).position
    assert pos is not None
    assert pos.entry_price == pytest.approx(200 / (100 / 50_000 + 100 / 40_000))
    # realized on closing all at 45,000: 20,000·(1/44,444.44 − 1/45,000) BTC
    r = acct.fill(inverse, -200.0, 45_000.0)
    assert r.realized_pnl == pytest.approx(20_000 * (1 / pos.entry_price - 1 / 45_000))
    books_balance(acct)


def test_total_equity_includes_isolated_pools() -> None:
    acct = account(BINANCE, 10_000.0)
    acct.fill(BTC, 1.0, 100_000.0, leverage=20, margin_mode="isolated")
    acct.set_mark(BTC, 101_000.0)
    # cross 5,000 + isolated 5,000 + uPnL 1,000
    assert acct.total_equity == pytest.approx(11_000.0)
