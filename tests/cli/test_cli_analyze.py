"""``liveslice analyze`` as a real subprocess: a media file (no database) or a stored recording's id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from runtime.config import Settings
from store.db import session_scope
from store.highlights import list_highlights
from store.models import Job, Recording
from tests.api.highlights.highlight_media import (
    MAX_LEN,
    MIN_LEN,
    SmallStream,
    assert_selling_moments_found,
    small_stream,
)

HIGHLIGHT_KEYS = {
    "start",
    "end",
    "score",
    "rank",
    "sku",
    "peak",
    "contributions",
    "reason",
    "snapped",
    "locked",
    "source",
}
LENGTHS = ("--min-len", str(MIN_LEN), "--max-len", str(MAX_LEN), "--clips", "3")


@pytest.fixture(scope="session")
def stream(tmp_path_factory: pytest.TempPathFactory) -> SmallStream:
    return small_stream(tmp_path_factory)


def _cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LIVESLICE_")}
    base.update(LIVESLICE_MEDIA_ROOT=str(tmp_path / "media"), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "liveslice", *args], env=base, capture_output=True, text=True, timeout=180, check=False
    )


def _side_args(stream: SmallStream) -> list[str]:
    f = stream.files
    return [
        "--products",
        str(f.catalog),
        "--timeline",
        str(f.timeline),
        "--chat",
        str(f.chat),
        "--orders",
        str(f.orders),
        "--transcript",
        str(f.transcript),
    ]


@pytest.mark.slow
def test_file_json_is_one_document_and_finds_the_selling_moments(tmp_path: Path, stream: SmallStream) -> None:
    # TTY_COMPATIBLE makes rich draw the progress bar although stderr is a pipe: it must stay off stdout.
    out = _cli(
        tmp_path, "analyze", str(stream.path), *_side_args(stream), *LENGTHS, "--json", env={"TTY_COMPATIBLE": "1"}
    )
    assert out.returncode == 0, out.stderr
    document = json.loads(out.stdout)  # exactly one JSON document, nothing else
    assert "100%" in out.stderr and "━" in out.stderr  # the progress bar went to stderr
    assert document["recording"] == {"path": str(stream.path), "duration": pytest.approx(40.0, abs=0.1)}
    assert set(document) == {"recording", "highlights", "signals", "missing", "warnings", "weights", "hz"}
    assert document["missing"] == {} and document["hz"] == 10.0
    highlights = document["highlights"]
    assert len(highlights) == 3 and [h["start"] for h in highlights] == sorted(h["start"] for h in highlights)
    for h in highlights:
        assert set(h) == HIGHLIGHT_KEYS and set(h["snapped"]) == {"start", "end"}
        assert MIN_LEN - 0.01 <= h["end"] - h["start"] <= MAX_LEN + 0.01
    assert_selling_moments_found(stream.plan, highlights)
    assert not (tmp_path / "media" / "liveslice.db").exists()  # a file is analysed without any database


def test_file_table_lists_highlights_and_missing_side_data(tmp_path: Path, stream: SmallStream) -> None:
    out = _cli(tmp_path, "analyze", str(stream.path), *LENGTHS, "--scoring", "sales", "--weights", "gifts=0")
    assert out.returncode == 0, out.stderr
    assert "Highlights of" in out.stdout and "start–end" in out.stdout and "0:" in out.stdout
    assert "missing: orders (no stream orders)" in out.stdout and "missing: chat (no chat log)" in out.stdout
    assert "missing: gifts" not in out.stdout  # switched off with gifts=0, so not missed


@pytest.mark.slow
def test_bad_side_data_and_options_exit_2_with_located_errors(tmp_path: Path, stream: SmallStream) -> None:
    chat = tmp_path / "chat.csv"
    chat.write_text("ts,user,text\n00:00:05,a,hi\nsoon,b,上链接\n", encoding="utf-8")
    bad = _cli(tmp_path, "analyze", str(stream.path), "--chat", str(chat), *LENGTHS)
    assert bad.returncode == 2 and "chat.csv:3: ts:" in bad.stderr and bad.stdout == ""

    for args, needle in (
        (("--scoring", "viral"), "unknown preset 'viral'"),
        (("--weights", "orders"), "--weights: expected name=number"),
        (("--weights", "likes=1"), "unknown signal 'likes'"),
        (("--min-len", "50", "--max-len", "60"), "shorter than min_len"),
        (("--timeline", str(stream.files.timeline)), "--timeline needs --products"),
    ):
        out = _cli(tmp_path, "analyze", str(stream.path), *args)
        assert out.returncode == 2 and needle in out.stderr, (args, out.stderr)
    unknown = _cli(tmp_path, "analyze", "no-such-recording")
    assert unknown.returncode == 2 and "neither a media file nor a recording id" in unknown.stderr


@pytest.mark.slow
def test_wall_clock_chat_needs_the_stream_start(tmp_path: Path, stream: SmallStream) -> None:
    started = datetime(2026, 11, 20, 20, 0, 0)
    chat = tmp_path / "wall-chat.csv"
    lines = [
        f"{(started + timedelta(seconds=c.ts)).isoformat(sep=' ')},{c.user},{c.text},{c.kind}" for c in stream.plan.chat
    ]
    chat.write_text("ts,user,text,kind\n" + "\n".join(lines) + "\n", encoding="utf-8")

    refused = _cli(tmp_path, "analyze", str(stream.path), "--chat", str(chat), *LENGTHS)
    assert refused.returncode == 2 and "stream_started_at" in refused.stderr and "wall-chat.csv:2: ts" in refused.stderr

    ok = _cli(
        tmp_path,
        "analyze",
        str(stream.path),
        "--chat",
        str(chat),
        "--stream-start",
        "2026-11-20T20:00:00+08:00",
        *LENGTHS,
        "--json",
    )
    assert ok.returncode == 0, ok.stderr
    document = json.loads(ok.stdout)
    assert "chat" not in document["missing"] and document["signals"]["chat"]["available"]
    assert any("chat" in h["reason"] for h in document["highlights"])


@pytest.mark.slow
def test_recording_id_imports_side_data_and_stores_highlights(tmp_path: Path, stream: SmallStream) -> None:
    ingested = _cli(tmp_path, "ingest", str(stream.path))
    assert ingested.returncode == 0, ingested.stderr
    settings = Settings(_env_file=None, media_root=tmp_path / "media")
    with session_scope(settings.database_url) as session:
        rec_id = session.query(Recording).one().id
    out = _cli(tmp_path, "analyze", rec_id, *_side_args(stream), *LENGTHS, "--json")
    assert out.returncode == 0, out.stderr
    document = json.loads(out.stdout)
    assert document["recording"] == {"id": rec_id, "duration": pytest.approx(40.0, abs=0.1)}
    assert document["missing"] == {}
    assert all(set(h) == HIGHLIGHT_KEYS | {"id"} for h in document["highlights"])
    assert_selling_moments_found(stream.plan, document["highlights"])
    with session_scope(settings.database_url) as session:
        rows = list_highlights(session, recording_id=rec_id)
        assert [r.id for r in rows] == [h["id"] for h in document["highlights"]]
        job = session.query(Job).filter_by(recording_id=rec_id, kind="analyze").one()
        assert job.status == "succeeded" and job.options["clips"] == 3

    table = _cli(tmp_path, "analyze", rec_id, *LENGTHS)  # side data is in the database now
    assert table.returncode == 0, table.stderr
    assert "LS-0001" in table.stdout and "LS-0002" in table.stdout and "missing:" not in table.stdout
