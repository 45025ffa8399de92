"""The processing pipeline's plan, pure: its stages, what comes next, progress and time limits.

A pipeline is a parent job (kind ``process`` for one recording, ``product`` for one SKU across
recordings) with one child job per stage. Its stages run in order:

1. ``probe`` → 2. ``signals`` → 3. ``highlights`` (a ``product`` job has one ``find`` stage instead),
4. per clip (one per highlight and preset, as a group): ``render`` → 5. ``variants`` (only with
leaders) → 6. ``covers`` (cover and posters), then 7. ``finalize`` once every clip is done.

:func:`next_steps` reads the children's states and says what to create next or how the pipeline
ended; the database layer (:mod:`pipeline.advance`) applies that under a lock on the parent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PROCESS, PRODUCT = "process", "product"
PIPELINE_KINDS = (PROCESS, PRODUCT)
HEAD_STAGES: dict[str, tuple[str, ...]] = {PROCESS: ("probe", "signals", "highlights"), PRODUCT: ("find",)}
CLIP_STAGES = ("render", "variants", "covers")
#: stage -> job kind of its child row (the kind picks the Celery task and queue)
STAGE_KINDS = {
    "probe": "probe",
    "signals": "signals",
    "highlights": "highlights",
    "find": "find_product",
    "render": "clip_render",
    "variants": "clip_variants",
    "covers": "clip_covers",
    "finalize": "finalize",
}
#: the clip part (:data:`services.clips.CLIP_PARTS`) each clip stage makes
CLIP_PART = {"render": "base", "variants": "variants", "covers": "covers"}
#: share of the whole job's progress: head stages, all clips together, finalize
HEAD_SHARE = {"probe": 0.02, "signals": 0.22, "highlights": 0.04, "find": 0.28}
CLIPS_SHARE, FINALIZE_SHARE = 0.68, 0.04
CLIP_STAGE_SHARE = {"render": 0.8, "variants": 0.12, "covers": 0.08}

OK, ACTIVE, BAD = frozenset({"succeeded"}), frozenset({"queued", "running"}), frozenset({"failed", "cancelled"})


@dataclass(frozen=True)
class Child:
    """What :func:`next_steps` needs of a stage's job row."""

    key: str
    status: str
    progress: float = 0.0
    result: Mapping[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class NewStage:
    """A stage job to create: ``key`` is unique in the pipeline (``render:<clip id>``…)."""

    key: str
    stage: str
    clip_id: str | None = None

    @property
    def kind(self) -> str:
        return STAGE_KINDS[self.stage]


@dataclass
class Decision:
    """What to do now: create ``create``; or finish with ``outcome`` (succeeded / failed + ``error``)."""

    stage: str
    create: list[NewStage] = field(default_factory=list)
    outcome: str | None = None
    error: str | None = None


def stage_key(stage: str, clip_id: str) -> str:
    """The key of one clip's stage job in its pipeline: ``render:<clip id>``."""
    return f"{stage}:{clip_id}"


def clip_ids(children: Mapping[str, Child], kind: str) -> list[str]:
    """The clips the pipeline makes, as its last head stage found them (in its ``result``)."""
    last = children.get(HEAD_STAGES[kind][-1])
    if last is None or last.status not in OK:
        return []
    return [str(c) for c in last.result.get("clip_ids") or []]


def clip_stages(children: Mapping[str, Child], kind: str, clip_id: str) -> tuple[str, ...]:
    """The stages one clip goes through: ``variants`` only when the clip has leaders."""
    last = children.get(HEAD_STAGES[kind][-1])
    with_leaders = set(last.result.get("with_leaders") or []) if last is not None else set()
    return CLIP_STAGES if clip_id in with_leaders else ("render", "covers")


def clip_state(children: Mapping[str, Child], kind: str, clip_id: str) -> tuple[str, str | None, NewStage | None]:
    """One clip's chain: (``ready`` | ``failed`` | ``active`` | ``waiting``, error, stage to create)."""
    for stage in clip_stages(children, kind, clip_id):
        child = children.get(stage_key(stage, clip_id))
        if child is None:
            return "waiting", None, NewStage(stage_key(stage, clip_id), stage, clip_id)
        if child.status in BAD:
            return "failed", f"{stage}: {child.error or child.status}", None
        if child.status in ACTIVE:
            return "active", None, None
    return "ready", None, None


def next_steps(kind: str, children: Mapping[str, Child]) -> Decision:
    """Given the pipeline's children by key, what happens next (pure; safe to call any number of times)."""
    for stage in HEAD_STAGES[kind]:
        child = children.get(stage)
        if child is None:
            return Decision(stage, create=[NewStage(stage, stage)])
        if child.status in BAD:
            return Decision(
                stage, outcome="failed", error=f"{stage} {child.status}: {child.error or 'no reason given'}"
            )
        if child.status in ACTIVE:
            return Decision(stage)
    ids = clip_ids(children, kind)
    create: list[NewStage] = []
    failed: list[str] = []
    pending = False
    for clip_id in ids:
        state, error, new = clip_state(children, kind, clip_id)
        if new is not None:
            create.append(new)
        if state == "failed":
            failed.append(f"clip {clip_id}: {error}")
        pending = pending or state in ("active", "waiting")
    if pending:
        return Decision(_clip_stage_label(children, kind, ids), create=create)
    final = children.get("finalize")
    if final is None:
        return Decision("finalize", create=[NewStage("finalize", "finalize")])
    if final.status in ACTIVE:
        return Decision("finalize")
    if final.status in BAD:
        return Decision("finalize", outcome="failed", error=f"finalize {final.status}: {final.error or ''}".strip())
    if failed:
        return Decision(
            "done", outcome="failed", error=f"{len(failed)} of {len(ids)} clips failed: " + "; ".join(failed)
        )
    return Decision("done", outcome="succeeded")


def _clip_stage_label(children: Mapping[str, Child], kind: str, ids: Sequence[str]) -> str:
    """The earliest clip stage still running or waiting anywhere (what the job is busy with)."""
    for stage in CLIP_STAGES:
        for clip_id in ids:
            if stage not in clip_stages(children, kind, clip_id):
                continue
            child = children.get(stage_key(stage, clip_id))
            if child is None or child.status in ACTIVE:
                return stage
    return "render"


def progress(kind: str, children: Mapping[str, Child]) -> float:
    """The whole job's 0..1 from its stages' own progress (finished stages count whole)."""

    def done(child: Child | None) -> float:
        if child is None:
            return 0.0
        return 1.0 if child.status in OK | BAD else max(0.0, min(1.0, child.progress))

    head = HEAD_STAGES[kind]
    total = sum(HEAD_SHARE[s] for s in head) + CLIPS_SHARE + FINALIZE_SHARE
    value = sum(HEAD_SHARE[s] * done(children.get(s)) for s in head)
    ids = clip_ids(children, kind)
    if ids:
        for clip_id in ids:
            stages = clip_stages(children, kind, clip_id)
            weight = sum(CLIP_STAGE_SHARE[s] for s in stages)
            state = clip_state(children, kind, clip_id)[0]
            part = (
                1.0
                if state in ("ready", "failed")
                else sum(CLIP_STAGE_SHARE[s] * done(children.get(stage_key(s, clip_id))) for s in stages) / weight
            )
            value += CLIPS_SHARE * part / len(ids)
    elif children.get(head[-1]) is not None and children[head[-1]].status in OK:
        value += CLIPS_SHARE
    value += FINALIZE_SHARE * done(children.get("finalize"))
    return round(min(1.0, value / total), 4)


def eta_seconds(elapsed: float, fraction: float) -> float | None:
    """Seconds left at the pace so far; None until there is a pace to go by."""
    if fraction <= 0.03 or elapsed <= 0 or fraction >= 1:
        return None if fraction < 1 else 0.0
    return round(elapsed * (1 - fraction) / fraction, 1)


def time_limits(stage: str, *, clip_seconds: float = 0.0, leaders: int = 0) -> tuple[int, int]:
    """(soft, hard) Celery time limits of a stage's task: renders scale with the clip's duration."""
    if stage == "render":
        soft = 120 + 8 * clip_seconds
    elif stage == "variants":
        soft = 120 + 4 * leaders
    elif stage in ("signals", "highlights", "find"):
        soft = 3600
    else:
        soft = 600
    soft_i = int(soft)
    return soft_i, soft_i + 60
