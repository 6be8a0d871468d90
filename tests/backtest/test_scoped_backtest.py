"""Backtests whose collateral is pooled by Hyperliquid's account type (MARGIN_SPEC.md §12):
the same two positions on two DEXs, liquidated separately in a standard account and together
in a unified one, every figure worked out by hand.

Long 1 BTC at 100,000 on the main DEX (20x; Hyperliquid's MMR is 1 ÷ (2 × the maximum
leverage), 1 ÷ 80 = 1.25 % for BTC) and 100 XYZ-AAPL at 200 on the ``xyz`` DEX (10x; a
maximum of 10x gives 5 %), no fees, no funding. AAPL falls to 183 in bar 2, BTC to 91,000 in
bar 3. Hyperliquid closes a liquidated pool at the execution price and the trader keeps the
rest while equity is at least ⅔ of the maintenance margin (docs/margin.md, ``market_close``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from backtest_helpers import HOUR, T0, at, flat, market, portfolio

from levtrade.backtest import BacktestConfig, run
from levtrade.backtest.lookahead import check_lookahead
from levtrade.backtest.scoped import SCOPED_NOTE
from levtrade.errors import ConfigError
from levtrade.strategy import Strategy
from levtrade.strategy.signals import SignalRules, Signals, SymbolSignals

BTC = "BTC/USDC:USDC"
AAPL = "XYZ-AAPL/USDC:USDC"
STANDARD = {"main": 10_000.0, "xyz": 2_500.0}
UNIFIED = {"USDC": 12_500.0}


def two_dexes() -> Any:
    btc = market(
        [flat(100_000.0)] * 3 + [(100_000.0, 100_000.0, 91_000.0, 92_000.0), flat(92_000.0)],
        symbol=BTC,
    )
    aapl = market(
        [flat(200.0)] * 2 + [(200.0, 200.0, 183.0, 183.0), flat(183.0), flat(183.0)],
        symbol=AAPL,
    )
    return portfolio(btc, aapl)


def scoped(kind: str, balances: dict[str, float], **fields: Any) -> BacktestConfig:
    return BacktestConfig(
        venue="hyperliquid",
        maker_fee=0.0,
        taker_fee=0.0,
        account_type=kind,
        wallet_balances=balances,
        tiers={AAPL: [{"floor": 0, "max_leverage": 10}]},
        **fields,
    )


class BothDexes(Strategy):
    """Long both at the first close; records what a strategy reads at every close."""

    made: ClassVar[list[BothDexes]] = []

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []
        BothDexes.made.append(self)

    def next(self) -> None:
        if len(self) == 1:
            self.buy(BTC, size=1, leverage=20)
            self.buy(AAPL, size=100, leverage=10)
        self.seen.append(
            (
                self.liquidation_price(BTC),
                self.liquidation_price(AAPL),
                self.broker.get_value(),
                self.account.margin_ratio,
                self.effective_leverage,
            )
        )


def run_both(config: BacktestConfig) -> tuple[Any, BothDexes]:
    BothDexes.made.clear()
    result = run(BothDexes, two_dexes(), config)
    return result, BothDexes.made[0]


def test_a_standard_account_liquidates_each_dex_on_its_own_balance() -> None:
    result, strategy = run_both(scoped("standard", STANDARD))
    assert result.config.wallet == 12_500.0  # the pools' balances
    assert result.metadata["pools"] == {"main": [BTC], "xyz": [AAPL]}
    assert SCOPED_NOTE in result.metadata["notes"]
    # bar 1: xyz holds 2,500 against AAPL alone: 2,500 + 100·(P − 200) = 0.05 × 100·P at
    # P = 17,500 / 95 = 184.21; main holds 10,000: 10,000 + (P − 100,000) = 0.0125·P at
    # P = 90,000 / 0.9875 = 91,139.24. The worst pool's margin ratio: xyz, 1,000 / 2,500
    btc_price, aapl_price, value, ratio, leverage = strategy.seen[1]
    assert leverage == pytest.approx(120_000.0 / 12_500.0, rel=1e-12)  # over both pools
    assert aapl_price == pytest.approx(17_500.0 / 95.0, rel=1e-12)
    assert btc_price == pytest.approx(90_000.0 / 0.9875, rel=1e-12)
    assert value == pytest.approx(12_500.0)
    assert ratio == pytest.approx(0.4, rel=1e-12)
    aapl, btc = result.trades.itertuples()
    # bar 2: AAPL falls through 184.21: the xyz pool is liquidated alone (equity 921.05 = its
    # maintenance margin, above ⅔ of it: closed at that price, the rest kept)
    assert (aapl.symbol, aapl.exit_reason, aapl.exit_time) == (AAPL, "liquidation", T0 + 2 * HOUR)
    assert aapl.exit_price == pytest.approx(17_500.0 / 95.0, rel=1e-12)
    assert aapl.pnl == pytest.approx(100.0 * (17_500.0 / 95.0 - 200.0), rel=1e-12)
    # bar 2's close: BTC's liquidation price is still main's own; the main pool untouched
    assert strategy.seen[2][0] == pytest.approx(90_000.0 / 0.9875, rel=1e-12)
    assert strategy.seen[2][1] is None
    # bar 3: BTC falls through 91,139.24: main is liquidated on its own 10,000
    assert (btc.symbol, btc.exit_reason, btc.exit_time) == (BTC, "liquidation", T0 + 3 * HOUR)
    assert btc.exit_price == pytest.approx(90_000.0 / 0.9875, rel=1e-12)
    pools = result.scoped_account.pools
    assert pools["xyz"].wallet_balance == pytest.approx(5.0 * 17_500.0 / 95.0, rel=1e-12)
    assert pools["main"].wallet_balance == pytest.approx(0.0125 * 90_000.0 / 0.9875, rel=1e-12)
    final = 5.0 * 17_500.0 / 95.0 + 0.0125 * 90_000.0 / 0.9875
    assert result.metrics["final_equity"] == pytest.approx(final, rel=1e-12)  # 2,060.29
    assert result.metrics["liquidations"] == 2
    assert result.series["equity"].iloc[-1] == pytest.approx(final, rel=1e-12)


def test_a_unified_account_liquidates_both_dexes_together() -> None:
    result, strategy = run_both(scoped("unified", UNIFIED))
    assert result.metadata["pools"] == {"USDC": [BTC, AAPL]}
    # bar 1: one pool of 12,500 carries both: BTC's liquidation price counts AAPL's
    # maintenance margin (5 % × 20,000 = 1,000): 12,500 + (P − 100,000) = 0.0125·P + 1,000
    # at P = 88,500 / 0.9875; AAPL's, BTC's 1,250: 12,500 + 100·(P − 200) = 1,250 + 5·P at
    # P = 8,750 / 95; the margin ratio (1,250 + 1,000) / 12,500
    btc_price, aapl_price, value, ratio, _ = strategy.seen[1]
    assert btc_price == pytest.approx(88_500.0 / 0.9875, rel=1e-12)
    assert aapl_price == pytest.approx(8_750.0 / 95.0, rel=1e-12)
    assert (value, ratio) == (pytest.approx(12_500.0), pytest.approx(0.18, rel=1e-12))
    # bar 2: AAPL at 183 costs 1,700; 10,800 against 1,250 + 915: nothing is liquidated.
    # BTC's price now counts AAPL's loss: 10,800 + (P − 100,000) = 0.0125·P + 915
    assert strategy.seen[2][0] == pytest.approx(90_115.0 / 0.9875, rel=1e-12)  # 91,255.70
    assert strategy.seen[2][2] == pytest.approx(10_800.0)
    # bar 3: the pool is tested at BTC's low with AAPL at 183: 12,500 − 9,000 − 1,700 =
    # 1,800 against 1,137.50 + 915 = 2,052.50: both positions are liquidated at once, at
    # those prices (docs/backtest.md: a cross pool of several symbols), 1,800 kept
    btc, aapl = result.trades.itertuples()
    assert {btc.symbol, aapl.symbol} == {BTC, AAPL}
    assert {btc.exit_reason, aapl.exit_reason} == {"liquidation"}
    assert btc.exit_time == aapl.exit_time == T0 + 3 * HOUR
    assert (btc.exit_price, aapl.exit_price) == (91_000.0, 183.0)
    assert (btc.pnl, aapl.pnl) == (pytest.approx(-9_000.0), pytest.approx(-1_700.0))
    assert result.metrics["final_equity"] == pytest.approx(1_800.0, rel=1e-12)
    assert result.scoped_account.pools["USDC"].wallet_balance == pytest.approx(1_800.0)


def test_the_look_ahead_check_runs_pooled_strategies() -> None:
    assert check_lookahead(BothDexes, two_dexes(), scoped("standard", STANDARD), cuts=[2, 4]).ok


def test_signal_tables_run_in_the_pools_too() -> None:
    # stake × leverage / price: 5,000 × 20 / 100,000 = 1 BTC, 2,000 × 10 / 200 = 100 AAPL
    data = two_dexes()

    def entry(leverage: float, stake: float) -> SymbolSignals:
        return SymbolSignals.from_arrays(
            5, enter_long=at(5, 0), leverage=[leverage] * 5, stake=[stake] * 5
        )

    table = Signals({BTC: entry(20.0, 5_000.0), AAPL: entry(10.0, 2_000.0)}, SignalRules())
    result = run(table, data, scoped("standard", STANDARD))
    assert result.metadata["engine"] == "event"
    assert list(result.trades["symbol"]) == [AAPL, BTC]
    assert list(result.trades["exit_time"]) == [T0 + 2 * HOUR, T0 + 3 * HOUR]
    assert result.metrics["final_equity"] == pytest.approx(
        5.0 * 17_500.0 / 95.0 + 0.0125 * 90_000.0 / 0.9875, rel=1e-12
    )


@pytest.mark.parametrize(
    ("balances", "fields", "engine", "message"),
    [
        (STANDARD, {}, "compiled", "the compiled kernel holds one account"),
        ({"main": 10_000.0}, {}, "auto", "no balance for pool 'xyz'"),
        ({**STANDARD, "abc": 1.0}, {}, "auto", "pool\\(s\\) abc trade none"),
        (STANDARD, {"wallet": 10_000.0}, "auto", "add up to 12500, the wallet is 10000"),
    ],
)
def test_scoped_runs_refuse_what_they_cannot_do(
    balances: dict[str, float], fields: dict[str, Any], engine: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        run(BothDexes, two_dexes(), scoped("standard", balances, **fields), engine=engine)


def test_an_account_type_is_for_hyperliquid_futures() -> None:
    with pytest.raises(ConfigError, match="account types pool collateral across Hyperliquid"):
        BacktestConfig(account_type="unified", wallet_balances=UNIFIED)
    with pytest.raises(ConfigError, match="collateral scopes pool perpetuals"):
        BacktestConfig(
            venue="hyperliquid",
            trading_mode="spot",
            account_type="unified",
            wallet_balances=UNIFIED,
        )
    with pytest.raises(ConfigError, match="balances per pool are for an account_type"):
        BacktestConfig(venue="hyperliquid", wallet_balances=UNIFIED)
