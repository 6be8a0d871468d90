"""Starter files: ``levtrade init DIR`` copies ``config.toml`` and ``strategy.py`` from here, and
a bare ``levtrade backtest`` runs :class:`levtrade.templates.strategy.SmaCross` on the demo data.
"""
