"""Sales tune the highlight engine: the signals behind the clips that sold, suggested weights, and named
weight presets the next analysis can use (``preset`` of an analysis, ``weight_preset`` of a processing job)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import SessionDep, SettingsDep, require_roles
from services import tuning, weight_presets
from store.models import ApiKey

router = APIRouter(prefix="/api", tags=["tuning"])

PRESET_READ_ROLES = ("admin", "content", "merchant")
TUNING_ROLES = ("admin", "merchant")
PresetReader = Annotated[ApiKey, Depends(require_roles(*PRESET_READ_ROLES))]
Tuner = Annotated[ApiKey, Depends(require_roles(*TUNING_ROLES))]


class PresetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=64, description="Lower-case letters, digits, '.', '_' or '-'.")
    weights: dict[str, float] = Field(description="Signal -> weight (>= 0), e.g. the suggested weights.")
    based_on_sales: int = Field(0, ge=0, description="How many sales the weights were learned from.")
    note: str | None = Field(None, max_length=500)


@router.get(
    "/tuning/suggestion",
    summary="Sales broken down by the highlight signals that picked each clip, and suggested weights (roles: "
    "admin, merchant; 409 below the minimum of sales)",
)
def get_suggestion(
    settings: SettingsDep,
    session: SessionDep,
    _key: Tuner,
    base: Annotated[str, Query(description="The preset to improve: built-in or saved")] = "sales",
) -> dict[str, Any]:
    return tuning.suggest(session, base=base, min_sales=settings.tuning_min_sales).to_dict()


@router.get("/weight-presets", summary="Saved weight presets (roles: admin, content, merchant)")
def get_presets(session: SessionDep, _key: PresetReader) -> dict[str, Any]:
    return {"presets": [weight_presets.preset_view(row) for row in weight_presets.list_presets(session)]}


@router.post(
    "/weight-presets",
    status_code=status.HTTP_201_CREATED,
    summary="Save named highlight weights; analyses and processing jobs may then name them as their preset "
    "(roles: admin, merchant)",
)
def post_preset(body: PresetIn, session: SessionDep, _key: Tuner) -> dict[str, Any]:
    row = weight_presets.save_preset(
        session, name=body.name, weights=body.weights, based_on_sales=body.based_on_sales, note=body.note
    )
    session.commit()
    return weight_presets.preset_view(row)
