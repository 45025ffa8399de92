"""One name per meaning: ``--platform``, ``--scoring``, ``--weights k=v``, ``--stream-start``; old spellings
are hidden and warn; booleans are flags shown without a value."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main

from liveslice.cli import app


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESLICE_")}
    env.update(LIVESLICE_MEDIA_ROOT=str(tmp_path / "media"), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "liveslice", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _commands(command: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (sub)command of the app's click command (typer's own click: duck-typed)."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, f"{path} {name}".strip())


def test_every_boolean_is_a_flag_shown_without_a_value() -> None:
    flags = 0
    for path, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            if getattr(param, "is_flag", False) and param.name not in ("help", "install_completion", "show_completion"):
                assert param.metavar == "", f"liveslice {path} {param.opts[0]} is shown as taking a value"
                flags += 1
    assert flags >= 10


@pytest.mark.parametrize(
    ("command", "shown", "hidden"),
    [
        ("analyze", ["--scoring", "--weights", "--stream-start", "--scenes", "--json"], ["--preset"]),
        ("render", ["--platform", "--fast", "--captions", "--json"], ["--preset"]),
        ("process", ["--platform", "--scoring", "--weights", "--stream-start", "--json"], ["--preset"]),
        ("ingest", ["--stream-start"], ["--stream-started-at"]),
        ("import chat", ["--stream-start"], ["--stream-started-at"]),
    ],
)
def test_help_shows_the_new_names_only(tmp_path: Path, command: str, shown: list[str], hidden: list[str]) -> None:
    result = _cli(tmp_path, *command.split(), "--help")
    assert result.returncode == 0, result.stderr
    words = set(result.stdout.replace("│", " ").split())
    assert set(shown) <= words and not set(hidden) & words
    assert "<bool>" not in result.stdout  # flags, --help included, take no value


def test_old_names_still_work_and_warn(tmp_path: Path, small_mp4: Path) -> None:
    # each fails fast on its (forwarded) bad value, before any media work
    analyze = _cli(tmp_path, "analyze", str(small_mp4), "--preset", "viral")
    assert analyze.returncode == 2 and "--preset is deprecated, use --scoring" in analyze.stderr
    assert "unknown preset 'viral'" in analyze.stderr
    render = _cli(tmp_path, "render", str(small_mp4), "--start", "0", "--end", "1", "--preset", "myspace")
    assert render.returncode == 2 and "--preset is deprecated, use --platform" in render.stderr
    assert "unknown preset 'myspace'" in render.stderr
    process = _cli(tmp_path, "process", str(small_mp4), "--weights", "viral")
    assert process.returncode == 2 and "--weights NAME is deprecated, use --scoring" in process.stderr
    assert "unknown preset 'viral'" in process.stderr
    ingest = _cli(tmp_path, "ingest", str(small_mp4), "--stream-started-at", "2026-11-11T20:00:00+08:00")
    assert ingest.returncode == 0 and "--stream-started-at is deprecated, use --stream-start" in ingest.stderr


def test_an_old_and_a_new_name_together_are_refused(tmp_path: Path, small_mp4: Path) -> None:
    both = _cli(tmp_path, "analyze", str(small_mp4), "--scoring", "sales", "--preset", "engagement")
    assert both.returncode == 2 and "give only --scoring" in both.stderr
