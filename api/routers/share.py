"""``/s/{code}``: the public share link a clip's QR codes carry. No auth: customers scan these.

It redirects to the URL stored with the link (the product's buy_url) with ``lsclid=<click id>`` added,
and to nothing else: nothing from the request (query, fragment, extra path) ever reaches the
``Location``. ``?qr=1`` marks a scan. The hot path touches no database and classifies nothing: the
link comes from an in-process cache (:mod:`services.share_cache`), the raw click is appended to this
process's buffer file (:mod:`services.click_buffer`) and a drainer stores it later
(:mod:`services.clicks`). HEAD gets the same redirect and is logged (then flagged as a bot).
WeChat's and WeCom's in-app browsers get a landing page with a button instead of a bare redirect.
Unknown, malformed and disabled codes get a small bilingual not-found page.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.templating import Jinja2Templates

import templates as templates_pkg
from api.page_headers import media_source
from distribution.tracking import in_app_browser
from services.click_buffer import MAX_FIELD_CHARS, ClickBuffer
from services.media_urls import make_token
from services.share_cache import MISSING, CachedLink, LinkCache

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

router = APIRouter(tags=["share"])
templates = Jinja2Templates(directory=Path(templates_pkg.__file__).parent)

HEADERS = {
    "Cache-Control": "no-store",  # every scan must reach us (and be counted); a link can be disabled
    "Referrer-Policy": "no-referrer",  # the shop never learns the code or the page it came from
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}
#: The pages' CSP; ``{media}``: the object store's origin, where the cover (``/m/{token}``) 307-redirects
#: with S3 storage (:func:`api.page_headers.media_source`).
PAGE_CSP = (
    "default-src 'none'; img-src 'self'{media}; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
NOT_FOUND_HEADERS = {**HEADERS, "Content-Security-Policy": PAGE_CSP.format(media=""), "X-Frame-Options": "DENY"}
RAW_HEADERS = [(k.lower().encode(), v.encode()) for k, v in {**HEADERS, "Content-Length": "0"}.items()]


@router.api_route("/s/{code}", methods=["GET", "HEAD"], include_in_schema=False)
async def follow_link(code: str, request: Request) -> Response:
    """302 to the link's stored target with ``lsclid``; the landing page in WeChat/WeCom; else 404.

    A cached link's plain redirect never gets here: :class:`ShareFastPath` answers it first.
    """
    cache: LinkCache = request.app.state.share_links
    link = cache.peek(code)
    if link is MISSING:
        link = await run_in_threadpool(cache.load, code)
    if link is None:
        return not_found(request)
    agent = request.headers.get("user-agent")
    location = record_click(
        request.app.state.click_buffer,
        link,
        method=request.method,
        query=request.scope.get("query_string", b""),
        ip=request.client.host if request.client else None,
        agent=agent,
        referer=request.headers.get("referer"),
    )
    if request.method == "GET" and in_app_browser(agent):
        return await run_in_threadpool(landing_page, request, cache, link, location)
    return Response(status_code=302, headers={**HEADERS, "location": location})


def is_scan(query: bytes) -> bool:
    """``?qr=1`` (the last ``qr`` wins, as in Starlette's query params)."""
    if b"qr=" not in query:
        return False
    values = [value for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True) if key == "qr"]
    return bool(values) and values[-1] == "1"


def record_click(
    buffer: ClickBuffer,
    link: CachedLink,
    *,
    method: str,
    query: bytes,
    ip: str | None,
    agent: str | None,
    referer: str | None,
) -> str:
    """Append the raw click to this process's buffer; the ``Location`` carrying its id."""
    click_id = secrets.token_urlsafe(12)
    buffer.append(
        {
            "id": click_id,
            "link": link.id,
            "at": time.time(),
            "qr": is_scan(query),
            "m": method,
            "ip": ip,
            "ua": agent[:MAX_FIELD_CHARS] if agent else None,
            "ref": referer[:MAX_FIELD_CHARS] if referer else None,
        }
    )
    return link.location(click_id)


class ShareFastPath:
    """ASGI middleware: a cached link's plain redirect, answered before FastAPI's routing.

    Matching a path against every route of the app costs several times the redirect itself, so
    ``GET|HEAD /s/{code}`` whose code is in the link cache is answered here: no database, no
    classification, one buffered line. Everything else (a cache miss, an unknown code, a WeChat
    browser's landing page, deeper paths) goes on to :func:`follow_link` and the other routes.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith("/s/") and scope["method"] in ("GET", "HEAD") and "/" not in path[3:]:
            state = scope["app"].state if "app" in scope else None
            link = state.share_links.peek(path[3:]) if state is not None else None
            if state is not None and isinstance(link, CachedLink):
                agent = referer = None
                for name, value in scope["headers"]:
                    if name == b"user-agent":
                        agent = value.decode("latin-1")
                    elif name == b"referer":
                        referer = value.decode("latin-1")
                if not (scope["method"] == "GET" and in_app_browser(agent)):
                    client = scope.get("client")
                    location = record_click(
                        state.click_buffer,
                        link,
                        method=scope["method"],
                        query=scope.get("query_string", b""),
                        ip=client[0] if client else None,
                        agent=agent,
                        referer=referer,
                    )
                    headers = [*RAW_HEADERS, (b"location", location.encode("latin-1"))]
                    await send({"type": "http.response.start", "status": 302, "headers": headers})
                    await send({"type": "http.response.body", "body": b""})
                    return
        await self.app(scope, receive, send)


def landing_page(request: Request, cache: LinkCache, link: CachedLink, location: str) -> Response:
    """The page WeChat's browser gets: cover, product, price, a big button to the target, the hint."""
    facts = cache.landing(link)
    settings = request.app.state.settings
    cover = f"/m/{make_token(settings, facts.cover_key)}" if facts.cover_key else None
    context = {"product": facts.product, "price": facts.price, "cover_url": cover, "target": location}
    headers = {**NOT_FOUND_HEADERS, "Content-Security-Policy": PAGE_CSP.format(media=media_source(settings))}
    return templates.TemplateResponse(request, "share_landing.html", context, headers=headers)


@router.api_route("/s/{code}/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
def no_deeper_paths(request: Request) -> Response:
    """Nothing lives below a code: ``/s/CODE/anything`` is not found (and never redirects)."""
    return not_found(request)


def not_found(request: Request) -> Response:
    return templates.TemplateResponse(request, "share_not_found.html", status_code=404, headers=NOT_FOUND_HEADERS)
