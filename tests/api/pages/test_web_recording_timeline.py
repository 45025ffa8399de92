"""The recording page shows the latest analysis: score timeline, highlight bands and reasons, missing signals."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
from fastapi.testclient import TestClient

from runtime.config import Settings
from store import db
from store.highlights import add_manual_highlight, save_analysis
from studio.highlights import Highlight, HighlightResult, Signal


def _result() -> HighlightResult:
    hz, n = 1.0, 600
    chat = np.zeros(n, np.float32)
    chat[300:320] = 5.0
    loud = np.linspace(0, 1, n, dtype=np.float32)
    picked = Highlight(
        start=290.0,
        end=330.0,
        score=0.8,
        rank=1,
        sku="LS-0001",
        peak=305.0,
        contributions={"chat": 0.7, "loudness": 0.3},
        reason="chat 5.0x baseline at 05:05, host said <上链接>",
        snapped=(True, True),
    )
    return HighlightResult(
        highlights=[picked],
        signals={"chat": Signal("chat", chat, hz), "loudness": Signal("loudness", loud, hz, unit="dB")},
        missing={"orders": "no stream orders imported"},
        warnings=["12 chat rows after the end of the recording were dropped"],
        hz=hz,
        weights={"chat": 0.7, "loudness": 0.3},
        score=(0.7 * chat / 5 + 0.3 * loud).astype(np.float32),
    )


def test_recording_page_without_analysis_says_how_to_start(
    login: Callable[[str], TestClient], add_recording: Callable[..., str]
) -> None:
    rec_id = add_recording(duration=600.0)
    html = login("merchant").get(f"/recordings/{rec_id}").text
    assert "Not analysed yet" in html and f"/api/recordings/{rec_id}/analyses" in html
    assert "<svg" not in html


def test_recording_page_draws_score_timeline_with_reasons(
    settings: Settings, login: Callable[[str], TestClient], add_recording: Callable[..., str]
) -> None:
    rec_id = add_recording(duration=600.0)
    with db.session_scope(settings.database_url) as session:
        save_analysis(
            session, recording_id=rec_id, job_id=None, params={"preset": "sales", "clips": 1}, result=_result()
        )
        add_manual_highlight(session, recording_id=rec_id, start=100.0, end=130.0)
    page = login("merchant").get(f"/recordings/{rec_id}")
    assert page.status_code == 200
    html = page.text
    svg = html[html.index("<svg") : html.index("</svg>")]
    # one line per signal plus the combined score, one band per highlight (auto + manual)
    assert len(re.findall(r"<polyline", svg)) == 3
    assert "LS-0001" in svg and "&lt;上链接&gt;" in svg and "<上链接>" not in html
    assert "05:05" in html and "manual" in html and "locked" in html
    # the analysis facts: preset, missing signal with its note, warnings
    assert "Signals without data" in html and "no stream orders imported" in html
    assert "12 chat rows after the end of the recording were dropped" in html
    assert "sales" in html


def test_leader_cannot_see_the_timeline(login: Callable[[str], TestClient], add_recording: Callable[..., str]) -> None:
    rec_id = add_recording(duration=600.0)
    assert login("leader").get(f"/recordings/{rec_id}").status_code == 403
