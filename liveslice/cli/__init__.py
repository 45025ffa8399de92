"""The ``liveslice`` command line: the Typer app, one module per command group.

Command modules import only typer, rich, the standard library and :mod:`liveslice.cli.common` /
:mod:`liveslice.cli.options` at the top; what a command needs (the database, the pipeline, the
renderer) is imported when it runs, so ``liveslice --help`` and light commands start fast.
"""

from __future__ import annotations

import logging
from typing import Annotated

from liveslice.cli import (
    admin,
    analyze,
    clicks,
    data,
    demo,
    leaders,
    process,
    publish,
    render,
    sales,
    server,
    targets,
)
from liveslice.cli.options import Command, command_group, flag

app = command_group("liveslice: live-stream recordings in, share-ready product clips out.")


@app.callback()
def _main(verbose: Annotated[bool, flag("--verbose", "-v", help="Debug logging.")] = False) -> None:
    # one-shot commands show progress bars and results: only warnings in between (-v: everything);
    # serve and worker log at LIVESLICE_LOG_LEVEL (configure_logging)
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)


app.command(cls=Command)(server.serve)
app.command(cls=Command)(server.worker)
app.add_typer(admin.db_app, name="db")
app.add_typer(admin.keys_app, name="keys")
app.add_typer(leaders.leaders_app, name="leaders")
app.add_typer(sales.sales_app, name="sales")
app.add_typer(clicks.clicks_app, name="clicks")
app.add_typer(targets.targets_app, name="targets")
app.command(cls=Command)(publish.publish)
app.add_typer(publish.publications_app, name="publications")
app.command(cls=Command)(admin.doctor)
app.command(cls=Command)(data.ingest)
app.add_typer(data.import_app, name="import")
app.command(cls=Command)(analyze.analyze)
app.command(cls=Command)(render.render)
app.command(cls=Command)(process.process)
app.command(cls=Command)(demo.demo)


def main() -> None:
    """The ``liveslice`` console script."""
    app()
