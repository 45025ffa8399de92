"""A command imports only what it uses: ``--help`` and ``analyze FILE`` start without the database,
the queue or the renderer (checked in a fresh interpreter's ``sys.modules``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("sqlalchemy", "alembic", "celery", "kombu", "numpy", "PIL", "av", "cv2", "fastapi", "uvicorn", "boto3")
LAYERS = ("pipeline", "services", "store", "studio", "sidedata", "workers", "api", "runtime", "pydantic_settings")
RENDERER = ("studio.render", "studio.clip", "studio.cards", "PIL")

# runs the CLI in this interpreter, then reports what it imported on the last line of stderr
RUN = """
import json, sys
sys.argv = ["liveslice", *json.loads(sys.argv[1])]
if sys.argv[1:]:
    from liveslice.cli import main
    try:
        main()
    except SystemExit as exc:
        print("exit", exc.code, file=sys.stderr)
else:
    import liveslice.cli
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _modules(tmp_path: Path, *args: str) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESLICE_")}
    env["LIVESLICE_MEDIA_ROOT"] = str(tmp_path / "media")
    result = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(args)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    if args:
        assert "exit 0" in result.stderr, result.stderr  # the command itself ran and succeeded
    return set(json.loads(result.stderr.strip().splitlines()[-1])), result


def _loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == n or m.startswith(n + ".") for n in names))


@pytest.mark.parametrize("args", [(), ("--help",), ("analyze", "--help"), ("process", "--help"), ("render", "--help")])
def test_importing_the_cli_and_help_load_no_heavy_package(tmp_path: Path, args: tuple[str, ...]) -> None:
    modules, _ = _modules(tmp_path, *args)
    assert _loaded(modules, HEAVY + LAYERS) == []


def test_analyzing_a_file_needs_no_database_queue_or_renderer(tmp_path: Path, small_mp4: Path) -> None:
    args = ("analyze", str(small_mp4), "--min-len", "0.5", "--max-len", "1", "--clips", "1", "--json")
    modules, result = _modules(tmp_path, *args)
    assert json.loads(result.stdout)["recording"]["path"] == str(small_mp4)
    assert _loaded(modules, ("sqlalchemy", "alembic", "celery", "kombu", "store", "services", "pipeline")) == []
    assert _loaded(modules, RENDERER) == []
    assert not (tmp_path / "media" / "liveslice.db").exists()
