"""Recording rows: copying probe facts onto them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.errors import MissingMedia as MissingMedia  # re-exported
from store.models import Recording

if TYPE_CHECKING:
    from studio.probe import MediaInfo


def apply_probe(recording: Recording, info: MediaInfo) -> None:
    """Copy a probe's facts onto the recording row."""
    recording.container = info.container
    recording.duration = info.duration
    recording.video_codec = info.video_codec
    recording.width = info.width
    recording.height = info.height
    recording.rotation = info.rotation
    recording.fps = info.fps
    recording.variable_frame_rate = info.variable_frame_rate
    recording.audio_codec = info.audio_codec
    recording.audio_sample_rate = info.sample_rate
    recording.audio_channels = info.channels
    recording.probe = info.to_dict()
