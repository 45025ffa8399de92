"""Run :func:`studio.probe.probe` in a short-lived child process.

Decoding a frame loads PyAV, libavcodec's decoder threads and their frame pools; in a long-lived
process (the API) that memory stays resident after the probe returns. The child exits instead,
so the caller keeps only the JSON it printed. Errors come back as the same classes, codes and
messages as an in-process probe; a child that crashes on the file is ``undecodable``.

    python -m studio.probe_isolated [--thorough] PATH    # one JSON object on stdout
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from studio.errors import MediaError, ProbeError, StudioError, UnsafePlaylistError
from studio.mediainfo import MediaInfo

__all__ = ["PROBE_TIMEOUT", "ProbeProcessError", "main", "probe_isolated"]

PROBE_TIMEOUT = 600.0  # seconds; a headerless multi-GB FLV/MKV is read to its end for its duration
_PROJECT_ROOT = Path(__file__).resolve().parents[1]
_ERRORS: dict[str, type[MediaError]] = {cls.__name__: cls for cls in (MediaError, ProbeError, UnsafePlaylistError)}
_CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT}


class ProbeProcessError(StudioError):
    """The probe child failed for a reason that is not the file's (killed, timed out, broken output)."""


def probe_isolated(path: Path, *, thorough: bool = False, timeout: float = PROBE_TIMEOUT) -> MediaInfo:
    """:func:`studio.probe.probe` of ``path``, run in a child Python process that exits afterwards.

    Raises what the probe raises (:class:`~studio.errors.ProbeError`, :class:`UnsafePlaylistError`),
    or :class:`ProbeProcessError` when the child could not give an answer.
    """
    argv = [sys.executable, "-m", "studio.probe_isolated", *(["--thorough"] if thorough else []), "--", str(path)]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=_child_env(), check=False)
    except subprocess.TimeoutExpired as exc:
        raise ProbeProcessError(f"probing {Path(path).name} took longer than {timeout:.0f} s") from exc
    if done.returncode < 0 and -done.returncode in {crash.value for crash in _CRASH_SIGNALS}:
        raise ProbeError(
            f"{Path(path).name}: FFmpeg crashed while reading it ({signal.Signals(-done.returncode).name}); "
            "the file is damaged or malformed",
            code="undecodable",
        )
    answer = _answer(done.stdout)
    if done.returncode != 0 or answer is None:
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        raise ProbeProcessError(f"the probe process for {Path(path).name} failed (exit {done.returncode}): {tail}")
    if "error" in answer:
        error = answer["error"]
        raise _ERRORS.get(error["type"], MediaError)(error["message"], code=error["code"])
    return MediaInfo.from_dict(answer["info"])


def _child_env() -> dict[str, str]:
    """This environment, with the project importable whatever the working directory."""
    env = dict(os.environ)
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(_PROJECT_ROOT) not in paths:
        env["PYTHONPATH"] = os.pathsep.join([str(_PROJECT_ROOT), *paths])
    return env


def _answer(stdout: str) -> dict[str, Any] | None:
    lines = stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        return None
    return answer if isinstance(answer, dict) and ("info" in answer or "error" in answer) else None


def main(argv: list[str] | None = None) -> int:
    """Probe one file; print ``{"info": {...}}`` or ``{"error": {"type", "code", "message"}}``."""
    parser = argparse.ArgumentParser(prog="python -m studio.probe_isolated", description="Probe one media file.")
    parser.add_argument("--thorough", action="store_true", help="also sample timestamps for a variable frame rate")
    parser.add_argument("path", type=Path)
    args = parser.parse_args(argv)
    from studio.probe import probe  # PyAV is loaded here, in the child only

    try:
        answer: dict[str, Any] = {"info": probe(args.path, thorough=args.thorough).to_dict()}
    except MediaError as exc:
        answer = {"error": {"type": type(exc).__name__, "code": exc.code, "message": str(exc)}}
    print(json.dumps(answer), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
