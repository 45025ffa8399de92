"""Re-rendering a clip's variants never takes back what approval gave: an approved clip keeps its leaders'
rows (their stale files go and render again on first request); a draft clip's set is what was rendered."""

from __future__ import annotations

import pytest

from runtime.config import Settings
from store import clips as repo
from store import leaders as leader_store
from store.db import session_scope
from store.models import Clip
from tests.support.publishing import make_clip


@pytest.mark.parametrize("approved", [True, False])
def test_a_rerender_keeps_the_leaders_an_approval_gave(settings: Settings, approved: bool) -> None:
    with session_scope(settings.database_url) as session:
        ann = leader_store.create_leader(session, name="Ann").id
        bea = leader_store.create_leader(session, name="Bea").id
    clip_id = make_clip(settings, approved=approved, leaders=[ann])
    with session_scope(settings.database_url) as session:
        clip = session.get(Clip, clip_id)
        assert clip is not None
        old = {v.leader_id: (v.video_key, v.poster_key) for v in clip.variants}[ann]
        files = repo.VariantFiles(
            leader_id=bea, leader_name="Bea", share_url=None, video_key="clips/x/b.mp4", poster_key=None, size_bytes=1
        )
        dropped = repo.replace_variants(session, clip=clip, variants=[files])
        rows = {v.leader_id: v for v in clip.variants}
    assert set(dropped) == set(old)  # Ann's files were made from the old base either way
    if approved:
        assert set(rows) == {ann, bea} and rows[ann].video_key is None and rows[ann].poster_key is None
    else:
        assert set(rows) == {bea}
