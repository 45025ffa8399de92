"""``liveslice publish`` and ``liveslice publications``: send a clip to a target, list, retry and cancel."""

from __future__ import annotations

from typing import Annotated

import typer

from liveslice.cli import common
from liveslice.cli.options import Command, command_group

publications_app = command_group("Publications: clips sent (or to be sent) to targets.")


def publish(
    clip: Annotated[str, typer.Argument(help="The clip's id (approved and ready).")],
    target: Annotated[str, typer.Option("--target", "-t", help="The target's id.")],
    leader: Annotated[str | None, typer.Option(help="Publish the leader's variant and share link.")] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="When: ISO 8601; without an offset, in --timezone (default Asia/Shanghai)."),
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA time zone for --at.")] = None,
) -> None:
    """Publish a clip to a target (a worker sends it); prints the publication's id."""
    from pipeline.publishing import dispatch
    from services.publishing import PublicationError, create_publication
    from store.db import session_scope
    from workers.dispatch import enqueue_job

    settings = common.settings()
    common.ensure_db(settings)
    try:
        with session_scope(settings.database_url) as session:
            row = create_publication(
                settings, session, clip_id=clip, target_id=target, leader_id=leader, scheduled_at=at, timezone=timezone
            )
            publication_id, status, due = row.id, row.status, row.due_at
    except PublicationError as exc:
        raise common.fail(str(exc), 2) from exc
    dispatch(settings, [publication_id], enqueue_job)
    common.err.print(f"publication {status}, due {due.isoformat() if due else 'now'}")
    print(publication_id)


@publications_app.command(cls=Command, name="list")
def publications_list(
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    clip: Annotated[str | None, typer.Option(help="Only this clip.")] = None,
    target: Annotated[str | None, typer.Option(help="Only this target.")] = None,
) -> None:
    """List publications, newest first."""
    from rich.table import Table

    from services.publishing import PublicationError, list_publications
    from store.db import session_scope

    settings = common.settings()
    common.ensure_db(settings)
    table = Table("id", "status", "clip", "target", "leader", "attempts", "due", "error")
    try:
        with session_scope(settings.database_url) as session:
            for row in list_publications(session, status=status, clip_id=clip, target_id=target):
                due = row.due_at.isoformat() if row.due_at else ""
                table.add_row(
                    row.id,
                    row.status,
                    row.clip_id,
                    row.target_id,
                    row.leader_id or "",
                    str(row.attempts),
                    due,
                    row.last_error or "",
                )
    except PublicationError as exc:
        raise common.fail(str(exc), 2) from exc
    common.console.print(table)


def _change(publication_id: str, action: str) -> None:
    from pipeline.publishing import dispatch
    from services.publishing import PublicationError, cancel_publication, retry_publication
    from store.db import session_scope
    from workers.dispatch import enqueue_job

    settings = common.settings()
    common.ensure_db(settings)
    change = retry_publication if action == "retry" else cancel_publication
    try:
        with session_scope(settings.database_url) as session:
            status = change(session, publication_id).status
    except PublicationError as exc:
        raise common.fail(str(exc), 1) from exc
    if action == "retry":
        dispatch(settings, [publication_id], enqueue_job)
    print(f"{publication_id} {status}")


@publications_app.command(cls=Command, name="retry")
def publications_retry(publication_id: Annotated[str, typer.Argument(help="The publication's id.")]) -> None:
    """Send a failed, unknown (after checking the group) or cancelled publication again."""
    _change(publication_id, "retry")


@publications_app.command(cls=Command, name="cancel")
def publications_cancel(publication_id: Annotated[str, typer.Argument(help="The publication's id.")]) -> None:
    """Stop a publication that has not gone out."""
    _change(publication_id, "cancel")
