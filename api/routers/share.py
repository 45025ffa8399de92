"""``/s/{code}``: the public share link a clip's QR codes carry. No auth: customers scan these.

It redirects to the URL stored with the link (the product's buy_url) and to nothing else: nothing
from the request (query, fragment, extra path) ever reaches the ``Location``. Unknown, malformed and
disabled codes get a small bilingual not-found page. One indexed lookup per request; click logging
(scan vs click, bots, unique visitors) is meant to hook in at :func:`follow_link`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates

import templates as templates_pkg
from api.deps import SessionDep
from store import share_links

router = APIRouter(tags=["share"])
templates = Jinja2Templates(directory=Path(templates_pkg.__file__).parent)

HEADERS = {
    "Cache-Control": "no-store",  # every scan must reach us (and later be counted); a link can be disabled
    "Referrer-Policy": "no-referrer",  # the shop never learns the code or the page it came from
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}
NOT_FOUND_HEADERS = {
    **HEADERS,
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
}


@router.api_route("/s/{code}", methods=["GET", "HEAD"], include_in_schema=False)
def follow_link(code: str, request: Request, session: SessionDep) -> Response:
    """302 to the link's stored target; the not-found page (404) when there is no active link."""
    link = share_links.resolve(session, code)
    if link is None:
        return not_found(request)
    return RedirectResponse(link.target_url, status_code=302, headers=HEADERS)


@router.api_route("/s/{code}/{rest:path}", methods=["GET", "HEAD"], include_in_schema=False)
def no_deeper_paths(request: Request) -> Response:
    """Nothing lives below a code: ``/s/CODE/anything`` is not found (and never redirects)."""
    return not_found(request)


def not_found(request: Request) -> Response:
    return templates.TemplateResponse(request, "share_not_found.html", status_code=404, headers=NOT_FOUND_HEADERS)
