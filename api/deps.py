"""FastAPI dependencies: settings, database session, storage and API-key auth."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session

from runtime.config import Settings, get_settings
from services.storage import MediaStorage, get_storage
from store import keys as key_store
from store.db import get_sessionmaker
from store.models import ApiKey

KEY_COOKIE = "liveslice_key"
NO_KEY = "an API key is required: send 'Authorization: Bearer <key>' (create one with 'liveslice keys create')"
BAD_KEY = "the API key is unknown or revoked"


def settings_dep(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or get_settings()


SettingsDep = Annotated[Settings, Depends(settings_dep)]


def session_dep(settings: SettingsDep) -> Iterator[Session]:
    """One session per request; the handler commits what it means to keep."""
    session = get_sessionmaker(settings.database_url)()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(session_dep)]


def storage_dep(settings: SettingsDep) -> MediaStorage:
    """The configured media store (``LIVESLICE_STORAGE``: local folder or S3 bucket)."""
    return get_storage(settings)


StorageDep = Annotated[MediaStorage, Depends(storage_dep)]


def presented_key(request: Request) -> str | None:
    """The key from ``Authorization: Bearer``, ``X-API-Key`` or the web login cookie."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key") or request.cookies.get(KEY_COOKIE)


def current_key(request: Request, session: SessionDep) -> ApiKey:
    secret = presented_key(request)
    if not secret:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, NO_KEY, headers={"WWW-Authenticate": "Bearer"})
    row = key_store.authenticate(session, secret)
    if row is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, BAD_KEY, headers={"WWW-Authenticate": "Bearer"})
    return row


CurrentKey = Annotated[ApiKey, Depends(current_key)]


def require_roles(*roles: str) -> Callable[[ApiKey], ApiKey]:
    """A dependency that lets only keys with one of ``roles`` through (403 otherwise)."""

    def check(key: CurrentKey) -> ApiKey:
        if key.role not in roles:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this endpoint is for the roles {', '.join(roles)}; your key is {key.role!r}",
            )
        return key

    check.__doc__ = f"Roles: {', '.join(roles)}."
    return check


def leader_scope(key: ApiKey) -> str | None:
    """The leader a key's reads are scoped to: its own leader for a leader key, None (everything) otherwise.

    A leader key without a leader (made before leaders were rows) sees nothing: the empty id matches none.
    """
    return (key.leader_id or "") if key.role == "leader" else None


# Who may do what. Every router states its roles with one of these.
INGEST_ROLES = ("admin", "content")
RECORDING_READ_ROLES = ("admin", "content", "merchant")
CATALOG_ROLES = ("admin", "merchant")  # the product catalog: names, prices, coupons, buy links
PRODUCT_READ_ROLES = ("admin", "content", "merchant")
SIDE_DATA_ROLES = ("admin", "content", "merchant")  # a recording's timeline, chat, orders, transcript
ADMIN_ROLES = ("admin",)

IngestKey = Annotated[ApiKey, Depends(require_roles(*INGEST_ROLES))]
RecordingReader = Annotated[ApiKey, Depends(require_roles(*RECORDING_READ_ROLES))]
CatalogKey = Annotated[ApiKey, Depends(require_roles(*CATALOG_ROLES))]
ProductReader = Annotated[ApiKey, Depends(require_roles(*PRODUCT_READ_ROLES))]
SideDataKey = Annotated[ApiKey, Depends(require_roles(*SIDE_DATA_ROLES))]
AdminKey = Annotated[ApiKey, Depends(require_roles(*ADMIN_ROLES))]
