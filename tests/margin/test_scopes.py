"""Collateral scopes across DEXs (MARGIN_SPEC.md §12) and markets that never join a cross pool.

The same two positions — long 1 BTC at 100,000 on Hyperliquid's main DEX (20x, MMR 1/80 =
1.25 % from the 40x tier) and long 100 XYZ-AAPL at 200 on the ``xyz`` DEX (10x, one tier at
10x: MMR 5 %), both cross and settled in USDC — are held in a *standard* account (main wallet
10,000, xyz wallet 2,500) and in a *unified* one (one USDC balance of 12,500). Every expected
number is worked out by hand beside its assertion (equity = wallet + Σ uPnL, MM = Σ N·MMR,
liquidation where equity = MM; Hyperliquid closes at the mark and the trader keeps the rest
above ⅔ of MM).
"""

from __future__ import annotations

import pytest
from margin_helpers import HYPERLIQUID, HYPERLIQUID_BTC_ROWS, hyperliquid, instrument

from levtrade.errors import ConfigError, OrderRejected, TransferRejected, UnknownSymbolError
from levtrade.margin import MAIN_DEX, MarginMode, ScopedAccount, TierTable
from levtrade.model.instrument import Instrument
from levtrade.model.positions import MarketMarginRule
from levtrade.venues import ccxt_symbol, venue_symbol

BTC = instrument("BTC/USDC:USDC")
AAPL = instrument("XYZ-AAPL/USDC:USDC")
TIERS = {
    BTC.symbol: hyperliquid(HYPERLIQUID_BTC_ROWS, BTC.symbol),
    AAPL.symbol: hyperliquid([(0.0, 10)], AAPL.symbol),
}


def provider(inst: Instrument) -> TierTable:
    return TIERS[inst.symbol]


def both_positions(account_type: str) -> ScopedAccount:
    balances = (
        {"main": 10_000.0, "xyz": 2_500.0} if account_type == "standard" else {"USDC": 12_500.0}
    )
    scoped = ScopedAccount(HYPERLIQUID, account_type, balances, tier_provider=provider)
    scoped.fill(BTC, 1.0, 100_000.0, leverage=20)
    scoped.fill(AAPL, 100.0, 200.0, leverage=10)
    return scoped


def test_pools_by_account_type() -> None:
    standard = both_positions("standard")
    unified = both_positions("unified")
    assert (standard.pool_of(BTC), standard.pool_of(AAPL)) == (MAIN_DEX, "xyz")
    assert (unified.pool_of(BTC), unified.pool_of(AAPL)) == ("USDC", "USDC")
    assert sorted(standard.pools) == ["main", "xyz"]
    assert list(unified.pools) == ["USDC"]
    assert [p.symbol for p in unified.account("USDC").positions] == [BTC.symbol, AAPL.symbol]


def test_liquidation_prices_by_hand() -> None:
    standard = both_positions("standard")
    main, xyz = standard.account("main"), standard.account("xyz")
    # BTC alone on 10,000: 10,000 + (P − 100,000) = 0.0125·P → P = 90,000 / 0.9875
    assert main.liquidation_price(BTC.symbol) == pytest.approx(91_139.2405, abs=1e-4)
    # AAPL alone on 2,500: 2,500 + 100·(P − 200) = 0.05·100·P → 95·P = 17,500
    assert xyz.liquidation_price(AAPL.symbol) == pytest.approx(184.210526, abs=1e-6)
    shared = both_positions("unified").account("USDC")
    # BTC on 12,500 with AAPL's MM (1,000) held: 12,500 + P − 100,000 = 0.0125·P + 1,000
    assert shared.liquidation_price(BTC.symbol) == pytest.approx(89_620.2532, abs=1e-4)
    # AAPL on 12,500 with BTC's MM (1,250) held: 95·P = 20,000 − 12,500 + 1,250 = 8,750
    assert shared.liquidation_price(AAPL.symbol) == pytest.approx(92.105263, abs=1e-6)


def test_aapl_falling_liquidates_the_xyz_pool_alone_in_standard() -> None:
    standard = both_positions("standard")
    standard.set_mark(AAPL, 183.0)
    # xyz: equity 2,500 − 1,700 = 800 ≤ MM 0.05 × 18,300 = 915; ⅔ × 915 = 610 < 800: market
    # close; main: equity 10,000 > MM 1,250
    assert standard.liquidatable_pools() == {"xyz": ["cross"]}
    done = standard.process_liquidations()
    assert list(done) == ["xyz"]
    (result,) = done["xyz"]
    assert [leg.key.symbol for leg in result.legs] == [AAPL.symbol]
    assert result.realized_pnl == pytest.approx(-1_700.0)
    assert standard.account("xyz").wallet_balance == pytest.approx(800.0)
    assert standard.account("xyz").positions == []
    main = standard.account("main")
    assert [p.symbol for p in main.positions] == [BTC.symbol]
    assert main.wallet_balance == 10_000.0


def test_aapl_falling_liquidates_nothing_in_unified() -> None:
    unified = both_positions("unified")
    unified.set_mark(AAPL, 183.0)
    # equity 12,500 − 1,700 = 10,800 > MM 1,250 + 915 = 2,165
    account = unified.account("USDC")
    assert account.equity == pytest.approx(10_800.0)
    assert account.maintenance_margin == pytest.approx(2_165.0)
    assert unified.liquidatable_pools() == {}
    assert unified.process_liquidations() == {}


def test_both_falling_liquidate_separately_in_standard_and_together_in_unified() -> None:
    standard = both_positions("standard")
    unified = both_positions("unified")
    for scoped in (standard, unified):
        scoped.set_mark(BTC, 91_000.0)
        scoped.set_mark(AAPL, 183.0)
    # standard main: equity 10,000 − 9,000 = 1,000 ≤ MM 1,137.5 (⅔: 758); xyz as above
    separate = standard.process_liquidations()
    assert sorted(separate) == ["main", "xyz"]
    assert [leg.key.symbol for leg in separate["main"][0].legs] == [BTC.symbol]
    assert [leg.key.symbol for leg in separate["xyz"][0].legs] == [AAPL.symbol]
    assert standard.account("main").wallet_balance == pytest.approx(1_000.0)
    assert standard.account("xyz").wallet_balance == pytest.approx(800.0)
    # unified: equity 12,500 − 9,000 − 1,700 = 1,800 ≤ MM 1,137.5 + 915 = 2,052.5, and above
    # ⅔ × 2,052.5 = 1,368.3: both positions close at the mark in one liquidation
    together = unified.process_liquidations()
    (result,) = together["USDC"]
    assert sorted(leg.key.symbol for leg in result.legs) == sorted([BTC.symbol, AAPL.symbol])
    assert unified.account("USDC").wallet_balance == pytest.approx(1_800.0)
    for scoped in (standard, unified):
        for account in scoped.pools.values():
            assert account.ledger.total() == pytest.approx(0.0, abs=1e-9)


def test_a_no_cross_market_never_joins_the_cross_pool() -> None:
    no_cross = instrument("XYZ-AAPL/USDC:USDC", margin_rule=MarketMarginRule.NO_CROSS)
    scoped = ScopedAccount(HYPERLIQUID, "unified", {"USDC": 12_500.0}, tier_provider=provider)
    scoped.fill(BTC, 1.0, 100_000.0, leverage=20)
    position = scoped.fill(no_cross, 100.0, 200.0, leverage=10).position
    assert position is not None and position.margin_mode is MarginMode.ISOLATED
    account = scoped.account("USDC")
    # 20,000 / 10 = 2,000 moved into the position's own margin; the cross pool holds BTC only
    assert position.isolated_margin == pytest.approx(2_000.0)
    assert account.wallet_balance == pytest.approx(10_500.0)
    assert account.maintenance_margin == pytest.approx(1_250.0)
    with pytest.raises(OrderRejected, match="is a no_cross market, it never takes 'cross'"):
        account.set_margin_mode(no_cross, "cross")
    with pytest.raises(OrderRejected, match="never takes 'cross'"):
        scoped.fill(no_cross, 1.0, 200.0, margin_mode="cross")
    # isolated-style with margin management: margin can be added (up to the cross pool's
    # 10,500 − max(5,000, 10 % × 100,000) = 500) and removed (up to 2,300 − 2,000 = 300)
    account.add_margin(no_cross.symbol, 300.0)
    account.remove_margin(no_cross.symbol, 200.0)
    assert account.position(no_cross.symbol).isolated_margin == pytest.approx(2_100.0)
    # a fall of the market takes only its own margin: 2,100 + 100·(P − 200) = 5·P → P = 188.42
    assert account.liquidation_price(no_cross.symbol) == pytest.approx(188.421053, abs=1e-6)
    account.set_mark(no_cross, 188.0)
    assert account.liquidatable_pools() == [(no_cross.symbol, "BOTH")]
    assert not account.liquidatable  # the cross pool is untouched


def test_a_strict_isolated_market_keeps_its_margin() -> None:
    strict = instrument("XYZ-TSLA/USDC:USDC", margin_rule=MarketMarginRule.STRICT_ISOLATED)
    TIERS[strict.symbol] = hyperliquid([(0.0, 10)], strict.symbol)
    scoped = ScopedAccount(HYPERLIQUID, "standard", {"xyz": 5_000.0}, tier_provider=provider)
    position = scoped.fill(strict, 10.0, 400.0, leverage=5).position
    assert position is not None and position.margin_mode is MarginMode.STRICT_ISOLATED
    with pytest.raises(TransferRejected, match="strict_isolated"):
        scoped.account("xyz").remove_margin(strict.symbol, 1.0)
    with pytest.raises(OrderRejected, match="never takes 'isolated'"):
        scoped.account("xyz").set_margin_mode(strict, "isolated")


def test_portfolio_margin_is_refused_and_pools_hold_one_token() -> None:
    with pytest.raises(ConfigError, match="account_type: portfolio_margin's cross-asset rules"):
        ScopedAccount(HYPERLIQUID, "portfolio_margin")
    with pytest.raises(ConfigError, match="account_type: must be one of"):
        ScopedAccount(HYPERLIQUID, "dex_abstraction")
    scoped = ScopedAccount(HYPERLIQUID, "standard", {"xyz": 100.0}, tier_provider=provider)
    scoped.fill(AAPL, 1.0, 200.0, leverage=10)
    usdh = instrument("XYZ-GOLD/USDH:USDH")
    with pytest.raises(ConfigError, match="settles in USDH, its pool 'xyz' holds USDC"):
        scoped.account_for(usdh)


def test_hip3_symbols() -> None:
    parsed = Instrument.parse("XYZ-AAPL/USDC:USDC")
    parts = (parsed.base, parsed.quote, parsed.settle, parsed.dex)
    assert parts == ("XYZ-AAPL", "USDC", "USDC", "xyz")
    assert Instrument.parse("BTC/USDC:USDC").dex == ""
    assert venue_symbol("hyperliquid", "XYZ-AAPL/USDC:USDC") == "xyz:AAPL"
    assert ccxt_symbol("hyperliquid", "xyz:AAPL") == "XYZ-AAPL/USDC:USDC"
    with pytest.raises(UnknownSymbolError, match="DEX markets are perpetuals"):
        Instrument.parse("XYZ-AAPL/USDC")
    with pytest.raises(UnknownSymbolError, match="the collateral token of DEX 'abc'"):
        ccxt_symbol("hyperliquid", "abc:TSLA")
