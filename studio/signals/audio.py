"""Audio signals: loudness and voice activity, one value per tick, from a streamed decode.

The pinned ffmpeg decodes the first audio stream to mono float32 at a low sample rate and
pipes it out; we read fixed-size chunks and reduce each one with vectorised numpy to per-tick
features (RMS loudness, speech-band energies, spectral flux). Memory holds one chunk plus the
per-tick arrays. Voice activity is computed from those arrays by :mod:`studio.signals.voice`.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from studio.errors import FFmpegError, MediaError
from studio.ffmpeg import stream_ffmpeg
from studio.signals.cache import cached_arrays
from studio.signals.timebase import DEFAULT_HZ, samples_per_tick
from studio.signals.voice import voice_activity

__all__ = [
    "AudioFeatures",
    "analyze_audio",
    "audio_pipe_args",
    "iter_audio_chunks",
    "stream_ffmpeg_raw",
    "tick_features",
]

CACHE_VERSION = "audio-4"
DEFAULT_SAMPLE_RATE = 8000
SUBFRAMES = 4  # spectral frames per tick
N_BANDS = 16
BAND_LO_HZ, BAND_HI_HZ = 250.0, 3500.0  # the speech band, split into log-spaced bands
SILENCE_DB = -90.0
BAND_FLOOR_DB = -80.0  # band energies below this count as digital silence
CHUNK_SECONDS = 30.0
READ_AHEAD_CHUNKS = 2  # decoded chunks buffered ahead of the numpy work


@dataclass(frozen=True)
class AudioFeatures:
    """Per-tick audio signals of one recording.

    ``loudness``: RMS in dBFS (-90..0). ``voice``: probability [0,1] that someone speaks.
    ``flux``: mean absolute change (dB) of speech-band energies between spectral frames.
    ``bands``: (ticks, N_BANDS) speech-band energies in dB.
    """

    hz: float
    duration: float
    loudness: np.ndarray
    voice: np.ndarray
    flux: np.ndarray
    bands: np.ndarray

    @property
    def ticks(self) -> int:
        return int(self.loudness.shape[0])


def audio_pipe_args(path: Path, sample_rate: int) -> list[str]:
    """ffmpeg arguments that write the first audio stream of ``path`` as mono f32le to stdout.

    The graph is what ``-ac 1 -ar RATE`` builds (same samples, bit for bit), then regroups them into
    one-second frames: ffmpeg hands every frame from thread to thread and writes each to the pipe, so
    1024-sample AAC frames would cost ~50 thread hand-offs and pipe writes per second of audio.
    """
    graph = f"aresample={sample_rate},aformat=sample_fmts=flt:channel_layouts=mono,asetnsamples=n={sample_rate}:p=0"
    inputs = ["-loglevel", "error", "-i", str(path)]
    audio_only = ["-map", "0:a:0", "-vn", "-sn", "-dn"]
    return [*inputs, *audio_only, "-af", graph, "-f", "f32le", "pipe:1"]


def stream_ffmpeg_raw(
    args: Sequence[str], chunk_bytes: int, *, missing_code: str = "no_stream", binary: Path | None = None
) -> Generator[bytes, None, None]:
    """Decode with ffmpeg (:func:`studio.ffmpeg.stream_ffmpeg`), yielding its stdout ``chunk_bytes`` at a time.

    The last chunk may be shorter. A failed decode raises :class:`MediaError` with ffmpeg's message
    (``code=missing_code`` when the mapped stream does not exist, else ``undecodable``). Closing the
    generator early stops ffmpeg.
    """
    try:
        with stream_ffmpeg(args, chunk_bytes=chunk_bytes, binary=binary, read_ahead=READ_AHEAD_CHUNKS) as chunks:
            yield from chunks
    except FFmpegError as exc:
        message = exc.stderr.strip()
        code = missing_code if "matches no streams" in message else "undecodable"
        source = args[list(args).index("-i") + 1] if "-i" in args else "the input"
        raise MediaError(f"ffmpeg could not decode {source}: {message}", code=code) from exc


def iter_audio_chunks(path: Path, sample_rate: int, chunk_samples: int) -> Generator[np.ndarray, None, None]:
    """Mono float32 samples of ``path`` at ``sample_rate``, ``chunk_samples`` at a time."""
    if not Path(path).is_file():
        raise MediaError(f"recording not found: {path}", code="not_found")
    raw_chunks = stream_ffmpeg_raw(audio_pipe_args(path, sample_rate), chunk_samples * 4, missing_code="no_audio")
    with closing(raw_chunks):
        for raw in raw_chunks:
            usable = len(raw) // 4 * 4
            yield np.frombuffer(raw[:usable], dtype="<f4")


@lru_cache(maxsize=8)
def _band_bins(sample_rate: int, nfft: int) -> tuple[tuple[int, int], ...]:
    """``[lo, hi)`` FFT-bin ranges of the log-spaced speech bands (one narrower than a bin takes the nearest bin)."""
    freqs = np.fft.rfftfreq(nfft, 1.0 / sample_rate)
    edges = np.geomspace(BAND_LO_HZ, min(BAND_HI_HZ, sample_rate / 2 * 0.95), N_BANDS + 1)
    band_of_bin = np.searchsorted(edges, freqs, side="right") - 1  # nondecreasing with frequency
    ranges = []
    for band in range(N_BANDS):
        lo, hi = np.searchsorted(band_of_bin, [band, band + 1])
        if hi == lo:
            lo = int(np.argmin(np.abs(freqs - np.sqrt(edges[band] * edges[band + 1]))))
            hi = lo + 1
        ranges.append((int(lo), int(hi)))
    return tuple(ranges)


def tick_features(frames: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reduce (ticks, samples_per_tick) audio to loudness (ticks,), bands (ticks, N_BANDS), flux (ticks,)."""
    n_ticks, per_tick = frames.shape
    power_mean = np.mean(np.square(frames, dtype=np.float32), axis=1)
    loudness = np.clip(10.0 * np.log10(power_mean + 1e-12), SILENCE_DB, 0.0).astype(np.float32)
    sub = per_tick // SUBFRAMES
    nfft = 1 << max(0, (sub - 1).bit_length())
    window = np.hanning(sub).astype(np.float32)
    spectral = frames[:, : sub * SUBFRAMES].reshape(n_ticks * SUBFRAMES, sub) * window
    spectrum = np.fft.rfft(spectral, n=nfft, axis=1)
    power = (spectrum.real**2 + spectrum.imag**2).astype(np.float32) / float(np.sum(window**2))
    # Summed slice by slice: a 0/1 matrix product would go through BLAS, whose idle threads spin and
    # take the CPU that ffmpeg needs for decoding.
    pooled = np.stack([power[:, lo:hi].sum(axis=1) for lo, hi in _band_bins(sample_rate, nfft)], axis=1)
    bands = pooled.reshape(n_ticks, SUBFRAMES, N_BANDS)
    band_db = np.maximum(10.0 * np.log10(bands + 1e-12), BAND_FLOOR_DB)
    flux = np.mean(np.abs(np.diff(band_db, axis=1)), axis=(1, 2)).astype(np.float32)
    tick_db = np.maximum(10.0 * np.log10(bands.mean(axis=1) + 1e-12), BAND_FLOOR_DB).astype(np.float32)
    return loudness, tick_db, flux


def _decode_features(
    path: Path, hz: float, sample_rate: int, duration_hint: float | None, on_progress: Callable[[float], None] | None
) -> dict[str, np.ndarray]:
    per_tick = samples_per_tick(sample_rate, hz)
    chunk_ticks = max(1, round(CHUNK_SECONDS * hz))
    loud: list[np.ndarray] = []
    bands: list[np.ndarray] = []
    flux: list[np.ndarray] = []
    carry = np.zeros(0, np.float32)
    total = 0
    with closing(iter_audio_chunks(path, sample_rate, chunk_ticks * per_tick)) as chunks:  # stops ffmpeg on error
        for chunk in chunks:
            total += chunk.size
            samples = np.concatenate([carry, chunk]) if carry.size else chunk
            whole = samples.size // per_tick * per_tick
            if whole:
                parts = tick_features(samples[:whole].reshape(-1, per_tick), sample_rate)
                loud.append(parts[0])
                bands.append(parts[1])
                flux.append(parts[2])
            carry = samples[whole:].copy()
            if on_progress is not None and duration_hint:
                on_progress(min(1.0, total / sample_rate / duration_hint))
    if carry.size:  # the partial last tick: pad for the spectrum, but keep its true RMS
        padded = np.zeros((1, per_tick), np.float32)
        padded[0, : carry.size] = carry
        last_loud, last_bands, last_flux = tick_features(padded, sample_rate)
        last_loud[0] = np.clip(10 * np.log10(np.mean(carry.astype(np.float64) ** 2) + 1e-12), SILENCE_DB, 0.0)
        loud.append(last_loud)
        bands.append(last_bands)
        flux.append(last_flux)
    if total == 0:
        raise MediaError(f"{path} has an audio stream with no samples", code="no_audio")
    if on_progress is not None:
        on_progress(1.0)
    return {
        "duration": np.array(total / sample_rate),
        "loudness": np.concatenate(loud),
        "bands": np.concatenate(bands),
        "flux": np.concatenate(flux),
    }


def analyze_audio(
    path: Path,
    *,
    hz: float = DEFAULT_HZ,
    sample_rate: int = DEFAULT_SAMPLE_RATE,
    cache_dir: Path | None = None,
    on_progress: Callable[[float], None] | None = None,
    duration_hint: float | None = None,
) -> AudioFeatures:
    """Loudness and voice activity of ``path``'s first audio stream, one value per tick.

    ``duration_hint`` (seconds, e.g. from probe) makes ``on_progress`` report fractions as the
    decode proceeds; without it, progress is reported once, at the end. Raises
    :class:`MediaError` for a missing file, no audio stream or an undecodable one.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"recording not found: {path}", code="not_found")
    key = {"kind": "audio", "path": path, "hz": hz, "sample_rate": sample_rate, "version": CACHE_VERSION}

    def compute() -> dict[str, np.ndarray]:
        arrays = _decode_features(path, hz, sample_rate, duration_hint, on_progress)
        arrays["voice"] = voice_activity(arrays["bands"], arrays["flux"], hz)
        return arrays

    arrays = cached_arrays(key, cache_dir, compute)
    return AudioFeatures(
        hz=hz,
        duration=float(arrays["duration"]),
        loudness=arrays["loudness"].astype(np.float32, copy=False),
        voice=arrays["voice"].astype(np.float32, copy=False),
        flux=arrays["flux"].astype(np.float32, copy=False),
        bands=arrays["bands"].astype(np.float32, copy=False),
    )
