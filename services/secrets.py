"""Channel secrets at rest: a MultiFernet over ``LIVESLICE_ENCRYPTION_KEYS`` (the first key encrypts, every
key decrypts, so keys rotate: add a new key first, run ``liveslice targets rotate-keys``, then drop the old).

A target's secret fields are stored as one Fernet token of their JSON; nothing else ever holds them.
"""

from __future__ import annotations

import json
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import select
from sqlalchemy.orm import Session

from runtime.config import Settings
from services.errors import Misconfigured, ServiceError
from store.models import ChannelTarget

log = logging.getLogger(__name__)


class SecretsError(ServiceError):
    """Channel secrets cannot be encrypted or decrypted."""


class SecretsUnreadable(Misconfigured, SecretsError):
    """A stored token does not decrypt with any configured key."""

    code = "secrets_unreadable"


class BadEncryptionKey(Misconfigured, SecretsError):
    """A configured key is not a Fernet key."""

    code = "bad_encryption_key"


def fernet(settings: Settings) -> MultiFernet:
    """The MultiFernet of the configured keys (first encrypts)."""
    keys = settings.resolved_encryption_keys()
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError:
        raise BadEncryptionKey(
            "LIVESLICE_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(32 bytes, url-safe base64: make one with `liveslice targets new-key`)"
        ) from None


def encrypt_secrets(settings: Settings, values: dict[str, str]) -> str | None:
    """One token for ``values`` (None when there are none)."""
    if not values:
        return None
    return fernet(settings).encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def decrypt_secrets(settings: Settings, token: str | None, *, what: str = "a target") -> dict[str, str]:
    """The secret fields ``token`` holds; :class:`SecretsUnreadable` when no configured key opens it."""
    if not token:
        return {}
    try:
        data = fernet(settings).decrypt(token.encode())
    except InvalidToken:
        raise SecretsUnreadable(
            f"the secrets of {what} cannot be decrypted: the key that encrypted them is no longer in "
            "LIVESLICE_ENCRYPTION_KEYS (put it back, after the current first key, and run "
            "`liveslice targets rotate-keys`; or re-enter the target's secrets)"
        ) from None
    values = json.loads(data)
    return {str(k): str(v) for k, v in values.items()}


def new_key() -> str:
    """A fresh Fernet key for LIVESLICE_ENCRYPTION_KEYS."""
    return Fernet.generate_key().decode()


def rotate(settings: Settings, session: Session) -> int:
    """Re-encrypt every target's secrets with the first key (in the caller's transaction); the count.

    Raises :class:`SecretsUnreadable` (changing nothing once the caller rolls back) when a token opens
    with none of the keys.
    """
    box = fernet(settings)
    count = 0
    for target in session.scalars(select(ChannelTarget).where(ChannelTarget.secrets.is_not(None))):
        try:
            target.secrets = box.rotate((target.secrets or "").encode()).decode()
        except InvalidToken:
            raise SecretsUnreadable(
                f"target {target.id} ({target.name}): its secrets do not decrypt with any key in "
                "LIVESLICE_ENCRYPTION_KEYS: the key that encrypted them is no longer there; nothing was rotated"
            ) from None
        count += 1
    session.flush()
    log.info("re-encrypted the secrets of %d target(s) with the first key", count)
    return count
