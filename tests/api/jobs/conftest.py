"""The pipeline tests' fixtures (a small stored recording with side data, small presets)."""

from tests.pipeline.conftest import pipeline_source, recording, small_presets

__all__ = ["pipeline_source", "recording", "small_presets"]
