"""FreqTrade's own sample strategy (``freqtrade/templates/sample_strategy.py`` of the installed
FreqTrade, copied beside this file unchanged) traded at 3x: the sample has no ``leverage()``,
and FreqTrade takes the leverage from that callback only."""

from datetime import datetime

from sample_strategy import SampleStrategy


class SampleStrategy3x(SampleStrategy):
    def leverage(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        proposed_leverage: float,
        max_leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs,
    ) -> float:
        return 3.0
