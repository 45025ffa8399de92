"""Subject-aware crop: follows a moving subject, never faster than 8 px/frame at 30 fps, still when it is still.

Test media is generated with ffmpeg: a white 40x40 box moving over a black 640x360 frame on a known
path x(t), and a drawn face (OpenCV ships only cascades, no face images; the Haar cascade does find
this simple drawn face).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from studio.ffmpeg import run_ffmpeg
from studio.render.subject import CropTrack, plan_subject_crop, smooth_path, step_limit

SRC_W, SRC_H, FPS = 640, 360, 30
CROP_W = 202  # 9:16 of 360 px
BOX = 40
BOX_Y = 160


def box_x(t: np.ndarray | float) -> np.ndarray:
    """Left edge of the box: still for 0.5 s, 160 px/s to the right for 3 s, then still."""
    t = np.asarray(t, dtype=float)
    return np.where(t < 0.5, 60.0, np.where(t < 3.5, 60.0 + 160.0 * (t - 0.5), 540.0))


BOX_X_EXPR = "if(lt(t,0.5),60,if(lt(t,3.5),60+160*(t-0.5),540))"


def make_clip(path: Path, *, x_expr: str, seconds: float = 5.0, noise: bool = False, face: Path | None = None) -> Path:
    graph = f"[0][1]overlay=x='{x_expr}':y={BOX_Y}"
    inputs = [
        "-f",
        "lavfi",
        "-i",
        f"color=c=black:s={SRC_W}x{SRC_H}:r={FPS}:d={seconds}",
        "-f",
        "lavfi",
        "-i",
        f"color=c=white:s={BOX}x{BOX}:r={FPS}:d={seconds}",
    ]
    if face is not None:
        inputs += ["-i", str(face)]
        graph += "[v];[v][2]overlay=x=400:y=60"
    if noise:
        graph += ",noise=alls=12:allf=t"
    run_ffmpeg(
        [
            *inputs,
            "-filter_complex",
            graph,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-y",
            str(path),
        ]
    )
    return path


@pytest.fixture(scope="module")
def moving_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_clip(tmp_path_factory.mktemp("subject") / "moving.mp4", x_expr=BOX_X_EXPR)


def plan(path: Path, **kwargs: object) -> CropTrack:
    args: dict[str, object] = dict(start=0.0, end=5.0, src_w=SRC_W, src_h=SRC_H, crop_w=CROP_W, crop_h=SRC_H, fps=FPS)
    args.update(kwargs)
    return plan_subject_crop(path, **args)  # type: ignore[arg-type]


def test_subject_stays_inside_and_crop_speed_is_limited(moving_clip: Path) -> None:
    track = plan(moving_clip)
    assert track.frames == 150 and (track.w, track.h) == (CROP_W, SRC_H)
    sx = box_x(np.arange(track.frames) / FPS)
    assert np.all(sx >= track.xs) and np.all(sx + BOX <= track.xs + CROP_W), "the box left the crop"
    assert np.abs(np.diff(track.xs)).max() <= 8
    assert np.all(track.ys == 0)
    assert track.xs.min() >= 0 and track.xs.max() <= SRC_W - CROP_W
    assert track.xs[-1] - track.xs[0] > 300, "the crop did not follow the subject across the frame"


def test_crop_is_still_when_the_subject_is_still(moving_clip: Path) -> None:
    track = plan(moving_clip)
    steps = np.diff(track.xs)
    assert np.all(steps[: int(0.4 * FPS)] == 0), "jitter before the subject moves"
    assert np.all(steps[int(4.6 * FPS) :] == 0), "jitter after the subject stopped"
    assert np.all(steps >= 0), "the crop went back and forth while the subject moved one way"


def test_static_noisy_scene_never_moves_the_crop(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "static.mp4", x_expr="500", seconds=3.0, noise=True)
    track = plan(clip, end=3.0)
    assert np.all(np.diff(track.xs) == 0)


def test_speed_limit_also_holds_in_output_pixels(moving_clip: Path) -> None:
    track = plan(moving_clip, output_width=540)  # the 202 px crop scaled up 2.67x
    scale = 540 / CROP_W
    assert np.abs(np.diff(track.xs)).max() * scale <= 8
    assert step_limit(fps=30, crop_size=CROP_W, output_size=540) == 2
    assert step_limit(fps=60, crop_size=CROP_W, output_size=None) == 4  # same 240 px/s
    assert step_limit(fps=25, crop_size=CROP_W, output_size=None) == 8  # never more than 8 px in a frame


def test_smooth_path_honours_dead_zone_and_limit() -> None:
    wobble = 100 + 5 * np.sin(np.arange(300))  # +-5 px detector noise inside a 10 px dead zone
    assert np.all(smooth_path(wobble, fps=30, limit=8, dead_zone=10, upper=500) == 100)
    jump = np.r_[np.zeros(30), np.full(90, 400.0)]
    path = smooth_path(jump, fps=30, limit=8, dead_zone=0, upper=500)
    assert np.abs(np.diff(path)).max() == 8 and path[-1] == 400 and np.all(np.diff(path) >= 0)


def decode_gray(args: list[str], out: Path, width: int, height: int) -> np.ndarray:
    run_ffmpeg([*args, "-f", "rawvideo", "-pix_fmt", "gray", "-y", str(out)])
    data = np.fromfile(out, dtype=np.uint8)
    return data.reshape(-1, height, width)


def test_filter_snippet_crops_along_the_track_end_to_end(moving_clip: Path, tmp_path: Path) -> None:
    start, end = 1.0, 4.0
    track = plan(moving_clip, start=start, end=end)
    workdir = tmp_path / "work dir, it's: [odd]"
    workdir.mkdir()
    snippet = track.filter(workdir)
    assert "sendcmd" in snippet and list(workdir.glob("*.cmd"))
    out_w, out_h = 270, 480
    graph = f"[0:v]trim=start={start}:end={end},setpts=PTS-STARTPTS,fps={FPS},{snippet},scale={out_w}:{out_h}[v]"
    frames = decode_gray(
        ["-i", str(moving_clip), "-filter_complex", graph, "-map", "[v]"], tmp_path / "o.gray", out_w, out_h
    )
    assert len(frames) == track.frames == 90
    scale = out_w / CROP_W
    for i, frame in enumerate(frames):
        cols = np.flatnonzero(frame[int((BOX_Y + BOX / 2) * out_h / SRC_H)] > 128)
        assert len(cols), f"frame {i}: no subject in the output"
        assert cols[0] > 0 and cols[-1] < out_w - 1, f"frame {i}: the subject touches the output's edge"
        expected = (box_x(start + i / FPS) - track.xs[i]) * scale
        assert abs(cols[0] - expected) <= 3, f"frame {i}: crop not applied at the planned x"


def test_still_track_is_a_plain_crop(tmp_path: Path) -> None:
    track = CropTrack(np.full(10, 30), np.zeros(10), 100, 200, 30.0)
    assert track.filter(tmp_path) == "crop@subject=w=100:h=200:x=30:y=0:exact=1"
    assert not list(tmp_path.iterdir())


def drawn_face(size: int) -> Image.Image:
    """A flat drawn face (oval, brows, eyes, nose, mouth) that OpenCV's frontal Haar cascade detects."""
    image = Image.new("RGB", (size * 2, size * 2), (60, 60, 60))
    draw = ImageDraw.Draw(image)
    s, o = size, size // 2

    def box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
        return [o + s * x0, o + s * y0, o + s * x1, o + s * y1]

    draw.ellipse(box(0, -0.1, 1, 1.2), fill=(190, 190, 190))
    draw.rectangle(box(0.18, 0.28, 0.42, 0.33), fill=(50, 50, 50))
    draw.rectangle(box(0.58, 0.28, 0.82, 0.33), fill=(50, 50, 50))
    draw.ellipse(box(0.2, 0.38, 0.4, 0.48), fill=(40, 40, 40))
    draw.ellipse(box(0.6, 0.38, 0.8, 0.48), fill=(40, 40, 40))
    draw.polygon(
        [(o + s * 0.5, o + s * 0.45), (o + s * 0.43, o + s * 0.7), (o + s * 0.57, o + s * 0.7)], fill=(160, 160, 160)
    )
    draw.ellipse(box(0.33, 0.82, 0.67, 0.9), fill=(70, 70, 70))
    return image.filter(ImageFilter.GaussianBlur(s / 40))


def test_face_wins_over_motion(tmp_path: Path) -> None:
    face_png = tmp_path / "face.png"
    drawn_face(90).save(face_png)  # 180x180 at x=400: face centre near x=490
    clip = make_clip(tmp_path / "face.mp4", x_expr="20+40*t", seconds=3.0, face=face_png)
    track = plan(clip, end=3.0)
    face_cx = 400 + 90
    assert np.all(track.xs <= face_cx - 45) and np.all(track.xs + CROP_W >= face_cx + 45), "face not in the crop"
    without_faces = plan(clip, end=3.0, faces=False)  # the moving box on the left wins instead
    assert without_faces.xs.max() < 100


def test_bad_geometry_and_window_are_rejected(moving_clip: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot crop"):
        plan(moving_clip, crop_w=SRC_W + 2)
    with pytest.raises(ValueError, match="bad clip window"):
        plan(moving_clip, start=3.0, end=2.0)
    from studio.errors import MediaError

    with pytest.raises(MediaError):
        plan(tmp_path / "missing.mp4")
    with pytest.raises(MediaError, match="no video frames"):
        plan(moving_clip, start=30.0, end=31.0)
