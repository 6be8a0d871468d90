"""FreqTrade parity check: the same strategy files, configuration and data in FreqTrade and in
levtrade, compared trade by trade (``python -m benchmarks.freqtrade_parity``)."""
