"""End-to-end benchmark: a long recording with its side data to share-ready 9:16 clips through a real worker.

    .venv/bin/python bench/e2e.py [--hours 1] [--clips 10] [--concurrency 2] [--out bench/out/e2e] [--keep]

Generates once (cached in ``--out``/source by parameters) an ``--hours``-long 720x1280 sample stream with
planted selling moments and its side data (catalog with buy_url, timeline, chat, orders, transcript), via
``bench/analyze.py``'s generator. Then, in a fresh media root (``--out``/media, deleted afterwards unless
``--keep``), it starts the embedded broker and ONE real ``celery worker`` (queues analysis + render,
``--concurrency`` processes), waits for it to be ready, and times what a merchant does: register the
recording by path (its probe job runs in the worker), import the side data, create a ``process`` job
(douyin, ``--clips`` clips, default 15-60 s lengths, no leaders) and ``drive`` it; every stage runs in
the worker. Stage times come from the stage job rows (started_at / finished_at).

Then, in the same run (the worker stopped), the limit:

* analysis: a fresh in-process highlight analysis of the same recording (probe, side-data parsing,
  ``detect_highlights`` with the job's parameters), signal cache off;
* bare encode: each clip's window of the source scaled to 1080x1920 with the douyin preset's encoder
  flags (``bench/render.py``'s ``task_limit``: same fps, x264 preset, CRF, profile, AAC), no overlays,
  ``--concurrency`` at a time (the worker's concurrency).

Target: total wall <= 1.25x (analysis + bare encode). Exit code: 0 target met, 1 the pipeline failed or
a clip lacks its video/cover/poster, 3 the pipeline worked but missed the target. Figures: ``--out``/result.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from bench.e2e_figures import (  # noqa: E402
    analysis_limit,
    bench_analyze,
    check_clips,
    encode_limit,
    seconds_between,
    stage_figures,
)
from liveslice.cli.analysis import SideFiles, import_files  # noqa: E402
from liveslice.serve import prepare, start_worker  # noqa: E402
from pipeline import plan  # noqa: E402
from pipeline.advance import create_pipeline, drive, request_cancel  # noqa: E402
from pipeline.clipmaking import pipeline_options  # noqa: E402
from pipeline.status import job_view  # noqa: E402
from runtime.broker import EmbeddedBroker  # noqa: E402
from runtime.config import Settings  # noqa: E402
from services.ingest import register_path  # noqa: E402
from store.db import get_sessionmaker, session_scope  # noqa: E402
from store.models import Job, Recording, utcnow  # noqa: E402
from studio.render import get_preset  # noqa: E402
from workers.dispatch import enqueue_job  # noqa: E402

PRESET = "douyin"
TARGET_RATIO = 1.25
STAGES = ("probe", "signals", "highlights", "render", "covers", "finalize")
TERMINAL = ("succeeded", "failed", "cancelled")


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def wait_ready(log_path: Path, worker: Any, timeout: float = 90.0) -> float:
    """Seconds until the worker's log says it is ready (raises if it dies or takes too long)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        text = log_path.read_text(errors="replace") if log_path.exists() else ""
        if " ready." in text:
            return time.perf_counter() - started
        time.sleep(0.2)
    raise SystemExit(f"the celery worker did not get ready; its log:\n{log_path.read_text()[-3000:]}")


def run_pipeline(settings: Settings, video: Path, side: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Ingest, import, create and drive the job; poll until it ends. Main-process steps timed here."""
    steps: dict[str, float] = {}
    wall0, t0 = utcnow(), time.perf_counter()
    session = get_sessionmaker(settings.database_url)()
    try:
        registered = register_path(settings, session, str(video), title=video.stem, enqueue=enqueue_job)
        recording_id, probe_id = registered.recording.id, registered.job.id
    finally:
        session.close()
    steps["register"] = time.perf_counter() - t0
    t = time.perf_counter()
    while True:  # the recording is ready (its probe job done in the worker) before the merchant processes it
        with session_scope(settings.database_url) as session:
            probe_job, recording = session.get(Job, probe_id), session.get(Recording, recording_id)
            assert probe_job is not None and recording is not None
            if probe_job.status in TERMINAL:
                duration = float(recording.duration or 0.0)
                break
        if time.perf_counter() - t > 120:
            raise SystemExit("the recording's probe job did not finish within 120 s")
        time.sleep(0.1)
    steps["probe job (worker)"] = time.perf_counter() - t
    t = time.perf_counter()
    files = SideFiles(
        side / "catalog.csv", side / "timeline.csv", side / "chat.jsonl", side / "orders.csv", side / "transcript.srt"
    )
    import_files(settings, recording_id, files)
    steps["import side data"] = time.perf_counter() - t
    t = time.perf_counter()
    options = pipeline_options(clips=args.clips, presets=[PRESET], duration=duration)  # a merchant's defaults
    with session_scope(settings.database_url) as session:
        job, _created = create_pipeline(session, kind=plan.PROCESS, recording_id=recording_id, options=options)
        job_id = job.id
    drive(settings, job_id, send=enqueue_job)
    steps["create + drive"] = time.perf_counter() - t
    deadline = t0 + args.timeout
    last_print = 0.0
    while True:
        with session_scope(settings.database_url) as session:
            row = session.get(Job, job_id)
            assert row is not None
            status, finished_at = row.status, row.finished_at
            if time.perf_counter() - last_print >= 10 or status in TERMINAL:
                view = job_view(session, row)
                ready = sum(1 for c in view.get("clips", []) if c["status"] == "ready")
                say(
                    f"  {time.perf_counter() - t0:6.0f} s  {view['status']:<9} {view['stage']:<10} "
                    f"{view['progress'] * 100:5.1f}%  {ready}/{len(view.get('clips', []))} clips ready"
                )
                last_print = time.perf_counter()
        if status in TERMINAL:
            break
        if time.perf_counter() > deadline:
            say(f"timed out after {args.timeout:.0f} s: cancelling the job")
            request_cancel(settings, job_id)
            break
        time.sleep(0.5)
    observed = time.perf_counter() - t0
    total = seconds_between(wall0, finished_at) if finished_at is not None else observed
    return {
        "job_id": job_id,
        "recording_id": recording_id,
        "duration": duration,
        "view": view,
        "steps": steps,
        "total_s": total,
        "observed_s": observed,
        "wall0": wall0,
    }


def report(f: dict[str, Any], args: argparse.Namespace) -> tuple[bool, bool]:
    """Print the table; returns (pipeline and clips ok, target met)."""
    p, limit = get_preset(PRESET), f["limit"]
    clips = f["clips"]["clips"]
    clip_s = sum(c["duration"] for c in clips)
    total, rec = f["total_s"], f["duration"]
    print(
        f"\nliveslice end-to-end · {rec / 3600:g} h recording (720x1280, {bench_analyze.FPS} fps) -> {args.clips} "
        f"{PRESET} clips · one worker, concurrency {args.concurrency} · {os.cpu_count()} CPUs · load "
        f"{f['load_before'][0]:.2f} before, {f['load_after'][0]:.2f} after"
    )
    print(f"job {f['job_id']} {f['view']['status']}; worker ready in {f['worker_ready_s']:.1f} s (not counted)")
    print(f"\n{'step / stage':<28} {'jobs':>5} {'busy s':>8} {'span s':>8} {'from':>7} {'to':>7} {'wait s':>7}")
    for name, seconds in f["steps"].items():
        print(f"{'main: ' + name:<28} {'':>5} {seconds:8.2f}")
    for stage, s in f["stages"].items():
        flag = f"  {s['failed']} not succeeded" if s["failed"] else ""
        flag += f"  {s['retries']} retries" if s["retries"] else ""
        print(
            f"{stage:<28} {s['jobs']:>5} {s['busy_s']:8.2f} {s['span_s']:8.2f} {s['start_s']:7.1f} "
            f"{s['end_s']:7.1f} {s['wait_s']:7.2f}{flag}"
        )
    print(f"{'gaps: no stage running':<28} {'':>5} {f['idle_s']:8.2f}")
    print(f"{'total wall':<28} {'':>5} {total:8.2f}   {rec / total:.0f}x real time")
    print(
        f"\nlimit, same run: analysis {limit['analysis']['wall_s']:.2f} s (no cache, in-process, "
        f"{limit['analysis']['highlights']} highlights) + bare encode {limit['encode']['wall_s']:.2f} s "
        f"({limit['encode']['clips']} windows, {limit['encode']['seconds']:.1f} s of video, {p.width}x{p.height} "
        f"{p.fps} fps x264 {p.x264_preset} crf {p.crf} {p.profile}, AAC {p.audio_bitrate_kbps}k, "
        f"{args.concurrency} at a time) = {limit['limit_s']:.2f} s"
    )
    ok_clips = [c for c in clips if c["ok"]]
    render_span = f["stages"].get("render", {}).get("span_s") or 1e-9
    print(
        f"clips: {len(clips)} made, {clip_s:.1f} s in all ({clip_s / render_span:.2f}x real time over the render "
        f"span); ready with video+cover+poster {len(ok_clips)}/{len(clips)}; "
        f"card {sum(c['card'] for c in clips)}, captions {sum(c['captions'] for c in clips)}, "
        f"QR on poster {sum(c['qr'] for c in clips)}"
    )
    for c in clips:
        if not c["ok"]:
            print(f"  clip {c['clip_id']}: {'; '.join(c['problems'])}")
    ratio = total / limit["limit_s"]
    worked = f["view"]["status"] == "succeeded" and len(ok_clips) == len(clips) > 0
    met = worked and ratio <= TARGET_RATIO
    print(
        f"\n[{'PASS' if worked else 'FAIL'}] pipeline {f['view']['status']}, {len(ok_clips)}/{len(clips)} clips "
        f"complete{'' if len(clips) == args.clips else f' (asked for {args.clips})'}"
    )
    print(
        f"[{'PASS' if met else 'FAIL'}] total {total:.1f} s = {ratio:.2f}x the limit {limit['limit_s']:.1f} s "
        f"(target <= {TARGET_RATIO}x, i.e. <= {TARGET_RATIO * limit['limit_s']:.1f} s)"
    )
    if f["view"].get("errors"):
        print("errors: " + "; ".join(f["view"]["errors"]))
    return worked, met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=float, default=1.0, help="recording length (default 1)")
    parser.add_argument("--clips", type=int, default=10, help="clips to make (default 10)")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes, and bare encodes at once")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "e2e", help="work folder (git-ignored)")
    parser.add_argument("--keep", action="store_true", help="keep the media root and bare encodes afterwards")
    parser.add_argument("--timeout", type=float, default=None, help="give up on the job after this many seconds")
    args = parser.parse_args()
    args.timeout = args.timeout or max(900.0, 2 * args.hours * 3600)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    out = args.out.absolute()
    video, side = bench_analyze.make_recording(args.hours, out / "source")
    media = out / "media"
    shutil.rmtree(media, ignore_errors=True)
    shutil.rmtree(out / "bare", ignore_errors=True)
    settings = Settings(
        _env_file=None,
        media_root=media,
        import_roots=[video.parent],
        secret_key="bench-e2e",
        min_free_bytes=0,
        broker_url="embedded",
        worker_concurrency=args.concurrency,
    )
    prepare(settings)
    figures: dict[str, Any] = {
        "hours": args.hours,
        "clips_asked": args.clips,
        "concurrency": args.concurrency,
        "load_before": os.getloadavg(),
    }
    broker = EmbeddedBroker(settings)
    broker.start()
    log_path = out / "worker.log"
    try:
        with log_path.open("wb") as log_file:
            worker = start_worker(
                settings, queues=("analysis", "render"), concurrency=args.concurrency, stdout=log_file
            )
            try:
                figures["worker_ready_s"] = wait_ready(log_path, worker)
                say(f"worker ready; running the job ({args.hours:g} h, {args.clips} clips) ...")
                figures.update(run_pipeline(settings, video, side, args))
            finally:
                worker.stop()
    finally:
        broker.stop()
    figures.update(stage_figures(settings, figures["job_id"], figures["wall0"], figures["total_s"]))
    figures["clips"] = check_clips(settings, figures["job_id"])
    windows = [(c["start"], c["end"]) for c in figures["clips"]["clips"] if "start" in c]
    say("measuring the limit: analysis without cache ...")
    params = dict(figures["view"]["options"]["analysis"])
    analysis = analysis_limit(video, side, params)
    say(f"  {analysis['wall_s']:.1f} s; bare encode of {len(windows)} windows ...")
    encode = encode_limit(video, windows, args.concurrency, out / "bare")
    figures["limit"] = {"analysis": analysis, "encode": encode, "limit_s": analysis["wall_s"] + encode["wall_s"]}
    figures["load_after"] = os.getloadavg()
    worked, met = report(figures, args)
    figures["wall0"] = figures["wall0"].isoformat()
    (out / "result.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    if not args.keep:
        shutil.rmtree(media, ignore_errors=True)
        shutil.rmtree(out / "bare", ignore_errors=True)
    print(f"figures: {out / 'result.json'}; worker log: {log_path}" + (f"; media kept in {media}" if args.keep else ""))
    return 0 if met else (3 if worked else 1)


if __name__ == "__main__":
    raise SystemExit(main())
