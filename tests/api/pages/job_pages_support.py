"""Helpers of the job-page tests: job rows, a product, a pipeline in a chosen state, page text."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from pipeline import plan
from pipeline.clipmaking import pipeline_options
from runtime.config import Settings
from store.db import session_scope
from store.models import Clip, Job, Product, utcnow

if TYPE_CHECKING:
    pass

Login = Callable[[str], TestClient]
AddRecording = Callable[..., str]
SKU = "LS-0001"


def jobs_where(settings: Settings, **where: Any) -> list[Job]:
    with session_scope(settings.database_url) as session:
        rows = list(session.scalars(select(Job).filter_by(**where).order_by(Job.created_at)))
        session.expunge_all()
        return rows


def children(settings: Settings, parent_id: str) -> dict[str, Job]:
    return {j.key or j.id: j for j in jobs_where(settings, parent_id=parent_id)}


def add_product(settings: Settings, sku: str = SKU, name: str = "保湿面霜 Hydrating Cream") -> None:
    with session_scope(settings.database_url) as session:
        session.add(Product(sku=sku, name=name, price=Decimal("89.00"), currency="CNY"))


def make_pipeline(settings: Settings, recording_id: str, *, clip_states: tuple[str, str] = ("ready", "render")) -> str:
    """A running process job: head stages done, two clips; the first ready, the second rendering (half way)."""
    now = utcnow()
    with session_scope(settings.database_url) as session:
        clips = [
            Clip(recording_id=recording_id, preset="douyin", start=12.5, end=40.0, sku=SKU, status="ready"),
            Clip(recording_id=recording_id, preset="douyin", start=100.0, end=130.0, sku=None, status="queued"),
        ]
        session.add_all(clips)
        parent = Job(
            kind=plan.PROCESS,
            recording_id=recording_id,
            status="running",
            stage="render",
            options=pipeline_options(clips=2),
            started_at=now - timedelta(seconds=600),
        )
        session.add(parent)
        session.flush()
        ids = [c.id for c in clips]

        def child(key: str, status: str, **fields: Any) -> None:
            stage = key.split(":")[0]
            session.add(
                Job(
                    kind=plan.STAGE_KINDS[stage],
                    recording_id=recording_id,
                    parent_id=parent.id,
                    key=key,
                    status=status,
                    stage=stage,
                    started_at=now - timedelta(seconds=600),
                    **fields,
                )
            )

        child("probe", "succeeded")
        child("signals", "succeeded")
        child("highlights", "succeeded", result={"clip_ids": ids, "with_leaders": []})
        child(plan.stage_key("render", ids[0]), "succeeded", progress=1.0)
        child(plan.stage_key("covers", ids[0]), "succeeded", progress=1.0)
        if clip_states[1] == "render":
            child(plan.stage_key("render", ids[1]), "running", progress=0.5)
        else:  # a failed render
            child(plan.stage_key("render", ids[1]), "failed", error="ffmpeg exited with 1: moov atom not found")
        return parent.id


def page_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- the job page ---------------------------------------------------------------------------
