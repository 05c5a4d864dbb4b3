"""The trend chart is a real PNG, drawn with gaps where a week had nothing to count."""

from __future__ import annotations

import struct

import pytest

from bot.present.chart import trend_png
from metrics.summary import TrendPoint

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def weeks(rates: list[float | None]) -> list[TrendPoint]:
    return [
        TrendPoint(f"2026-W{40 + i}", rate, None if rate is None else 100 - rate)
        for i, rate in enumerate(rates)
    ]


def size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which PNG puts first."""
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_the_chart_is_a_png_of_the_expected_size() -> None:
    png = trend_png(weeks([30.0, 25.0, 40.0, 35.0, 20.0, 22.5, 31.0, 28.0]))
    assert png.startswith(PNG_SIGNATURE)
    assert len(png) > 5000
    assert size(png) == (800, 360)


def test_weeks_with_nothing_to_count_are_drawn_and_differ_from_zero() -> None:
    gaps = trend_png(weeks([30.0, None, None, 35.0, 20.0, None, 31.0, 28.0]))
    zeros = trend_png(weeks([30.0, 0.0, 0.0, 35.0, 20.0, 0.0, 31.0, 28.0]))
    assert gaps.startswith(PNG_SIGNATURE)
    assert gaps != zeros


def test_a_chart_of_weeks_that_all_had_nothing_to_count_still_renders() -> None:
    png = trend_png(weeks([None] * 8))
    assert png.startswith(PNG_SIGNATURE)
    assert size(png) == (800, 360)


def test_a_label_the_default_fonts_cannot_draw_is_refused() -> None:
    with pytest.raises(ValueError, match="ASCII"):
        trend_png(weeks([30.0]), title="無視率")
