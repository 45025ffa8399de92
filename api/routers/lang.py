"""``/lang/{code}``: the 中文 / English switch. It keeps the choice in the ``lang`` cookie and goes back to
the page it came from, which must be a path on this site (``next`` starting with a single ``/``)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from api.i18n import HTML_LANG, LANG_COOKIE, LANG_COOKIE_MAX_AGE, parse_code

router = APIRouter(include_in_schema=False)


def local_path(value: str | None) -> str:
    """``value`` when it is a path on this site (one leading ``/``, no host, no backslash or control
    characters); anything else is ``/``. Never a URL another site could be reached by."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in value)
    ):
        return "/"
    return value


@router.get("/lang/{code}")
def switch_language(code: str, request: Request, next: str = "/") -> Response:
    """Remember ``code`` (``zh-CN`` or ``en``) for a year and go back to ``next``; an unknown code changes nothing."""
    response = RedirectResponse(local_path(next), status_code=303, headers={"Cache-Control": "no-store"})
    locale = parse_code(code)
    if locale is not None:
        response.set_cookie(
            LANG_COOKIE,
            HTML_LANG[locale],
            max_age=LANG_COOKIE_MAX_AGE,
            path="/",
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response
