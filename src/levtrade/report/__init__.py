"""Reporting a run: the summary built from its result (:mod:`~levtrade.report.summary`), its
terminal rendering (:mod:`~levtrade.report.terminal`), the HTML report
(:mod:`~levtrade.report.html`) and the result files (:mod:`~levtrade.report.files`). The
metric formulas belong to the result: :mod:`levtrade.backtest.metrics`."""
