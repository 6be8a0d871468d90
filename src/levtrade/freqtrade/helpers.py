"""FreqTrade's strategy helpers with FreqTrade's semantics: merging an informative frame of a
coarser timeframe without look-ahead, stop ratios for ``custom_stoploss`` and the timeframe
conversions strategies import from ``freqtrade.exchange``."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

from levtrade.data.timeframes import parse_timeframe

__all__ = [
    "merge_informative_pair",
    "stoploss_from_absolute",
    "stoploss_from_open",
    "timeframe_to_minutes",
    "timeframe_to_msecs",
    "timeframe_to_next_date",
    "timeframe_to_prev_date",
    "timeframe_to_seconds",
]


def timeframe_to_msecs(timeframe: str) -> int:
    return parse_timeframe(timeframe)


def timeframe_to_seconds(timeframe: str) -> int:
    return parse_timeframe(timeframe) // 1000


def timeframe_to_minutes(timeframe: str) -> int:
    return parse_timeframe(timeframe) // 60_000


def timeframe_to_prev_date(timeframe: str, date: datetime | None = None) -> datetime:
    """The open of the candle ``date`` falls in (now when None)."""
    when = date or datetime.now(UTC)
    ms = int(when.timestamp() * 1000)
    step = parse_timeframe(timeframe)
    return datetime.fromtimestamp((ms - ms % step) / 1000, tz=UTC)


def timeframe_to_next_date(timeframe: str, date: datetime | None = None) -> datetime:
    """The open of the candle after the one ``date`` falls in."""
    step = parse_timeframe(timeframe)
    previous = timeframe_to_prev_date(timeframe, date)
    return datetime.fromtimestamp(previous.timestamp() + step / 1000, tz=UTC)


def merge_informative_pair(
    dataframe: pd.DataFrame,
    informative: pd.DataFrame,
    timeframe: str,
    timeframe_inf: str,
    ffill: bool = True,
    append_timeframe: bool = True,
    date_column: str = "date",
    suffix: str | None = None,
) -> pd.DataFrame:
    """Merge ``informative`` (candles of ``timeframe_inf``) into ``dataframe`` (``timeframe``)
    so that each row sees only informative candles closed by its own close: an informative
    candle opening at ``t`` is joined to the row opening at ``t + inf − tf`` (the last row
    inside it). Columns are renamed ``<column>_<timeframe_inf>`` (or ``_<suffix>``); with
    ``ffill`` the rows between informative candles carry the last values."""
    minutes_inf = timeframe_to_minutes(timeframe_inf)
    minutes = timeframe_to_minutes(timeframe)
    informative = informative.copy()
    if minutes_inf == minutes:
        informative["date_merge"] = informative[date_column]
    elif minutes < minutes_inf:
        informative["date_merge"] = (
            informative[date_column]
            + pd.to_timedelta(minutes_inf, "m")
            - pd.to_timedelta(minutes, "m")
        )
    else:
        raise ValueError(
            f"merge_informative_pair: the informative timeframe {timeframe_inf} is finer than "
            f"the strategy's {timeframe}; it would add rows"
        )
    date_merge = "date_merge"
    if suffix and append_timeframe:
        raise ValueError("merge_informative_pair: give append_timeframe=True or a suffix")
    if append_timeframe:
        date_merge = f"date_merge_{timeframe_inf}"
        informative.columns = [f"{col}_{timeframe_inf}" for col in informative.columns]
    elif suffix:
        date_merge = f"date_merge_{suffix}"
        informative.columns = [f"{col}_{suffix}" for col in informative.columns]
    if ffill:
        merged = pd.merge_ordered(
            dataframe, informative, fill_method="ffill", left_on="date", right_on=date_merge,
            how="left",
        )  # fmt: skip
    else:
        merged = pd.merge(dataframe, informative, left_on="date", right_on=date_merge, how="left")
    return merged.drop(columns=date_merge)


def stoploss_from_open(
    open_relative_stop: float, current_profit: float, is_short: bool = False, leverage: float = 1.0
) -> float:
    """The stop ratio relative to the current price that puts the stop at
    ``open_relative_stop`` (a ratio of the stake) from the entry: ``custom_stoploss``'s unit.
    0 when that stop would be beyond the current price; 1 where the formula is undefined."""
    profit = current_profit / leverage
    if (profit == -1 and not is_short) or (is_short and profit == 1):
        return 1.0
    if is_short:
        stoploss = -1 + ((1 - open_relative_stop / leverage) / (1 - profit))
    else:
        stoploss = 1 - ((1 + open_relative_stop / leverage) / (1 + profit))
    return max(stoploss * leverage, 0.0)


def stoploss_from_absolute(
    stop_rate: float, current_rate: float, is_short: bool = False, leverage: float = 1.0
) -> float:
    """The stop ratio relative to ``current_rate`` that puts the stop at the price
    ``stop_rate``, in ``custom_stoploss``'s unit (× ``leverage``); within [0, 1] before the
    leverage."""
    if current_rate == 0:
        return 1.0
    stoploss = 1 - (stop_rate / current_rate)
    if is_short:
        stoploss = -stoploss
    return max(min(stoploss, 1.0), 0.0) * leverage
