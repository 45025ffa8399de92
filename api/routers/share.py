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
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.templating import Jinja2Templates

import templates as templates_pkg
from distribution.tracking import in_app_browser
from services.click_buffer import MAX_FIELD_CHARS, ClickBuffer
from services.media_urls import make_token
from services.share_cache import MISSING, CachedLink, LinkCache

router = APIRouter(tags=["share"])
templates = Jinja2Templates(directory=Path(templates_pkg.__file__).parent)

HEADERS = {
    "Cache-Control": "no-store",  # every scan must reach us (and be counted); a link can be disabled
    "Referrer-Policy": "no-referrer",  # the shop never learns the code or the page it came from
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}
PAGE_HEADERS = {
    **HEADERS,
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
}
NOT_FOUND_HEADERS = PAGE_HEADERS


@router.api_route("/s/{code}", methods=["GET", "HEAD"], include_in_schema=False)
async def follow_link(code: str, request: Request) -> Response:
    """302 to the link's stored target with ``lsclid``; the landing page in WeChat/WeCom; else 404."""
    cache: LinkCache = request.app.state.share_links
    link = cache.peek(code)
    if link is MISSING:
        link = await run_in_threadpool(cache.load, code)
    if link is None:
        return not_found(request)
    click_id = secrets.token_urlsafe(12)
    headers = request.headers
    agent = headers.get("user-agent")
    buffer: ClickBuffer = request.app.state.click_buffer
    buffer.append(
        {
            "id": click_id,
            "link": link.id,
            "at": time.time(),
            "qr": request.query_params.get("qr") == "1",
            "m": request.method,
            "ip": request.client.host if request.client else None,
            "ua": agent[:MAX_FIELD_CHARS] if agent else None,
            "ref": (headers.get("referer") or "")[:MAX_FIELD_CHARS] or None,
        }
    )
    location = link.location(click_id)
    if request.method == "GET" and in_app_browser(agent):
        return await run_in_threadpool(landing_page, request, cache, link, location)
    return Response(status_code=302, headers={**HEADERS, "location": location})


def landing_page(request: Request, cache: LinkCache, link: CachedLink, location: str) -> Response:
    """The page WeChat's browser gets: cover, product, price, a big button to the target, the hint."""
    facts = cache.landing(link)
    settings = request.app.state.settings
    cover = f"/m/{make_token(settings, facts.cover_key)}" if facts.cover_key else None
    context = {"product": facts.product, "price": facts.price, "cover_url": cover, "target": location}
    return templates.TemplateResponse(request, "share_landing.html", context, headers=PAGE_HEADERS)


@router.api_route("/s/{code}/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
def no_deeper_paths(request: Request) -> Response:
    """Nothing lives below a code: ``/s/CODE/anything`` is not found (and never redirects)."""
    return not_found(request)


def not_found(request: Request) -> Response:
    return templates.TemplateResponse(request, "share_not_found.html", status_code=404, headers=NOT_FOUND_HEADERS)
