"""``liveslice targets``: channel targets (add, list, remove) and their encryption keys (rotate-keys, new-key)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from liveslice.cli import common
from liveslice.cli.options import Command, command_group

targets_app = command_group("Channel targets: the groups, bots and webhooks clips are published to.")


def _config(pairs: list[str], config_json: Path | None) -> dict[str, str]:
    config: dict[str, str] = {}
    if config_json is not None:
        text = sys.stdin.read() if str(config_json) == "-" else config_json.read_text(encoding="utf-8")
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise common.fail(f"--config-json: not JSON ({exc})", 2) from exc
        if not isinstance(loaded, dict):
            raise common.fail("--config-json: expected a JSON object", 2)
        config.update({str(k): str(v) for k, v in loaded.items()})
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise common.fail(f"--config: expected name=value, got {name.strip()!r}", 2)
        config[name.strip()] = value
    return config


@targets_app.command(cls=Command, name="add")
def targets_add(
    channel: Annotated[str, typer.Argument(help="wecom, feishu, dingtalk, telegram, slack, discord, webhook, export")],
    name: Annotated[str, typer.Argument(help="A name people recognise (the group's name).")],
    config: Annotated[
        list[str] | None, typer.Option("--config", "-c", help="A config field, name=value (repeatable).")
    ] = None,
    config_json: Annotated[
        Path | None,
        typer.Option(help="Config as a JSON object from a file, or - for stdin (keeps secrets out of history)."),
    ] = None,
    leader: Annotated[str | None, typer.Option(help="The leader whose own group this is.")] = None,
) -> None:
    """Add a target; prints its id. Secret fields are encrypted at rest and never shown again."""
    from services.targets import TargetError, create_target
    from store.db import session_scope

    settings = common.settings()
    common.ensure_db(settings)
    try:
        with session_scope(settings.database_url) as session:
            target = create_target(
                settings,
                session,
                channel=channel,
                name=name,
                config=_config(config or [], config_json),
                leader_id=leader,
            )
            target_id = target.id
    except TargetError as exc:
        raise common.fail(str(exc), 2) from exc
    common.err.print(f"added {channel} target {name!r}")
    print(target_id)


@targets_app.command(cls=Command, name="list")
def targets_list() -> None:
    """List targets (secrets masked)."""
    from rich.table import Table

    from services.targets import describe, list_targets
    from store.db import session_scope

    settings = common.settings()
    common.ensure_db(settings)
    table = Table("id", "type", "name", "leader", "status", "config")
    with session_scope(settings.database_url) as session:
        for row in list_targets(session):
            shown = describe(settings, row)
            config = ", ".join(f"{k}={v}" for k, v in shown["config"].items())
            table.add_row(row.id, row.type, row.name, row.leader_id or "", row.status, config)
    common.console.print(table)


@targets_app.command(cls=Command, name="remove")
def targets_remove(target_id: Annotated[str, typer.Argument(help="The target's id.")]) -> None:
    """Remove a target and its publications."""
    from services.targets import TargetError, delete_target
    from store.db import session_scope

    settings = common.settings()
    common.ensure_db(settings)
    try:
        with session_scope(settings.database_url) as session:
            delete_target(session, target_id)
    except TargetError as exc:
        raise common.fail(str(exc), 1) from exc
    print(f"removed {target_id}")


@targets_app.command(cls=Command, name="rotate-keys")
def targets_rotate_keys() -> None:
    """Re-encrypt every target's secrets with the first key of LIVESLICE_ENCRYPTION_KEYS (then drop old keys)."""
    from services.secrets import SecretsError, rotate
    from store.db import session_scope

    settings = common.settings()
    common.ensure_db(settings)
    try:
        with session_scope(settings.database_url) as session:
            count = rotate(settings, session)
    except SecretsError as exc:
        raise common.fail(str(exc), 1) from exc
    print(f"re-encrypted the secrets of {count} target(s) with the first key")


@targets_app.command(cls=Command, name="new-key")
def targets_new_key() -> None:
    """Print a new Fernet key: put it FIRST in LIVESLICE_ENCRYPTION_KEYS, then run rotate-keys."""
    from services.secrets import new_key

    print(new_key())


@targets_app.command(cls=Command, name="secret")
def targets_secret() -> None:
    """Print a new Standard Webhooks signing secret (whsec_...) for a webhook target and its receiver."""
    import base64
    import os

    print("whsec_" + base64.b64encode(os.urandom(24)).decode())
