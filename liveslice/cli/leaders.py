"""``liveslice leaders``: add and list community leaders (then ``liveslice keys create --role leader --leader ID``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from liveslice.cli import common
from liveslice.cli.options import Command, command_group

leaders_app = command_group("Community leaders (团长).")


@leaders_app.command(cls=Command, name="add")
def leaders_add(
    name: Annotated[str, typer.Argument(help="The leader's name, as shown on end cards.")],
    phone: Annotated[str | None, typer.Option(help="Phone number.")] = None,
    wechat: Annotated[str | None, typer.Option(help="WeChat id.")] = None,
    recruiter: Annotated[str | None, typer.Option(help="Id of the leader who brought this one in.")] = None,
    leader_id: Annotated[str | None, typer.Option("--id", help="The id to give (default: made from the name).")] = None,
) -> None:
    """Add a leader; prints its id."""
    from store import leaders as repo
    from store.db import session_scope

    settings = common.settings()
    common.ensure_db(settings)
    try:
        with session_scope(settings.database_url) as session:
            row = repo.create_leader(
                session, name=name, phone=phone, wechat=wechat, recruiter_id=recruiter, leader_id=leader_id
            )
            leader, shown = row.id, row.name
    except repo.InvalidLeader as exc:
        raise common.fail(str(exc), 2) from exc
    hint = f"liveslice keys create --role leader --leader {leader}"
    common.err.print(f"added leader {shown!r}; give them a key with: {hint}")
    print(leader)


@leaders_app.command(cls=Command, name="list")
def leaders_list() -> None:
    """List leaders."""
    from rich.table import Table

    from store import leaders as repo
    from store.db import session_scope

    settings = common.settings()
    common.ensure_db(settings)
    table = Table("id", "name", "phone", "wechat", "status", "recruiter")
    with session_scope(settings.database_url) as session:
        for row in repo.list_leaders(session):
            table.add_row(row.id, row.name, row.phone or "", row.wechat or "", row.status, row.recruiter_id or "")
    common.console.print(table)


@leaders_app.command(cls=Command, name="import")
def leaders_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV/TSV/XLSX (docs/FORMATS.md).")],
) -> None:
    """Import leaders (name, phone, wechat, recruiter…), all or nothing; updates by id, else by phone."""
    from services.leaders_import import import_leaders
    from sidedata.errors import SideDataError
    from store.db import get_sessionmaker

    settings = common.settings()
    common.ensure_db(settings)
    session = get_sessionmaker(settings.database_url)()
    try:
        report = import_leaders(session, data=file.read_bytes(), filename=file.name)
    except SideDataError as exc:
        raise common.fail(str(exc), 2) from exc
    finally:
        session.close()
    common.console.print(
        f"imported {report.rows} leaders from {file.name}: {report.created} new, {report.updated} updated"
    )
    for warning in report.warnings:
        common.warn(warning)
