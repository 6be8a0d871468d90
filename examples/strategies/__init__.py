"""Example strategies built on the risk toolkit (docs/risk.md, "Example strategies")."""
