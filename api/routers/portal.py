"""The community-leader portal (``/portal``): on a phone, a leader picks up the clips they may share.

A leader signs in with their key (the same HttpOnly ``liveslice_key`` cookie as the other pages) and sees
only the approved clips given to them (:func:`store.approvals.clips_for_leader`): their own video (their QR
on the end card) playing inline, their poster as a plain image (long-press saves it), the caption with their
share link and a Copy button, and a Download button. WeChat's and WeCom's in-app browsers block downloads, so
there the button gives way to a hint on opening the page in the system browser. Above the clips, once they
have earned something, their commission balances (pending, available, paid, debt). Chinese by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from api.deps import KEY_COOKIE, SessionDep, SettingsDep, presented_key
from api.report_charts import money
from api.routers.clips import media_url
from api.routers.pages import render, signed_in
from runtime.config import Settings
from services import ledger
from services.clip_requests import InvalidClipRequest, share_url_for
from services.payouts import fmt_amount
from services.report_period import period
from services.reports import leader_summary
from store import clips as repo
from store import keys as key_store
from store import share_links
from store.approvals import clips_for_leader
from store.models import ApiKey, Clip, ClipVariant, Leader

router = APIRouter(include_in_schema=False)

PORTAL = "/portal"
LOGIN = "/portal/login"
#: User-Agent marks of in-app browsers that block downloads: WeChat (微信) and WeCom (企业微信)
IN_APP_MARKS = ("micromessenger", "wxwork")


@dataclass(frozen=True)
class PortalClip:
    """One clip as the portal shows it to its leader."""

    clip_id: str
    title: str | None
    video: str
    poster: str | None  # None: no poster can be drawn (no product, or no link for its QR)
    cover: str | None
    caption: str

    @property
    def download(self) -> str:
        return f"{self.video}?download=1"


def in_app_browser(request: Request) -> bool:
    """Whether the page is open inside WeChat or WeCom (downloads do not work there)."""
    agent = request.headers.get("user-agent", "").lower()
    return any(mark in agent for mark in IN_APP_MARKS)


def clip_title(clip: Clip) -> str | None:
    """The reviewed title, else the product's name (None: the page says ``Clip <id>``)."""
    name = (clip.product or {}).get("name")
    return clip.title or (str(name) if name else None)


def leader_share_url(settings: Settings, session: Session, clip: Clip, variant: ClipVariant) -> str | None:
    """The leader's own ``/s/{code}`` link for the clip (made on first view when the product has a buy
    URL), else the URL on their variant's QR."""
    link = share_links.find_link(session, clip_id=clip.id, leader_id=variant.leader_id)
    if link is not None and link.disabled_at is None:
        return f"{settings.public_base_url}/s/{link.code}"
    buy_url = (clip.product or {}).get("buy_url")
    if link is None and buy_url:
        try:
            return share_url_for(
                settings, session=session, clip_id=clip.id, leader_id=variant.leader_id, buy_url=str(buy_url)
            )
        except InvalidClipRequest:
            return variant.share_url  # a catalog URL that cannot be a link target
    return variant.share_url


def share_caption(clip: Clip, share_url: str | None) -> str:
    """What a leader pastes: the reviewed caption, the hashtags, and their link, one per line."""
    hashtags = " ".join(f"#{tag.lstrip('#')}" for tag in clip.hashtags or [] if tag)
    return "\n".join(part for part in (clip.caption or "", hashtags, share_url or "") if part)


def portal_clips(settings: Settings, session: Session, leader_id: str) -> list[PortalClip]:
    """The leader's clips, newest approval first. Unrendered variants get their file URL all the same:
    the media route renders a variant on its first request."""
    items = []
    for clip, variant in clips_for_leader(session, leader_id):
        poster = f"/media/clips/{clip.id}/poster.{leader_id}.png" if repo.poster_expected(clip, variant) else None
        items.append(
            PortalClip(
                clip_id=clip.id,
                title=clip_title(clip),
                video=media_url(clip.id, variant.video_key) or f"/media/clips/{clip.id}/clip.{leader_id}.mp4",
                poster=media_url(clip.id, variant.poster_key) or poster,
                cover=media_url(clip.id, clip.cover_key),
                caption=share_caption(clip, leader_share_url(settings, session, clip, variant)),
            )
        )
    return items


def portal_sales(settings: Settings, session: Session, leader_id: str) -> dict[str, Any]:
    """The leader's own numbers over the last 30 days (in the server's zone): scans, clicks, orders, GMV."""
    span = period(None, None, None, default_tz=settings.timezone)
    rows = leader_summary(session, leader_id=leader_id, span=span)
    counts = {name: sum(getattr(row, name) for row in rows) for name in ("scans", "clicks", "orders")}
    gmv = [(row.currency, money(row.gmv, row.currency)) for row in rows if row.gmv]
    return {**counts, "gmv": gmv, "days": (span.end - span.start).days + 1}


def _signed_in(request: Request, session: Session) -> ApiKey | None:
    secret = presented_key(request)
    return key_store.authenticate(session, secret) if secret else None


def _to_login(request: Request) -> Response:
    response = RedirectResponse(LOGIN, status_code=303, headers={"Cache-Control": "no-store"})
    if request.cookies.get(KEY_COOKIE):
        response.delete_cookie(KEY_COOKIE, path="/")
    return response


def _not_a_leader(request: Request, key: ApiKey) -> Response:
    return render(request, "portal_forbidden.html", {"key": key}, status_code=403, chinese=True)


@router.get(PORTAL)
def portal_page(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """The signed-in leader's clips; the sign-in form without a live key; 403 for a key that is not a leader's."""
    key = _signed_in(request, session)
    if key is None:
        return _to_login(request)
    if key.role != "leader":
        return _not_a_leader(request, key)
    leader = session.get(Leader, key.leader_id) if key.leader_id else None
    clips = portal_clips(settings, session, leader.id) if leader is not None else []
    earnings = ledger.balances(session, leader.id) if leader is not None else None
    session.commit()  # share links made on this first view
    context: dict[str, Any] = {
        "leader": leader,
        "key": key,
        "clips": clips,
        "in_app": in_app_browser(request),
        "earnings": earnings if earnings is not None and earnings.entries else None,
        "money": fmt_amount,
    }
    context["sales"] = portal_sales(settings, session, leader.id) if leader is not None else None
    return render(request, "portal.html", context, chinese=True)


@router.get(LOGIN)
def portal_login_form(request: Request, session: SessionDep) -> Response:
    """The key form; a browser already holding a leader's key goes straight to the portal."""
    key = _signed_in(request, session)
    if key is not None and key.role == "leader":
        return RedirectResponse(PORTAL, status_code=303)
    return render(request, "portal_login.html", {"error": None}, chinese=True)


@router.post(LOGIN)
def portal_login(request: Request, session: SessionDep, key: Annotated[str, Form()] = "") -> Response:
    """Check the key; a leader's is kept in the HttpOnly, SameSite=Strict cookie and the portal opens."""
    secret = key.strip()
    row = key_store.authenticate(session, secret) if secret else None
    if row is None:
        error = "unknown" if secret else "missing"
        return render(request, "portal_login.html", {"error": error}, status_code=401, chinese=True)
    if row.role != "leader":
        return _not_a_leader(request, row)
    return signed_in(request, secret, PORTAL)


@router.post("/portal/logout")
def portal_logout() -> Response:
    response = RedirectResponse(LOGIN, status_code=303)
    response.delete_cookie(KEY_COOKIE, path="/")
    return response
