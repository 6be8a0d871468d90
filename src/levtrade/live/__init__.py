"""Paper and live trading: the same strategy as in a backtest, through ccxt, crash-safe and
reconciled with the venue (docs/trading.md)."""
