"""FreqTrade's configuration vocabulary as levtrade reads it: the keys that mean nothing to a
levtrade run (bot, UI, live-order and pairlist settings), accepted so that a FreqTrade config
loads and listed as ignored; and the key look-up that names the closest known key for a typo.
The keys levtrade honours are the fields of :class:`~levtrade.configuration.config.RunConfig`, under
FreqTrade's names or aliases of them."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from pydantic import (
    AliasChoices,
    BaseModel,
)

FREQTRADE_IGNORED = frozenset(  # settings that do not change a backtest's trades
    {
        "$schema",
        "amend_last_stake_amount",
        "amount_reserve_percent",
        "api_server",
        "backtest_cache",
        "bot_name",
        "cancel_open_orders_on_exit",
        "dataformat_ohlcv",
        "dataformat_trades",
        "db_url",
        "discord",
        "dry_run",
        "edge",
        "entry_pricing",
        "exit_pricing",
        "export",
        "exportfilename",
        "fiat_display_currency",
        "force_entry_enable",
        "freqai",
        "ignore_buying_expired_candle_after",
        "initial_state",
        "internals",
        "last_stake_amount_min_ratio",
        "order_time_in_force",
        "order_types",
        "pairlists",
        "process_only_new_candles",
        "reduce_df_footprint",
        "telegram",
        "unfilledtimeout",
        "webhook",
    }
)
"""FreqTrade settings that mean nothing to a levtrade backtest (bot, UI, live-order and
pairlist settings): accepted so a FreqTrade config loads, and listed as ignored."""

EXCHANGE_IGNORED = frozenset(
    {
        "ccxt_async_config",
        "ccxt_config",
        "ccxt_sync_config",
        "enable_ws",
        "key",
        "log_responses",
        "markets_refresh_interval",
        "only_from_ccxt",
        "outdated_offset",
        "password",
        "sandbox",
        "secret",
        "skip_open_order_update",
        "skip_pair_validation",
        "uid",
        "unknown_fee_rate",
        "walletAddress",
        "privateKey",
    }
)


def known_keys(model: type[BaseModel]) -> set[str]:
    keys: set[str] = set()
    for name, info in model.model_fields.items():
        keys.add(name)
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            keys.update(str(choice) for choice in alias.choices)
    return keys


def suggest(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
