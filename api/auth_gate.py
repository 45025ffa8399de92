"""Authentication before any request body is read.

FastAPI reads a route's body (JSON, form fields, uploaded files) before it runs the route's
dependencies, so a key check done only as a dependency lets anyone make the server take in a
large body before answering 401. :class:`KeyGate` is a pure ASGI middleware that checks the key
first, from the headers alone, and answers without ever calling ``receive``.

The rule (:func:`needs_key`): every ``/api/...`` request needs a live key, except tus discovery
(``OPTIONS``); every other request that may carry a body (POST, PUT, PATCH, DELETE) needs one
too, except the login and logout forms (the pages' and the portal's). Public GET routes (share links,
the signed media URLs ``/m/{token}`` sent to channels, pages that redirect to the login, ``/metrics``,
the docs, static files) are not gated, nor is the shop's sales webhook (``POST /api/sales/webhook``),
which proves itself with its Standard Webhooks signature instead. Role checks stay with the routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.deps import BAD_KEY, NO_KEY, presented_key
from api.routers.pages import login_redirect
from runtime.config import Settings
from services.uploads import TUS_VERSION
from store import keys as key_store
from store.db import get_sessionmaker

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_FORMS = frozenset({"/login", "/logout", "/portal/login", "/portal/logout"})
TUS_PREFIX = "/api/uploads/tus"
#: Body routes that authenticate by a signature over the body instead of a key.
SIGNED_ROUTES = frozenset({("POST", "/api/sales/webhook")})


def needs_key(method: str, path: str) -> bool:
    """Whether a request must present a live key before the app sees it."""
    if (method, path) in SIGNED_ROUTES:
        return False
    if path == "/api" or path.startswith("/api/"):
        return not (method == "OPTIONS" and path.startswith(TUS_PREFIX))
    return method in BODY_METHODS and path not in PUBLIC_FORMS


class KeyGate:
    """ASGI middleware: 401 (or, for a web form, the login redirect) before the body is read."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not needs_key(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)  # headers and cookies only: nothing here touches the body
        secret = presented_key(request)
        problem = NO_KEY if not secret else None
        if secret and not await run_in_threadpool(self._is_live, secret):
            problem = BAD_KEY
        if problem is None:
            await self.app(scope, receive, send)
            return
        await _refusal(request, problem)(scope, receive, send)

    def _is_live(self, secret: str) -> bool:
        session = get_sessionmaker(self.settings.database_url)()
        try:
            return key_store.authenticate(session, secret) is not None
        finally:
            session.close()


def _refusal(request: Request, problem: str) -> Response:
    """The API's 401 (with ``Tus-Resumable`` on tus URLs), or for a web form the login redirect."""
    path = request.url.path
    if not path.startswith("/api/"):
        return login_redirect(request)
    headers = {"WWW-Authenticate": "Bearer"}
    if path.startswith(TUS_PREFIX):
        headers["Tus-Resumable"] = TUS_VERSION
    return JSONResponse({"detail": problem}, status_code=401, headers=headers)
