"""Benchmarks of levtrade against peer backtesters on the same data and strategy.

``python -m benchmarks`` (from the project virtualenv) installs the peers into their own
virtualenv (``.bench-venv``), prepares the data, measures every workload in separate processes
and writes ``benchmarks/RESULTS.md``. See ``benchmarks/README.md``.
"""
