"""bench/e2e's figures: per-stage times of the job, checks of its clips, and the bare analysis and encode limits."""

from __future__ import annotations

import importlib.util
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from pipeline import plan  # noqa: E402
from pipeline.advance import children_of, plan_children  # noqa: E402
from runtime.config import Settings  # noqa: E402
from services.storage import get_storage  # noqa: E402
from store.clips import cues_between  # noqa: E402
from store.db import session_scope  # noqa: E402
from store.models import Clip  # noqa: E402

PRESET = "douyin"
STAGES = ("probe", "signals", "highlights", "render", "covers", "finalize")


def bench_module(name: str) -> ModuleType:
    """``bench/<name>.py`` imported as ``bench_<name>`` (bench/ is no package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bench_analyze, bench_render = bench_module("analyze"), bench_module("render")


def seconds_between(a: datetime | None, b: datetime | None) -> float:
    return (b - a).total_seconds() if a is not None and b is not None else 0.0


# -- the pipeline through a real worker ---------------------------------------------------------------------


def stage_figures(settings: Settings, job_id: str, wall0: datetime, total: float) -> dict[str, Any]:
    """Per stage: jobs, busy seconds (sum), span (first start to last finish), mean wait after sending."""
    with session_scope(settings.database_url) as session:
        rows = list(children_of(session, job_id).values())
        marks = [
            ((r.key or r.kind).split(":")[0], r.status, r.enqueued_at, r.started_at, r.finished_at, r.attempts)
            for r in rows
        ]
    figures: dict[str, Any] = {}
    for stage in STAGES:
        mine = [m for m in marks if m[0] == stage and m[3] is not None]
        if not mine:
            continue
        busy = [seconds_between(m[3], m[4]) for m in mine]
        waits = [seconds_between(m[2], m[3]) for m in mine if m[2] is not None]
        first = min(m[3] for m in mine if m[3] is not None)
        last = max((m[4] for m in mine if m[4] is not None), default=first)
        figures[stage] = {
            "jobs": len(mine),
            "busy_s": sum(busy),
            "max_s": max(busy),
            "span_s": seconds_between(first, last),
            "start_s": seconds_between(wall0, first),
            "end_s": seconds_between(wall0, last),
            "wait_s": sum(waits) / len(waits) if waits else 0.0,
            "failed": sum(1 for m in mine if m[1] != "succeeded"),
            "retries": sum(max(0, (m[5] or 1) - 1) for m in mine),
        }
    # time after the first stage started when no stage ran at all: orchestration latency between stages
    intervals = sorted(
        (seconds_between(wall0, m[3]), seconds_between(wall0, m[4] or m[3])) for m in marks if m[3] is not None
    )
    covered, reach = 0.0, intervals[0][0] if intervals else 0.0
    for lo, hi in intervals:
        lo = max(lo, reach)
        if hi > lo:
            covered, reach = covered + hi - lo, hi
    return {"stages": figures, "idle_s": max(0.0, total - (intervals[0][0] if intervals else 0.0) - covered)}


def check_clips(settings: Settings, job_id: str) -> dict[str, Any]:
    """Each clip: ready, with its video, cover and poster files; card, captions and QR (on the poster)."""
    storage = get_storage(settings)
    with session_scope(settings.database_url) as session:
        ids = plan.clip_ids(plan_children(children_of(session, job_id)), plan.PROCESS)
        clips = {c.id: c for c in session.scalars(select(Clip).where(Clip.id.in_(ids)))}
        out = []
        for clip_id in ids:
            c = clips.get(clip_id)
            if c is None:
                out.append({"clip_id": clip_id, "ok": False, "problems": ["no clip row"]})
                continue
            problems = [] if c.status == "ready" else [f"status {c.status}: {c.error or ''}"]
            for name, key in (("video", c.video_key), ("cover", c.cover_key), ("poster", c.poster_key)):
                if not key or not storage.local_path(key).is_file():
                    problems.append(f"no {name} file")
            cues = cues_between(session, recording_id=c.recording_id, start=c.start, end=c.end)
            captions = bool(cues) and bool((c.options or {}).get("captions"))
            out.append(
                {
                    "clip_id": c.id,
                    "start": c.start,
                    "end": c.end,
                    "duration": c.duration or 0.0,
                    "sku": c.sku,
                    "card": c.product is not None,
                    "captions": captions,
                    "qr": bool(c.share_url and c.poster_key),
                    "problems": problems,
                    "ok": not problems,
                }
            )
    return {"clips": out}


# -- the limit, measured in the same run ---------------------------------------------------------------------


def analysis_limit(video: Path, side: Path, params: dict[str, Any]) -> dict[str, Any]:
    """Probe + side data + detect_highlights with the job's parameters, no signal cache, in this process."""
    from pipeline.analysis import run_detection

    started = time.perf_counter()
    inp = bench_analyze.load_input(video, side)  # cache_dir=None: every signal decoded afresh
    result = run_detection(inp, params)
    return {"wall_s": time.perf_counter() - started, "highlights": len(result.highlights)}


def encode_limit(video: Path, windows: list[tuple[float, float]], concurrency: int, work: Path) -> dict[str, Any]:
    """Each window of ``video`` scaled to the preset's size with its encoder flags, ``concurrency`` at a time."""
    from studio.probe import probe

    info = probe(video)
    work.mkdir(parents=True, exist_ok=True)
    display = [info.display_width, info.display_height]
    specs = [
        {
            "preset": PRESET,
            "display": display,
            "start": s,
            "end": e,
            "source": str(video),
            "out": str(work / f"bare-{i:02d}.mp4"),
        }
        for i, (s, e) in enumerate(windows)
    ]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        list(pool.map(bench_render.task_limit, specs))
    return {"wall_s": time.perf_counter() - started, "clips": len(specs), "seconds": sum(e - s for s, e in windows)}


# -- report ------------------------------------------------------------------------------------------------
