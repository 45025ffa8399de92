"""``liveslice db``, ``liveslice keys`` and ``liveslice doctor``: running an installation."""

from __future__ import annotations

from typing import Annotated

import typer

from liveslice.cli import common
from liveslice.cli.options import Command, command_group

db_app = command_group("Database migrations.")
keys_app = command_group("API keys.")


@db_app.command(cls=Command, name="upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply database migrations."""
    from liveslice.cli.doctor import mask_url
    from store.db import current_revision, upgrade

    settings = common.settings()
    upgrade(settings.database_url, revision)
    common.console.print(
        f"database {mask_url(settings.database_url)} at revision {current_revision(settings.database_url)}"
    )


@db_app.command(cls=Command, name="current")
def db_current() -> None:
    """Show the database's migration revision."""
    from store.db import current_revision, head_revision

    settings = common.settings()
    current, head = current_revision(settings.database_url), head_revision(settings.database_url)
    common.console.print(f"current: {current}  head: {head}")


@keys_app.command(cls=Command, name="create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin, content, merchant or leader.")],
    name: Annotated[str, typer.Option(help="Who or what the key is for.")],
    leader: Annotated[
        str | None, typer.Option(help="The leader id a leader key belongs to (see 'liveslice leaders').")
    ] = None,
) -> None:
    """Create an API key. Its secret is printed once."""
    from store import keys as key_store
    from store.db import session_scope

    settings = common.settings()
    common.ensure_db(settings)
    try:
        with session_scope(settings.database_url) as session:
            issued = key_store.create_key(session, name=name, role=role, leader_id=leader)
    except key_store.KeyRequestError as exc:
        raise common.fail(str(exc), 2) from exc
    common.err.print(f"created {issued.role} key {issued.id} for {issued.name!r}; the secret is shown only now:")
    print(issued.secret)


@keys_app.command(cls=Command, name="list")
def keys_list() -> None:
    """List API keys (never their secrets)."""
    from rich.table import Table

    from store import keys as key_store
    from store.db import session_scope

    settings = common.settings()
    common.ensure_db(settings)
    table = Table("id", "prefix", "name", "role", "created", "revoked")
    with session_scope(settings.database_url) as session:
        for row in key_store.list_keys(session):
            revoked = row.revoked_at.strftime("%Y-%m-%d %H:%M") if row.revoked_at else ""
            table.add_row(row.id, row.prefix, row.name, row.role, row.created_at.strftime("%Y-%m-%d %H:%M"), revoked)
    common.console.print(table)


@keys_app.command(cls=Command, name="revoke")
def keys_revoke(key_id: Annotated[str, typer.Argument(help="Key id or prefix.")]) -> None:
    """Revoke an API key; requests with it get 401 from now on."""
    from store import keys as key_store
    from store.db import session_scope

    settings = common.settings()
    common.ensure_db(settings)
    try:
        with session_scope(settings.database_url) as session:
            row = key_store.revoke_key(session, key_id=key_id)
            common.console.print(f"revoked {row.role} key {row.id} ({row.name})")
    except key_store.KeyRequestError as exc:
        raise common.fail(str(exc), 2) from exc


def doctor() -> None:
    """Show which ffmpeg, font, database, broker and storage are in use, and fix what is missing."""
    from liveslice.cli.doctor import run_checks

    checks = run_checks(common.settings())
    for check in checks:
        mark = "[bold red]!![/]" if not check.ok else "[yellow]![/] " if check.warning else "[green]ok[/]"
        common.console.print(f"{mark} [bold]{check.name}[/]: {check.detail}", soft_wrap=True, highlight=False)
        if check.fix:
            common.console.print(f"     fix: {check.fix}", soft_wrap=True, highlight=False)
    if not all(c.ok for c in checks):
        raise typer.Exit(1)
