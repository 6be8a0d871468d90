"""The package version, in one place (read by the package and the reports)."""

__version__ = "0.1.0"
