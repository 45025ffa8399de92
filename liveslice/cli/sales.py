"""``liveslice sales``: import a shop's sales export (the same as ``POST /api/sales/import``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from liveslice.cli import common
from liveslice.cli.options import Command, command_group

sales_app = command_group("Shop sales: orders placed after a share, attributed to clips, leaders and channels.")


@sales_app.command(cls=Command, name="import")
def sales_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV/TSV/XLSX export (docs/FORMATS.md).")],
) -> None:
    """Import a shop's sales export, all or nothing; importing it again changes nothing."""
    from services.errors import ServiceError
    from services.sales import import_sales
    from sidedata.errors import SideDataError
    from store.db import get_sessionmaker

    settings = common.settings()
    common.ensure_db(settings)
    session = get_sessionmaker(settings.database_url)()
    try:
        report = import_sales(settings, session, data=file.read_bytes(), filename=file.name)
    except (SideDataError, ServiceError) as exc:
        raise common.fail(str(exc), 2) from exc
    finally:
        session.close()
    common.console.print(
        f"imported {report.sales} sales ({report.rows} rows) from {file.name}: {report.created} new, "
        f"{report.changed} updated, {report.unchanged} unchanged, {report.stale} stale (ignored)"
    )
    for warning in report.warnings:
        common.warn(warning)
