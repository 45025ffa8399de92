"""Channel targets: where clips are published (a group robot, a bot in a chat, a webhook, an export folder).

A target's config is checked by its adapter (``check_config``, with ``LIVESLICE_CHANNEL_HOSTS``); secret
fields are encrypted (:mod:`services.secrets`) and everything else is kept as plain JSON. ``account`` is a
keyed hash of what the channel's rate limit applies to, so two targets on one robot share one rate.
A target with a ``leader_id`` is that leader's own group (a leader's ``communities`` are the names of the
groups they run, as typed or imported; their targets are how liveslice reaches those groups).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from distribution.channels.base import ChannelAdapter, get_adapter, mask, registry
from distribution.errors import DistributionError
from runtime.config import Settings
from services.errors import Conflict, InvalidValue, NotFound, ServiceError
from services.secrets import SecretsUnreadable, decrypt_secrets, encrypt_secrets
from store.models import ChannelTarget, Leader, Publication

ACTIVE, DISABLED = "active", "disabled"
STATUSES = (ACTIVE, DISABLED)


class TargetError(ServiceError):
    """A target cannot be made or changed as asked."""


class TargetNotFound(NotFound, TargetError):
    code = "target_not_found"


class TargetBusy(Conflict, TargetError):
    code = "target_busy"


class InvalidTarget(InvalidValue, TargetError):
    code = "invalid_target"


def _adapter_class(channel: str) -> type[ChannelAdapter]:
    try:
        return get_adapter(channel)
    except DistributionError as exc:
        raise InvalidTarget(str(exc)) from None


def check_config(settings: Settings, channel: str, config: Mapping[str, Any]) -> dict[str, str]:
    """``config`` checked by the channel's adapter; :class:`InvalidTarget` names the problem."""
    cls = _adapter_class(channel)
    if not isinstance(config, Mapping):
        raise InvalidTarget(f"{channel}: config must be an object")
    try:
        clean = cls.check_config(config, extra_hosts=settings.channel_hosts)
    except DistributionError as exc:
        raise InvalidTarget(str(exc)) from None
    if not cls.official_hosts:  # a URL anyone may choose (the generic webhook): no internal addresses
        for name, value in clean.items():
            if value.startswith(("http://", "https://")):
                check_public_host(settings, channel, name, value)
    return clean


def check_public_host(settings: Settings, channel: str, field: str, url: str) -> None:
    """Refuse a URL whose host resolves to a loopback, private, link-local or otherwise internal address
    (the server would be probing its own network for whoever adds the target), unless the host is
    listed in ``LIVESLICE_CHANNEL_HOSTS``."""
    host = (urlsplit(url).hostname or "").lower()
    if host in {h.lower() for h in settings.channel_hosts}:
        return
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise InvalidTarget(f"{channel}: config.{field}: the host {host!r} does not resolve") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            raise InvalidTarget(
                f"{channel}: config.{field} points at an internal address ({address}); "
                "add the host to LIVESLICE_CHANNEL_HOSTS if that is meant"
            )


def account_hash(settings: Settings, channel: str, adapter: ChannelAdapter) -> str:
    """HMAC-SHA256 (keyed by the secret key) of the channel and what its rate applies to."""
    message = (channel + adapter.account_key()).encode()
    return hmac.new(settings.resolved_secret_key().encode(), message, hashlib.sha256).hexdigest()[:64]


def _store_config(settings: Settings, target: ChannelTarget, clean: dict[str, str]) -> None:
    cls = _adapter_class(target.type)
    secret = set(cls.secret_fields())
    target.config = {k: v for k, v in clean.items() if k not in secret}
    target.secrets = encrypt_secrets(settings, {k: v for k, v in clean.items() if k in secret})
    target.account = account_hash(settings, target.type, cls(clean))


def _check_leader(session: Session, leader_id: str | None) -> None:
    if leader_id is not None and session.get(Leader, leader_id) is None:
        raise InvalidTarget(f"no leader {leader_id!r}: a leader's own group needs an existing leader")


def create_target(
    settings: Settings,
    session: Session,
    *,
    channel: str,
    name: str,
    config: Mapping[str, Any],
    leader_id: str | None = None,
) -> ChannelTarget:
    """A new active target (flushed, not committed)."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidTarget("a target needs a name of 1 to 200 characters")
    clean = check_config(settings, channel, config)
    _check_leader(session, leader_id)
    target = ChannelTarget(type=channel, name=name, leader_id=leader_id, status=ACTIVE)
    _store_config(settings, target, clean)
    session.add(target)
    session.flush()
    return target


def get_target(session: Session, target_id: str, *, leader_id: str | None = None) -> ChannelTarget:
    """The target (with ``leader_id``: only that leader's own); :class:`TargetNotFound` otherwise."""
    target = session.get(ChannelTarget, target_id)
    if target is None or (leader_id is not None and target.leader_id != leader_id):
        raise TargetNotFound(f"no target {target_id!r}")
    return target


def list_targets(
    session: Session, *, leader_id: str | None = None, channel: str | None = None, status: str | None = None
) -> list[ChannelTarget]:
    query = select(ChannelTarget).order_by(ChannelTarget.created_at, ChannelTarget.id)
    if leader_id is not None:
        query = query.where(ChannelTarget.leader_id == leader_id)
    if channel is not None:
        query = query.where(ChannelTarget.type == channel)
    if status is not None:
        query = query.where(ChannelTarget.status == status)
    return list(session.scalars(query))


def update_target(
    settings: Settings,
    session: Session,
    target_id: str,
    *,
    name: str | None = None,
    status: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> ChannelTarget:
    """Rename, enable/disable, or replace the whole config (secrets included) of a target."""
    target = get_target(session, target_id)
    if name is not None:
        if not name.strip() or len(name.strip()) > 200:
            raise InvalidTarget("a target needs a name of 1 to 200 characters")
        target.name = name.strip()
    if status is not None:
        if status not in STATUSES:
            raise InvalidTarget(f"status must be one of {', '.join(STATUSES)}")
        target.status = status
    if config is not None:
        _store_config(settings, target, check_config(settings, target.type, config))
    session.flush()
    return target


def delete_target(session: Session, target_id: str) -> None:
    """Remove a target and its publications; refused while one of them is being sent (the worker would
    lose the record of a post that may be visible)."""
    target = get_target(session, target_id)
    sending = session.scalars(
        select(Publication.id).where(Publication.target_id == target.id, Publication.status == "sending").limit(1)
    ).first()
    if sending is not None:
        raise TargetBusy(
            f"target {target.id} ({target.name}) has a publication being sent right now; try again shortly"
        )
    session.delete(target)
    session.flush()


def full_config(settings: Settings, target: ChannelTarget) -> dict[str, str]:
    """Config and decrypted secrets together, for the adapter (never for an answer)."""
    secrets = decrypt_secrets(settings, target.secrets, what=f"target {target.id} ({target.name})")
    return {**{k: str(v) for k, v in (target.config or {}).items()}, **secrets}


def adapter_for(settings: Settings, target: ChannelTarget) -> ChannelAdapter:
    """The target's adapter, configured with its secrets."""
    return _adapter_class(target.type)(full_config(settings, target))


def secret_values(settings: Settings, target: ChannelTarget) -> list[str]:
    """The target's secret values, to scrub from error text."""
    return [v for v in decrypt_secrets(settings, target.secrets).values() if v]


def mask_secret(value: str) -> str:
    """A secret as shown: a URL shows its scheme and host only; anything else its length only."""
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.hostname:
        return f"{parts.scheme}://{parts.hostname}/••••"
    return mask(value)


def describe(settings: Settings, target: ChannelTarget) -> dict[str, Any]:
    """The target as an answer: its config with every secret field masked (a URL shows its host only,
    anything else its length; never any character of a secret)."""
    config: dict[str, Any] = dict(target.config or {})
    try:
        config.update(describe_secrets(settings, target))
        readable = True
    except SecretsUnreadable:
        config.update({name: "(unreadable: key missing)" for name in _adapter_class(target.type).secret_fields()})
        readable = False
    return {
        "id": target.id,
        "type": target.type,
        "name": target.name,
        "leader_id": target.leader_id,
        "status": target.status,
        "config": config,
        "secrets_readable": readable,
        "created_at": target.created_at.isoformat() if target.created_at else None,
        "updated_at": target.updated_at.isoformat() if target.updated_at else None,
    }


def describe_secrets(settings: Settings, target: ChannelTarget) -> dict[str, str]:
    """The secret fields masked from their decrypted values (a webhook URL shows its host only)."""
    return {k: mask_secret(v) for k, v in decrypt_secrets(settings, target.secrets).items()}


def channel_catalog(settings: Settings) -> list[dict[str, Any]]:
    """Every channel type: label, help, config fields, rates (with overrides) and caption limit."""
    out = []
    for channel, cls in sorted(registry().items()):
        out.append(
            {
                "type": channel,
                "label": cls.label,
                "help": cls.help,
                "fields": [
                    {"name": f.name, "description": f.description, "required": f.required, "secret": f.secret}
                    for f in cls.fields
                ],
                "rates": effective_rates(settings, channel),
                "caption_limit": cls.caption_limit.limit,
                "caption_unit": cls.caption_limit.unit,
            }
        )
    return out


def effective_rates(settings: Settings, channel: str) -> list[str]:
    """The channel's rates: ``LIVESLICE_CHANNEL_RATES`` for it when set, else the adapter's own."""
    override = settings.channel_rates.get(channel)
    if override:
        return [part.strip() for part in override.replace(";", ",").split(",") if part.strip()]
    return list(_adapter_class(channel).rates)
