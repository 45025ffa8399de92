"""A small sample live stream (40 s, two products, planted selling moments) with its side-data files.

Rendered once per test session into the session's base temp folder and shared by the API, worker
and CLI tests of the highlight feature (``small_stream(tmp_path_factory)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runtime.config import Settings
from services.ingest import ingest_file
from services.sample_data import SamplePlan, SideDataFiles, make_plan, write_side_data
from services.sidedata_import import import_side_data
from store.db import get_sessionmaker, session_scope
from store.models import Job
from studio.fonts import find_cjk_font
from studio.synth import render_sample_stream

MIN_LEN, MAX_LEN = 5.0, 15.0  # the stream is short: each product is on air for about 17 s
PARAMS = {"clips": 3, "preset": "sales", "min_len": MIN_LEN, "max_len": MAX_LEN}


@dataclass(frozen=True)
class SmallStream:
    plan: SamplePlan
    path: Path
    files: SideDataFiles

    def side_files(self) -> dict[str, Path]:
        """kind -> file, the catalog first (the other kinds need its SKUs)."""
        f = self.files
        return {
            "catalog": f.catalog,
            "timeline": f.timeline,
            "chat": f.chat,
            "orders": f.orders,
            "transcript": f.transcript,
        }


def small_stream(tmp_path_factory: pytest.TempPathFactory) -> SmallStream:
    plan = make_plan(duration=40.0, seed=11, products=2)
    folder = tmp_path_factory.getbasetemp() / "highlight-small-stream"
    path = folder / "live.mp4"
    files = write_side_data(plan, folder)
    if not path.exists():
        render_sample_stream(plan, path, font=find_cjk_font().path, width=144, height=256, fps=10)
    return SmallStream(plan, path, files)


def assert_selling_moments_found(plan: SamplePlan, highlights: list[dict]) -> None:
    """Each planted selling moment lies in a highlight tagged with its SKU whose reason names the orders."""
    for seg in plan.segments:
        found = [h for h in highlights if h["start"] <= seg.selling_moment <= h["end"]]
        assert len(found) == 1, (seg, highlights)
        (h,) = found
        assert h["sku"] == seg.sku, h
        assert abs(h["peak"] - seg.selling_moment) <= 2.0, (h["peak"], seg.selling_moment)
        assert "orders" in h["reason"] and "上链接" in h["reason"], h["reason"]


def ingest(settings: Settings, stream: SmallStream, *, side_data: bool = True) -> str:
    """The stream stored as a recording (probe job left queued), with its side data imported."""
    session = get_sessionmaker(settings.database_url)()
    try:
        rec_id = ingest_file(
            settings, session, stream.path, filename="live.mp4", origin="upload", move=False
        ).recording.id
        for kind, path in stream.side_files().items() if side_data else ():
            import_side_data(
                settings,
                session,
                kind=kind,
                data=path.read_bytes(),
                filename=path.name,
                recording_id=None if kind == "catalog" else rec_id,
            )
    finally:
        session.close()
    return rec_id


def add_analyze_job(settings: Settings, recording_id: str, **options: Any) -> str:
    with session_scope(settings.database_url) as session:
        job = Job(kind="analyze", recording_id=recording_id, status="queued", options={**PARAMS, **options})
        session.add(job)
        session.flush()
        return job.id
