"""``liveslice serve`` and ``liveslice worker``: the long-running processes (:mod:`liveslice.serve`)."""

from __future__ import annotations

from typing import Annotated

import typer

from liveslice.cli import common
from liveslice.cli.options import flag


def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (LIVESLICE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (LIVESLICE_PORT).")] = None,
    worker: Annotated[bool, flag("--worker/--no-worker", help="Run a Celery worker beside the API.")] = True,
) -> None:
    """Run the API, the embedded broker and a worker, in one command."""
    from liveslice.serve import RuntimeSetupError
    from liveslice.serve import serve as run_serve

    settings = common.settings()
    warning = common.public_url_warning(settings.public_base_url)
    if warning:
        common.warn(warning)
    try:
        run_serve(settings, host=host or settings.host, port=port or settings.port, worker=worker)
    except RuntimeSetupError as exc:
        raise common.fail(str(exc)) from exc


def worker(
    queues: Annotated[str, typer.Option(help="Comma-separated queues to consume.")] = "analysis,render,publish",
    concurrency: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
    beat: Annotated[bool, flag("--beat", help="Also run the reconciler periodically.")] = False,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve this worker's task metrics for Prometheus on this port.")
    ] = None,
    metrics_addr: Annotated[str, typer.Option(help="Address for --metrics-port.")] = "0.0.0.0",
) -> None:
    """Run a Celery worker on its own (the broker must be reachable)."""
    from liveslice.serve import RuntimeSetupError, run_worker

    settings = common.settings()
    try:
        code = run_worker(
            settings,
            queues=[q.strip() for q in queues.split(",") if q.strip()],
            concurrency=concurrency or settings.worker_concurrency,
            beat=beat,
            metrics_port=metrics_port,
            metrics_addr=metrics_addr,
        )
    except RuntimeSetupError as exc:
        raise common.fail(str(exc)) from exc
    if code:
        raise typer.Exit(code)
