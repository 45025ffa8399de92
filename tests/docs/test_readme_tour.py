"""The README's five-minute tour runs as written, against a live ``liveslice serve``, on demo-style files.

The bash blocks under "A five-minute tour" are joined into one script and run in a fresh folder holding
``.venv`` (this interpreter's) and ``media/demo/`` (a short sample stream and its five side-data files, as
``liveslice demo`` writes them). The one change: ``API=`` points at a free port instead of 8000.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from services.sample_data import make_plan, write_side_data
from studio.fonts import find_cjk_font
from studio.synth import render_sample_stream
from tests.conftest import require_or_skip

ROOT = Path(__file__).resolve().parents[2]


def tour_script(readme: str) -> str:
    """The bash blocks of the tour section, in order."""
    section = readme.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    assert len(blocks) >= 4, "the tour lost its commands"
    return "\n".join(blocks)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_tour_is_one_runnable_sequence() -> None:
    script = tour_script((ROOT / "README.md").read_text(encoding="utf-8"))
    assert script.count("API=http://127.0.0.1:8000") == 1
    for name in ("REC", "KEY", "MKEY", "LEADER", "JOB", "LKEY", "STREAM", "SERVE"):
        assert re.search(rf"^\s*{name}=", script, re.M), f"${name} is used but never set"
    assert "/process" in script and "/manifest" in script and "--leader $LEADER" in script


@pytest.mark.slow
def test_the_tour_runs_verbatim(tmp_path: Path) -> None:
    for tool in ("bash", "curl", "jq"):
        if shutil.which(tool) is None:
            require_or_skip(f"the README tour needs {tool}")
    work = tmp_path / "checkout"
    demo = work / "media" / "demo"
    demo.mkdir(parents=True)
    (work / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    plan = make_plan(duration=48.0, products=1)
    write_side_data(plan, demo)
    render_sample_stream(
        plan, demo / f"sample-live-48s-seed{plan.seed}.mp4", font=find_cjk_font().path, width=360, height=640
    )
    port = _free_port()
    script = tour_script((ROOT / "README.md").read_text(encoding="utf-8"))
    script = script.replace("API=http://127.0.0.1:8000", f"API=http://127.0.0.1:{port}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESLICE_")}
    env.update(LIVESLICE_PORT=str(port), PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=work,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        log = (work / "media" / "serve.log").read_text(errors="replace")[-3000:]
        pytest.fail(f"the tour did not finish in 10 minutes\n{out[-2000:]}\n{err[-2000:]}\n{log}")
    finally:
        subprocess.run(["pkill", "-TERM", "-g", str(proc.pid)], check=False)  # a server the tour left behind
    log = (work / "media" / "serve.log").read_text(errors="replace")[-3000:]
    assert proc.returncode == 0, f"{out[-3000:]}\n{err[-3000:]}\n{log}"
    assert '"status": "ready"' in out and '{"kind":"catalog","rows":1}' in out, out
    leader_view = out.rsplit('"status": "ready"', 1)[1]  # what the leader's key listed, after the manifest
    assert '"leader_id":' in leader_view and "13800000000" not in out
