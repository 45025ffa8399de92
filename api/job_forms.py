"""The "Make clips" forms of the web pages: their values, how they become job options, starting the job.

The forms take the same options as ``POST /api/recordings/{id}/process`` and are checked by the
same model and :func:`pipeline.clipmaking.pipeline_options`, so a form can do what the API does.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Form, HTTPException, Request, status
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.routers.jobs import ProcessRequest
from pipeline.advance import start_pipeline
from pipeline.analysis import MAX_CLIPS
from runtime.config import Settings
from services.clips import InvalidClipRequest
from studio.errors import StudioError
from studio.highlights.presets import WEIGHT_PRESETS
from studio.render import PLATFORM_PRESETS
from workers.dispatch import enqueue_job

log = logging.getLogger(__name__)

#: the last comma (ASCII or full-width) of a leaders line, when a link follows it
LEADER_LINE = re.compile(r"^(?P<name>.*)[,，]\s*(?P<url>(?:\S*://|www\.)\S*)$")
FIELD_LABELS = {
    "clips": "Clips",
    "presets": "Presets",
    "weight_preset": "Weights",
    "min_len": "Shortest clip",
    "max_len": "Longest clip",
    "leaders": "Leaders",
    "mode": "Cut mode",
    "captions": "Captions",
}


class FormError(ValueError):
    """A "Make clips" form that cannot start a job; the message is shown above the form."""


@dataclass
class JobForm:
    """A "Make clips" form's values, as typed (shown again with the error when they do not start a job)."""

    clips: str = "10"
    presets: list[str] = field(default_factory=lambda: ["douyin"])
    weight_preset: str = "sales"
    min_len: str = "15"
    max_len: str = "60"
    leaders: str = ""
    mode: str = "accurate"
    captions: str = "on"
    error: str | None = None


def job_form(
    clips: Annotated[str, Form()] = "10",
    presets: Annotated[list[str] | None, Form()] = None,
    weight_preset: Annotated[str, Form()] = "sales",
    min_len: Annotated[str, Form()] = "15",
    max_len: Annotated[str, Form()] = "60",
    leaders: Annotated[str, Form(max_length=100_000)] = "",
    mode: Annotated[str, Form()] = "accurate",
    captions: Annotated[str, Form()] = "on",
) -> JobForm:
    """The posted form (fields a form leaves out keep the API's defaults)."""
    return JobForm(clips, list(presets or []), weight_preset, min_len, max_len, leaders, mode, captions)


PostedForm = Annotated[JobForm, Depends(job_form)]
PRODUCT_FORM = JobForm(clips="5")


def same_site_only(request: Request) -> None:
    """Refuse a post the browser says came from another site (``Sec-Fetch-Site``)."""
    if request.headers.get("sec-fetch-site", "").lower() in ("cross-site", "same-site"):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this form can only be sent from liveslice's own pages")


SameSite = Annotated[None, Depends(same_site_only)]


def job_form_context(form: JobForm | None = None) -> dict[str, Any]:
    """What a "Make clips" form needs: its values and the choices."""
    presets = [{"name": p.name, "label": p.label} for p in PLATFORM_PRESETS.values()]
    return {
        "current": form or JobForm(),
        "presets": presets,
        "weight_presets": list(WEIGHT_PRESETS),
        "max_clips": MAX_CLIPS,
    }


def parse_leaders(text: str) -> list[dict[str, str]]:
    """One leader a line, ``name[,share_url]`` (a full-width comma works too); blank lines are skipped."""
    people: list[dict[str, str]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        match = LEADER_LINE.match(line)
        name, url = (match["name"].strip(), match["url"]) if match else (line, "")
        if not name:
            raise FormError(f"Leaders, line {number}: put the leader's name before the link")
        people.append({"name": name, "share_url": url} if url else {"name": name})
    return people


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        loc = [str(p) for p in error["loc"]]
        label = FIELD_LABELS.get(loc[0], loc[0]) if loc else "Form"
        parts.append(f"{label}: {error['msg']}")
    return "; ".join(parts)


def form_options(
    session: Session, form: JobForm, *, sku: str | None = None, duration: float | None = None
) -> dict[str, Any]:
    """The job options of a posted form, checked as the JSON API checks them; :class:`FormError` if not valid."""
    presets = [p for p in form.presets if p.strip()]
    if not presets:
        raise FormError("Tick at least one platform to make the clips for.")
    try:
        body = ProcessRequest.model_validate(
            {
                "clips": form.clips.strip(),
                "presets": presets,
                "weight_preset": form.weight_preset,
                "min_len": form.min_len.strip(),
                "max_len": form.max_len.strip(),
                "leaders": parse_leaders(form.leaders),
                "mode": form.mode,
                "captions": form.captions == "on",
            }
        )  # the form's strings are converted as JSON's numbers would be
    except ValidationError as exc:
        raise FormError(_validation_message(exc)) from exc
    try:
        return body.options(session, sku=sku, duration=duration)
    except (InvalidClipRequest, StudioError) as exc:
        raise FormError(str(exc)) from exc


def start_job(
    settings: Settings, session: Session, *, kind: str, recording_id: str | None, options: dict[str, Any]
) -> str:
    """Create (or find the same active) pipeline job, commit it, then drive it; returns its id."""
    job, _created = start_pipeline(
        settings, session, kind=kind, recording_id=recording_id, options=options, send=enqueue_job
    )
    return job.id
