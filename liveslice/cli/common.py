"""Helpers shared by every command: the consoles, settings, errors, warnings and progress bars.

Light at import (typer, rich, stdlib): a command module imports this, and heavy code only when it runs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from runtime.config import Settings

T = TypeVar("T")
ProgressCallback = Callable[[str, float], None]

console = Console()
err = Console(stderr=True)


def settings() -> Settings:
    """The process-wide settings, with the media root's folders created."""
    from runtime.config import get_settings

    current = get_settings()
    current.ensure_dirs()
    return current


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr; the caller raises the returned exit (``raise fail(...)``)."""
    err.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


def warn(message: str) -> None:
    """Print ``warning: message`` on stderr."""
    err.print(f"[yellow]warning:[/] {escape(message)}", soft_wrap=True, highlight=False)


def ensure_db(current: Settings) -> None:
    """SQLite is upgraded on demand; other databases must be migrated explicitly."""
    from store.db import is_up_to_date, upgrade

    if current.is_sqlite:
        upgrade(current.database_url)
    elif not is_up_to_date(current.database_url):
        raise fail("the database schema is not current: run 'liveslice db upgrade'")


def renamed(ctx: typer.Context, value: T, old_value: T | None, *, param: str, new: str, old: str) -> T:
    """The value of option ``new``, or of its deprecated spelling ``old`` (with a warning on stderr).

    ``param`` is the new option's parameter name; giving both spellings is an error (exit 2).
    """
    if old_value is None:
        return value
    source = ctx.get_parameter_source(param)
    if source is not None and source.name != "DEFAULT":
        raise fail(f"{old} is the old name of {new}: give only {new}", 2)
    warn(f"{old} is deprecated, use {new}")
    return old_value


@contextmanager
def progress_bar(label: str, *, width: int = 20) -> Iterator[ProgressCallback]:
    """A rich progress bar on stderr (never stdout); yields the ``on_progress(stage, fraction)`` callback."""
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    columns = (TextColumn(f"{{task.description:<{width}}}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(label, total=1.0)

        def update(stage: str, fraction: float) -> None:
            progress.update(task, completed=fraction, description=stage)

        yield update


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine only (localhost, 127.0.0.0/8, ::1, 0.0.0.0)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def public_url_warning(public_base_url: str) -> str | None:
    """Why share links and QR codes will not work on other devices, or None when the URL is public."""
    if not is_loopback_url(public_base_url):
        return None
    return (
        f"share links and QR codes point at {public_base_url}, which only this machine can open; "
        "set LIVESLICE_PUBLIC_BASE_URL to the address phones and customers reach this server at "
        "(e.g. https://clips.example.com)"
    )
