"""Recording rows: where their media is, and copying probe facts onto them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from liveslice.storage import get_storage
from store.models import Recording

if TYPE_CHECKING:
    from studio.probe import MediaInfo


class MissingMedia(Exception):
    """The recording's row or file is gone: probing it again will not help."""

    code = "missing_media"


def recording_media_path(media_root: Path, recording: Recording) -> Path:
    """Where the recording's media is: under the media root if stored there, else its registered path."""
    if recording.storage_key:
        return get_storage(media_root).local_path(recording.storage_key)
    if recording.source_path:
        return Path(recording.source_path)
    raise MissingMedia(f"recording {recording.id} has neither a stored file nor a source path")


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
