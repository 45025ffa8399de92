"""``liveslice clicks``: store the clicks ``/s/{code}`` buffered (what ``liveslice serve`` runs as its own
process, so the redirect never shares a core's Python lock with the database work)."""

from __future__ import annotations

from typing import Annotated

import typer

from liveslice.cli import common
from liveslice.cli.options import Command, command_group, flag

clicks_app = command_group("The click log behind /s/{code}.")


@clicks_app.command(cls=Command, name="drain")
def drain(
    follow: Annotated[bool, flag("--follow", help="Keep draining every second until stopped (SIGTERM).")] = False,
    every: Annotated[float, typer.Option(min=0.1, help="Seconds between passes with --follow.")] = 1.0,
) -> None:
    """Store buffered clicks (classified: bots flagged, unique visitors marked); once, or --follow."""
    import signal
    import threading

    from services.clicks import drain_once, shared_detector

    settings = common.settings()
    common.ensure_db(settings)
    if not follow:
        common.console.print(f"stored {drain_once(settings)} clicks")
        return
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    shared_detector()
    while not stop.wait(every):
        drain_once(settings)
    drain_once(settings)  # what arrived while stopping
