"""The recorded sample shipped with the package: small, labelled with its source, and the very
rows of the recorded data it was cut from."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from levtrade.data.samples import SAMPLE_PAIRS, sample_dir

SOURCE = "binance_um_freqtrade_harthor"
START, END = pd.Timestamp("2025-10-06", tz="UTC"), pd.Timestamp("2025-10-13", tz="UTC")
FILES = {"5m-perp": "open_time", "1h-mark": "open_time", "funding_rate": "funding_time"}


def _stems() -> list[str]:
    return [pair.split("/")[0] + "USDT" for pair in SAMPLE_PAIRS]


def test_the_sample_is_small_complete_and_labelled() -> None:
    folder = sample_dir()
    files = sorted(p.name for p in folder.iterdir())
    expected = sorted(
        [f"{stem}-{kind}.parquet" for stem in _stems() for kind in FILES]
        + ["README.md", "binance_leverage_tiers.json"]
    )
    assert files == expected
    assert sum(p.stat().st_size for p in folder.iterdir()) < 400_000
    readme = (folder / "README.md").read_text("utf-8")
    assert "Harthor/marketlab" in readme and "6135a753162dd7dfe1c4d7fd282c1c8b65c5bede" in readme
    assert "2025-10-06" in readme and "2025-10-12" in readme
    for stem in _stems():
        candles = pd.read_parquet(folder / f"{stem}-5m-perp.parquet")
        # a week of 5-minute bars, none missing
        assert len(candles) == 7 * 288
        assert candles["open_time"].diff().dropna().eq(pd.Timedelta(minutes=5)).all()
        assert len(pd.read_parquet(folder / f"{stem}-1h-mark.parquet")) == 7 * 24


@pytest.mark.shared
def test_the_sample_is_the_recorded_data(shared_data: Path) -> None:
    for stem in _stems():
        for kind, column in FILES.items():
            recorded = pd.read_parquet(shared_data / SOURCE / f"{stem}-{kind}.parquet")
            window = recorded[(recorded[column] >= START) & (recorded[column] < END)]
            shipped = pd.read_parquet(sample_dir() / f"{stem}-{kind}.parquet")
            pd.testing.assert_frame_equal(
                shipped.reset_index(drop=True), window.reset_index(drop=True)
            )
