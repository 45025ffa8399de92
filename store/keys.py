"""API keys: creation, lookup and revocation. Only a SHA-256 of each key is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.errors import InvalidKey, KeyNotFound, UnknownRole
from store.errors import KeyRequestError as KeyRequestError  # re-exported: the root of the key errors
from store.models import ApiKey, Leader, utcnow

LEADER = "leader"
ROLES = ("admin", "content", "merchant", LEADER)
KEY_PREFIX = "lsk_"


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created key. ``secret`` is shown once and never stored."""

    id: str
    name: str
    role: str
    secret: str
    leader_id: str | None = None


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(session: Session, *, name: str, role: str, leader_id: str | None = None) -> IssuedKey:
    """Create a key with ``role``; returns the only copy of its secret. A ``leader`` key is bound to one
    leader (``leader_id``, required); no other role takes one."""
    if role not in ROLES:
        raise UnknownRole(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if role == LEADER and not leader_id:
        raise InvalidKey("a leader key needs the leader it belongs to (leader_id)")
    if role != LEADER and leader_id:
        raise InvalidKey(f"only leader keys belong to a leader; a {role} key takes no leader_id")
    if leader_id and session.get(Leader, leader_id) is None:
        raise InvalidKey(f"no leader {leader_id!r}")
    prefix = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(name=name, role=role, prefix=prefix, key_hash=_hash(secret), leader_id=leader_id)
    session.add(row)
    session.flush()
    return IssuedKey(id=row.id, name=name, role=role, secret=secret, leader_id=leader_id)


def authenticate(session: Session, secret: str) -> ApiKey | None:
    """The live key matching ``secret``, or None (unknown, malformed or revoked)."""
    if not secret.startswith(KEY_PREFIX):
        return None
    prefix = secret[len(KEY_PREFIX) :].split("_", 1)[0]
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _hash(secret)):
        return None
    return row


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def revoke_key(session: Session, *, key_id: str) -> ApiKey:
    """Revoke by id or by prefix. Revoking twice keeps the first revocation time."""
    row = session.get(ApiKey, key_id) or session.scalar(select(ApiKey).where(ApiKey.prefix == key_id))
    if row is None:
        raise KeyNotFound(f"no API key {key_id!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row
