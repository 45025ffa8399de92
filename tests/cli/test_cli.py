"""The command line, run as a real subprocess against an isolated media root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from liveslice.cli import app
from liveslice.cli.common import is_loopback_url
from liveslice.cli.demo_run import next_steps, run_demo
from runtime.config import Settings, get_settings
from store import share_links
from store.db import session_scope
from store.models import (
    Attribution,
    ChatEvent,
    Click,
    Clip,
    Job,
    Product,
    Recording,
    Sale,
    StreamOrder,
    TimelineSegment,
    utcnow,
)
from studio.ffmpeg import run_ffmpeg

PUBLIC = "https://clips.example.com"


def _cli(
    tmp_path: Path, *args: str, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LIVESLICE_")}
    env = {**base, "LIVESLICE_MEDIA_ROOT": str(tmp_path / "media"), **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "liveslice", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def test_keys_create_list_revoke(tmp_path: Path) -> None:
    created = _cli(tmp_path, "keys", "create", "--role", "content", "--name", "studio team")
    secret = created.stdout.strip()
    assert secret.startswith("lsk_")
    listed = _cli(tmp_path, "keys", "list").stdout
    assert "studio team" in listed and secret not in listed
    prefix = secret[4:].split("_")[0]
    assert "revoked" in _cli(tmp_path, "keys", "revoke", prefix).stdout
    bad = _cli(tmp_path, "keys", "create", "--role", "owner", "--name", "x", check=False)
    assert bad.returncode == 2 and "unknown role" in bad.stderr


def test_db_upgrade_and_doctor(tmp_path: Path) -> None:
    assert "at revision" in _cli(tmp_path, "db", "upgrade").stdout
    doctor = _cli(tmp_path, "doctor", check=False)
    out = doctor.stdout
    for component in ("ffmpeg", "CJK font", "database", "broker", "storage"):
        assert component in out
    assert "ffmpeg version" in out and "imageio-ffmpeg" in out
    # the default public URL is loopback: said, with the variable to set, but not a failure
    assert "public URL" in out and "only open on this machine" in out and "LIVESLICE_PUBLIC_BASE_URL" in out
    public = _cli(tmp_path, "doctor", check=False, env={"LIVESLICE_PUBLIC_BASE_URL": PUBLIC}).stdout
    assert f"public URL: {PUBLIC}" in public and "only open on this machine" not in public


def test_doctor_names_a_missing_ffmpeg_and_the_fix(tmp_path: Path) -> None:
    env_ffmpeg = str(tmp_path / "no-such-ffmpeg")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESLICE_")}
    env.update(LIVESLICE_MEDIA_ROOT=str(tmp_path / "media"), LIVESLICE_FFMPEG=env_ffmpeg)
    result = subprocess.run(
        [sys.executable, "-m", "liveslice", "doctor"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 1
    assert "no-such-ffmpeg" in result.stdout and "LIVESLICE_FFMPEG" in result.stdout


def test_ingest_and_import_from_the_shell(tmp_path: Path, small_mp4: Path) -> None:
    out = _cli(tmp_path, "ingest", str(small_mp4), "--title", "shell upload").stdout
    assert "320x240" in out
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("sku,name,price\nA1,面霜,9.90\nA2,Bad,abc\n", encoding="utf-8")
    failed = _cli(tmp_path, "import", "catalog", str(catalog), check=False)
    assert failed.returncode == 2 and "catalog.csv:3: price" in failed.stderr


def test_ingest_warns_about_a_recording_without_audio(tmp_path: Path, media_dir: Path) -> None:
    silent = media_dir / "video-only.mp4"
    if not silent.exists():
        lavfi = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=2"]
        run_ffmpeg([*lavfi, "-an", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-y", str(silent)])
    result = _cli(tmp_path, "ingest", str(silent))
    assert "320x240" in result.stdout
    warning = " ".join(result.stderr.split())
    assert "warning: video-only.mp4: the recording has no audio track" in warning
    assert "loudness, voice" in warning and "highlights rely on the side data" in warning


def test_ingest_with_audio_has_no_warning(tmp_path: Path, small_mp4: Path) -> None:
    assert "warning" not in _cli(tmp_path, "ingest", str(small_mp4)).stderr


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:8000", True),
        ("http://localhost:8000", True),
        ("http://LOCALHOST.", True),
        ("http://[::1]:8000", True),
        ("http://127.1.2.3", True),
        ("http://0.0.0.0:8000", True),
        ("http://192.168.1.20:8000", False),
        (PUBLIC, False),
    ],
)
def test_loopback_urls(url: str, loopback: bool) -> None:
    assert is_loopback_url(url) is loopback


def test_demo_summary_warns_while_share_links_are_loopback(settings: Settings) -> None:
    lines = next_steps(settings, "rec1")
    assert "(log in with a key from 'liveslice keys create --role admin --name me')" in lines[0]
    assert lines[0].endswith("('liveslice keys create --role leader --leader wang --name phone')")
    assert f"{settings.public_base_url}/recordings/rec1" in lines[0]
    assert "only this machine can open" in lines[1] and "set LIVESLICE_PUBLIC_BASE_URL" in lines[1]
    public = next_steps(settings.model_copy(update={"public_base_url": PUBLIC}), "rec1")
    assert len(public) == 1 and f"{PUBLIC}/recordings/rec1" in public[0]


@pytest.mark.parametrize(("url", "warned"), [("http://localhost:8000", True), (PUBLIC, False)])
def test_serve_warns_while_share_links_are_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, warned: bool
) -> None:
    import liveslice.serve

    served: list[str] = []
    monkeypatch.setattr(liveslice.serve, "serve", lambda settings, **_: served.append(settings.public_base_url))
    env = {"LIVESLICE_MEDIA_ROOT": str(tmp_path / "media"), "LIVESLICE_PUBLIC_BASE_URL": url}
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve"], env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert served == [url]
    assert ("LIVESLICE_PUBLIC_BASE_URL" in result.stderr) is warned


@pytest.mark.slow
def test_demo_runs_end_to_end_on_a_short_stream(settings: Settings, tmp_path: Path) -> None:
    result_started = utcnow()
    result = run_demo(settings, out=tmp_path / "demo", duration=60.0)
    assert result.stream.is_file()
    with session_scope(settings.database_url) as session:
        recording = session.get(Recording, result.recording_id)
        assert recording is not None and recording.status == "ready"
        assert (recording.width, recording.height) == (720, 1280)
        assert recording.duration == pytest.approx(60.0, abs=0.2)
        job = session.query(Job).filter_by(recording_id=recording.id, kind="probe", parent_id=None).one()
        assert job.status == "succeeded"
        process = session.query(Job).filter_by(recording_id=recording.id, kind="process").one()
        assert process.status == "succeeded", process.error
        stages = {j.key.split(":")[0] for j in session.query(Job).filter_by(parent_id=process.id)}
        assert stages == {"probe", "signals", "highlights", "render", "variants", "covers", "finalize"}
        assert result.highlights and all(h["id"] and h["reason"] for h in result.highlights)
        assert session.query(Product).count() >= 1
        assert session.query(TimelineSegment).filter_by(recording_id=recording.id).count() >= 1
        assert session.query(ChatEvent).filter_by(recording_id=recording.id).count() > 10
        assert session.query(StreamOrder).filter_by(recording_id=recording.id).count() > 0
        clips = session.query(Clip).filter_by(recording_id=recording.id).all()
        assert len(clips) == len(result.highlights) and all(c.status == "ready" for c in clips)
    assert result.counts["timeline"] >= 1
    # every highlight as a Douyin clip with two leaders' variants, exported beside manifest.json
    assert (tmp_path / "demo" / "clips" / "manifest.json").is_file()
    assert [c["preset"] for c in result.clips] == ["douyin"] * len(result.highlights)
    for clip in result.clips:
        assert not clip["corner_qr"] and sorted(v["leader"] for v in clip["files"]["variants"].values()) == [
            "Lily",
            "小王团长",
        ]
        paths = [clip["files"][k] for k in ("video", "cover", "poster")]
        paths += [v[k] for v in clip["files"]["variants"].values() for k in ("video", "poster")]
        assert all(Path(p).is_file() for p in paths)
    # every QR is a share link /s/{code} of this server that resolves to the product's buy_url
    links = [(c["share_url"], c["product"]["buy_url"]) for c in result.clips]
    links += [(v["share_url"], c["product"]["buy_url"]) for c in result.clips for v in c["files"]["variants"].values()]
    assert all(url.startswith(f"{settings.public_base_url}/s/") for url, _ in links)
    assert len({url for url, _buy in links}) == len(links)
    with session_scope(settings.database_url) as session:
        for url, buy_url in links:
            link = share_links.resolve(session, url.rsplit("/s/", 1)[1])
            assert link is not None and link.target_url == buy_url and buy_url.startswith("https://")
    assert result.render_seconds > 0
    # publishing: every clip approved and sent to each demo leader's group on a local stand-in
    assert len(result.publications) == 2 * len(result.clips)
    assert all(p.status == "sent" for p in result.publications), [(p.status, p.error) for p in result.publications]
    assert {p.channel for p in result.publications} == {"wecom", "feishu"}
    with session_scope(settings.database_url) as session:
        assert all(c.review_status == "approved" for c in session.query(Clip).filter_by(recording_id=recording.id))
    # sales: a simulated week plus, per leader, live visits and a signed order through the public contracts
    sales = result.sales
    assert sales is not None and len(sales.live_orders) == 2
    with session_scope(settings.database_url) as session:
        for order_id in sales.live_orders:
            sale = session.query(Sale).filter_by(order_id=order_id).one()
            credit = session.query(Attribution).filter_by(sale_id=sale.id).one()
            assert credit.method == "click" and credit.leader_id in ("wang", "lily")
        live = session.query(Click).filter(Click.at > result_started).all()
        assert sorted(c.bot_reason or "" for c in live if c.bot) == [
            "head",
            "head",
            "preview:dingtalk",
            "preview:dingtalk",
        ]
    history = sales.history
    assert sum(row.orders for row in sales.by_leader) == history.sales + 2
    assert sum(row.bot_hits for row in sales.by_leader) == history.bot_hits + 4
    assert all(row.commission > 0 for row in sales.by_leader if row.orders)
