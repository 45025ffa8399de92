"""The display helpers behind the page filters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.formatting import (
    display_size,
    fmt_audio,
    fmt_duration,
    fmt_fps,
    fmt_seconds,
    fmt_size,
    fmt_time,
)
from api.routers.pages import safe_next
from store.models import Recording


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "0:00:00"),
        (59.6, "0:01:00"),
        (3725.4, "1:02:05"),
        (6 * 3600 + 1, "6:00:01"),
        (float("nan"), "—"),
    ],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert fmt_duration(seconds) == text


def test_sizes_rates_and_times() -> None:
    assert [fmt_size(n) for n in (None, 0, 1023, 1536, 5 * 1024**3, 3 * 1024**5)] == [
        "—",
        "0 B",
        "1023 B",
        "1.5 KB",
        "5.0 GB",
        "3072.0 TB",
    ]
    assert [fmt_fps(f) for f in (None, 30.0, 29.97002997, 23.976, 59.94)] == ["—", "30", "29.97", "23.98", "59.94"]
    assert fmt_audio(48000, 2) == "48 kHz · stereo"
    assert fmt_audio(22050, 6) == "22.05 kHz · 6 ch"
    assert fmt_audio(None, None) == "—"
    assert fmt_seconds(65.25) == "0:01:05.2"
    naive = datetime(2024, 1, 1, 0, 0, 0)
    assert fmt_time(naive, "Asia/Shanghai") == "2024-01-01 08:00:00"
    assert fmt_time(datetime(2024, 1, 1, tzinfo=UTC), "Not/AZone") == "2024-01-01 00:00:00"


def test_display_size_follows_rotation() -> None:
    rec = Recording(width=1920, height=1080, rotation=90)
    assert display_size(rec) == "1080x1920 portrait"
    rec.rotation = 180
    assert display_size(rec) is None
    rec.rotation = None
    assert display_size(rec) is None


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("/recordings/abc?x=1", "/recordings/abc?x=1"),
        (None, "/"),
        ("", "/"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil", "/"),
        ("/ok\r\nSet-Cookie: x", "/"),
        ("/login?next=/", "/"),
    ],
)
def test_safe_next(raw: str | None, safe: str) -> None:
    assert safe_next(raw) == safe
