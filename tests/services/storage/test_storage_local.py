"""LocalStorage: the backend-agnostic methods on a folder."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from runtime.config import Settings
from services.storage import (
    KeyNotFound,
    LocalStorage,
    StorageError,
    atomic_output_path,
    get_storage,
    storage_from_settings,
)


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "media")


def test_fetch_and_size_of_a_missing_key_raise_key_not_found(store: LocalStorage) -> None:
    with pytest.raises(KeyNotFound, match=r"clips/none\.mp4"):
        store.fetch("clips/none.mp4")
    with pytest.raises(FileNotFoundError):  # older callers catch this
        store.size("clips/none.mp4")
    assert not store.exists("clips/none.mp4")
    # local_path stays usable as an output path for a key that does not exist yet
    assert store.local_path("clips/none.mp4") == store.root / "clips" / "none.mp4"


def test_put_file_copies_or_moves_atomically(store: LocalStorage, tmp_path: Path) -> None:
    source = tmp_path / "render.mp4"
    source.write_bytes(b"video bytes")
    store.put_file("clips/a.mp4", source)
    assert source.exists()
    assert store.fetch("clips/a.mp4").read_bytes() == b"video bytes"

    store.put_file("clips/b.mp4", source, move=True)
    assert not source.exists()
    assert store.read_bytes("clips/b.mp4") == b"video bytes"
    assert store.size("clips/b.mp4") == len(b"video bytes")


def test_put_fileobj_that_fails_mid_read_leaves_nothing(store: LocalStorage) -> None:
    class Broken(io.RawIOBase):
        def __init__(self) -> None:
            self.sent = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            if self.sent >= 3 * 1024 * 1024:
                raise OSError("client went away")
            buffer[: len(buffer)] = b"x" * len(buffer)
            self.sent += len(buffer)
            return len(buffer)

    with pytest.raises(OSError, match="client went away"):
        store.put_fileobj("uploads/big.bin", io.BufferedReader(Broken()))
    assert not store.exists("uploads/big.bin")
    assert list((store.root / "uploads").iterdir()) == []

    store.put_fileobj("uploads/ok.bin", io.BytesIO(b"complete"))
    assert store.read_bytes("uploads/ok.bin") == b"complete"


def test_iter_bytes_serves_byte_ranges_like_slices(store: LocalStorage) -> None:
    data = bytes(range(256)) * 40
    store.write_bytes("v/x.bin", data)
    for start, end in [(0, None), (0, 1), (100, 5000), (9000, None), (10239, 10240), (50, 50), (20000, None)]:
        assert b"".join(store.iter_bytes("v/x.bin", start, end, chunk_size=333)) == data[start:end]
    with pytest.raises(ValueError, match="invalid byte range"):
        store.iter_bytes("v/x.bin", 10, 5)
    with pytest.raises(KeyNotFound):
        store.iter_bytes("v/missing.bin")  # raised at call time, before any response starts


def test_list_keys_matches_string_prefixes_and_skips_temp_files(store: LocalStorage) -> None:
    for key in ("clips/ab/1.mp4", "clips/ab/2.mp4", "clips/ac.mp4", "covers/1.jpg", "top.json"):
        store.write_bytes(key, b"x")
    temp = atomic_output_path(store.local_path("clips/ab/3.mp4"))  # an in-flight render
    assert temp.exists()

    assert store.list_keys() == ["clips/ab/1.mp4", "clips/ab/2.mp4", "clips/ac.mp4", "covers/1.jpg", "top.json"]
    assert store.list_keys("clips/") == ["clips/ab/1.mp4", "clips/ab/2.mp4", "clips/ac.mp4"]
    assert store.list_keys("clips/a") == ["clips/ab/1.mp4", "clips/ab/2.mp4", "clips/ac.mp4"]
    assert store.list_keys("clips/ab/") == ["clips/ab/1.mp4", "clips/ab/2.mp4"]
    assert store.list_keys("t") == ["top.json"]
    assert store.list_keys("nothing/") == []
    with pytest.raises(StorageError, match="invalid storage prefix"):
        store.list_keys("../etc")


def test_delete_presign_and_describe(store: LocalStorage) -> None:
    store.write_bytes("a/b.txt", b"1")
    assert store.presigned_url("a/b.txt") is None
    store.delete("a/b.txt")
    store.delete("a/b.txt")  # deleting twice is fine
    assert not store.exists("a/b.txt")
    assert store.describe() == f"local {store.root}"
    assert store.free_bytes() > 0
    with pytest.raises(StorageError, match="invalid storage key"):
        store.presigned_url("../outside")


def test_get_storage_keeps_the_folder_call_and_follows_settings(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, media_root=tmp_path / "m")
    by_root = get_storage(settings.media_root)
    assert isinstance(by_root, LocalStorage) and by_root.root == settings.media_root
    by_settings = get_storage(settings)
    assert isinstance(by_settings, LocalStorage) and by_settings.root == settings.media_root
    assert isinstance(storage_from_settings(settings), LocalStorage)


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a/", "./a", "a/./b"])
def test_keys_that_could_leave_or_alias_the_store_are_rejected(store: LocalStorage, key: str) -> None:
    with pytest.raises(StorageError, match="invalid storage key"):
        store.local_path(key)
