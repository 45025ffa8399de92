"""``render_file_clip``: a media file's window to a clip, cover, poster and leader variants, with no database."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from services.clips import InvalidClipRequest, Leader, leader_id_for, make_leaders, render_file_clip, share_url_for
from studio.render import RenderFailed, RenderFontError, validate_output
from tests.services.clips.clip_media import BUY_URL, CORNER, CUES, PRODUCTS, SMALL, decode_errors, frame, qr_texts

SHARE = "https://ls.example.com/s/Ab3xK9q"
LEADER_URLS = {"wang": "https://ls.example.com/s/wang01", "lily": "https://ls.example.com/s/lily02"}


def test_single_link_clip_has_a_corner_qr_card_captions_cover_and_poster(clip_source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "clip.mp4"
    outcome = render_file_clip(
        clip_source,
        start=0.5,
        end=2.5,
        out=out,
        products=PRODUCTS,
        sku="LS-0001",
        cues=CUES,
        preset=CORNER,
        share_url=SHARE,
    )
    assert outcome.video == out and outcome.corner_qr and outcome.product is not None
    report = validate_output(out, preset=CORNER, expected_duration=2.0)
    assert (report.facts.width, report.facts.height) == (540, 960)
    for t in (0.1, 1.8):
        assert qr_texts(frame(out, t, tmp_path)) == [SHARE]  # burned in for the whole clip
    assert outcome.cover == tmp_path / "out" / "clip.cover.jpg"
    with Image.open(outcome.cover) as cover:
        assert cover.format == "JPEG" and cover.size == (540, 960)
    assert outcome.poster == tmp_path / "out" / "clip.poster.png"
    assert qr_texts(outcome.poster) == [SHARE]
    assert outcome.product.snapshot() == {
        "sku": "LS-0001",
        "name": "保湿面霜 Hydrating Cream",
        "price": "89.00",
        "original_price": "129.00",
        "currency": "CNY",
        "coupon": "满99减10",
        "buy_url": BUY_URL,
    }
    assert sorted(p.name for p in out.parent.iterdir()) == ["clip.cover.jpg", "clip.mp4", "clip.poster.png"]


def test_variants_carry_their_own_qr_and_the_base_has_none(clip_source: Path, tmp_path: Path) -> None:
    leaders = [Leader("wang", "小王团长", LEADER_URLS["wang"]), Leader("lily", "Lily", LEADER_URLS["lily"])]
    out = tmp_path / "base.mp4"
    outcome = render_file_clip(
        clip_source,
        start=1.0,
        end=3.0,
        out=out,
        products=PRODUCTS,
        sku="LS-0001",
        cues=CUES,
        preset=CORNER,
        share_url=SHARE,
        leaders=leaders,
    )
    assert not outcome.corner_qr  # a base meant for variants never carries a corner code
    assert qr_texts(frame(out, 1.0, tmp_path)) == []
    assert qr_texts(outcome.poster) == [SHARE]
    assert {v.leader.id: v.video.name for v in outcome.variants} == {"wang": "base.wang.mp4", "lily": "base.lily.mp4"}
    for variant in outcome.variants:
        url = LEADER_URLS[variant.leader.id]
        validate_output(variant.video, preset=CORNER, expected_duration=2.0 + 3.0)
        assert decode_errors(variant.video) == ""
        assert qr_texts(frame(variant.video, 3.5, tmp_path)) == [url]  # the end card
        assert qr_texts(frame(variant.video, 1.0, tmp_path)) == []
        assert variant.poster is not None and qr_texts(variant.poster) == [url]
    files = outcome.files()
    assert (
        files["variants"]["wang"]["leader"] == "小王团长"
        and files["variants"]["lily"]["share_url"] == LEADER_URLS["lily"]
    )


def test_no_share_url_falls_back_to_the_buy_url_on_poster_and_end_cards(clip_source: Path, tmp_path: Path) -> None:
    outcome = render_file_clip(
        clip_source,
        start=0.0,
        end=1.0,
        out=tmp_path / "c.mp4",
        products=PRODUCTS,
        sku="LS-0001",
        preset=SMALL,
        leaders=[Leader("lily", "Lily")],
        captions=False,
    )
    assert outcome.share_url == BUY_URL and not outcome.corner_qr
    assert qr_texts(outcome.poster) == [BUY_URL]
    (variant,) = outcome.variants
    assert variant.leader.share_url == BUY_URL
    validate_output(variant.video, preset=SMALL, expected_duration=4.0)


def test_without_a_product_there_is_no_card_and_no_poster(clip_source: Path, tmp_path: Path) -> None:
    outcome = render_file_clip(clip_source, start=0.0, end=1.0, out=tmp_path / "plain.mp4", preset=SMALL)
    assert outcome.product is None and outcome.poster is None and outcome.cover is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.cover.jpg", "plain.mp4"]


def test_fast_mode_reports_the_keyframe_cut(clip_source: Path, tmp_path: Path) -> None:
    outcome = render_file_clip(clip_source, start=1.5, end=3.2, out=tmp_path / "raw.mp4", preset=SMALL, mode="fast")
    assert outcome.mode == "fast"
    assert outcome.actual_start == pytest.approx(1.0, abs=0.01)  # the keyframe at or before 1.5 s
    assert outcome.actual_end >= 3.2 - 0.05
    validate_output(outcome.video, preset=None, expected_duration=outcome.duration, fast=True)
    with pytest.raises(InvalidClipRequest, match="leader variants need an accurate render"):
        render_file_clip(
            clip_source,
            start=1.5,
            end=3.2,
            out=tmp_path / "x.mp4",
            preset=SMALL,
            mode="fast",
            leaders=[Leader("a", "A", SHARE)],
        )


@pytest.mark.parametrize(
    ("start", "end", "sku", "message"),
    [
        (2.0, 2.0, None, r"start \(2 s\) must be before end \(2 s\)"),
        (3.0, 1.0, None, "must be before end"),
        (5.0, 9.5, None, "outside the recording, which is 8.0"),
        (-1.0, 1.0, None, "outside the recording"),
        (0.0, 1.0, "NOPE-1", "unknown SKU 'NOPE-1'"),
    ],
)
def test_bad_requests_are_refused_before_anything_is_written(
    clip_source: Path, tmp_path: Path, start: float, end: float, sku: str | None, message: str
) -> None:
    with pytest.raises(InvalidClipRequest, match=message):
        render_file_clip(
            clip_source, start=start, end=end, out=tmp_path / "c.mp4", products=PRODUCTS, sku=sku, preset=SMALL
        )
    assert list(tmp_path.iterdir()) == []


def test_a_corrupt_source_region_fails_and_leaves_no_partial_file(corrupt_source: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    with pytest.raises(RenderFailed, match="corrupt"):
        render_file_clip(
            corrupt_source, start=2.0, end=6.0, out=out_dir / "c.mp4", products=PRODUCTS, sku="LS-0001", preset=SMALL
        )
    assert list(out_dir.iterdir()) == []  # no clip, no temp files, no work folders


def test_a_missing_font_is_a_clear_error(clip_source: Path, tmp_path: Path) -> None:
    with pytest.raises(RenderFontError, match=r"CJK font.*missing\.otf"):
        render_file_clip(
            clip_source,
            start=0.0,
            end=1.0,
            out=tmp_path / "c.mp4",
            products=PRODUCTS,
            sku="LS-0001",
            preset=SMALL,
            font=tmp_path / "missing.otf",
        )
    assert not (tmp_path / "c.mp4").exists()


def test_leader_ids_and_share_urls() -> None:
    assert leader_id_for("Lily") == "lily" and leader_id_for("Lily Chen") == "lily-chen"
    wang = leader_id_for("小王团长")
    assert wang.startswith("l-") and wang == leader_id_for(" 小王团长 ") and wang != leader_id_for("小李团长")
    assert leader_id_for("王 Wang").startswith("wang-")  # not the same files as a leader called "Wang"
    leaders = make_leaders([{"name": "Lily", "share_url": SHARE}, {"name": "小王团长"}])
    assert [(p.id, p.share_url) for p in leaders] == [("lily", SHARE), (wang, None)]
    with pytest.raises(InvalidClipRequest, match="used twice"):
        make_leaders([{"name": "Lily"}, {"name": "lily"}])
    with pytest.raises(InvalidClipRequest, match="share_url: URL must use http or https"):
        make_leaders([{"name": "Lily", "share_url": "javascript:alert(1)"}])
    assert share_url_for(None, clip_id=None, explicit=SHARE, buy_url=BUY_URL) == SHARE
    assert share_url_for(None, clip_id=None, buy_url=BUY_URL) == BUY_URL
    assert share_url_for(None, clip_id=None) is None
