"""``liveslice process FILE --json``: the manifest contract, every file present and valid."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from liveslice.cli import app
from liveslice.serve import settings_env
from runtime.config import Settings, get_settings
from studio.render import get_preset, validate_output
from tests.pipeline.conftest import CHAT, ORDERS
from tests.services.clips.clip_media import CATALOG, TIMELINE, TRANSCRIPT


def test_process_a_file_writes_the_manifest_contract(
    settings: Settings, pipeline_source: Path, tmp_path: Path, monkeypatch: object
) -> None:
    side = {}
    for name, text in (
        ("catalog.csv", CATALOG),
        ("timeline.csv", TIMELINE),
        ("t.srt", TRANSCRIPT),
        ("chat.csv", CHAT),
        ("orders.csv", ORDERS),
    ):
        (tmp_path / name).write_text(text, encoding="utf-8")
        side[name] = str(tmp_path / name)
    (tmp_path / "leaders.csv").write_text("name,share_url\nLily,\n小王团长,https://example.com/wang\n")
    env = settings_env(settings)
    out = tmp_path / "out"
    args = [
        "process",
        str(pipeline_source),
        "--products",
        side["catalog.csv"],
        "--timeline",
        side["timeline.csv"],
        "--transcript",
        side["t.srt"],
        "--chat",
        side["chat.csv"],
        "--orders",
        side["orders.csv"],
        "--clips",
        "2",
        "--min-len",
        "3",
        "--max-len",
        "4",
        "--preset",
        "douyin",
        "--leaders",
        str(tmp_path / "leaders.csv"),
        "--out",
        str(out),
        "--json",
    ]
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, args, env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.stdout)
    assert manifest == json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "succeeded" and manifest["clips"]
    for clip in manifest["clips"]:
        for field in ("start", "end", "score", "reason", "reasons", "sku", "files", "share_links"):
            assert clip[field] not in (None, "", []), field
        files = clip["files"]
        validate_output(Path(files["video"]), preset=get_preset("douyin"), expected_duration=clip["duration"])
        assert Path(files["cover"]).is_file() and Path(files["poster"]).is_file()
        assert {v["leader"] for v in files["variants"].values()} == {"Lily", "小王团长"}
        for variant in files["variants"].values():
            validate_output(Path(variant["video"]), preset=get_preset("douyin"))
            assert Path(variant["poster"]).is_file()
        wang = next(v for v in files["variants"].values() if v["leader"] == "小王团长")
        assert wang["share_url"] == "https://example.com/wang"  # a leader's own link is used as given
        assert all(Path(p).parent == out.resolve() for p in (files["video"], files["cover"]))
    # the same command again reuses the recording and its clips
    get_settings.cache_clear()
    try:
        again = CliRunner().invoke(app, args, env=env)
    finally:
        get_settings.cache_clear()
    assert again.exit_code == 0, again.output
    assert [c["clip_id"] for c in json.loads(again.stdout)["clips"]] == [c["clip_id"] for c in manifest["clips"]]
