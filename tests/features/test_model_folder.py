"""Model folder fingerprints: the same digest from the cache, a new one after any write."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from storysplit.features.model_folder import model_fingerprint
from storysplit.features.static_encoder import StaticEncoder, _mapped_embedding

E5_STATIC = Path("models/encoders/e5-static")


def _uncached_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def test_the_cached_fingerprint_is_the_hash_and_follows_every_write(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("STORYSPLIT_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "a.json").write_text('{"x": 1}')
    (folder / "sub").mkdir()
    (folder / "sub" / "w.bin").write_bytes(b"\x00" * 100)
    first = model_fingerprint(str(folder))
    assert first == _uncached_digest(folder)
    assert list((tmp_path / "cache" / "fingerprints").iterdir())
    assert model_fingerprint(str(folder)) == first  # from the cache
    stat = os.stat(folder / "sub" / "w.bin")
    (folder / "sub" / "w.bin").write_bytes(b"\x01" * 100)  # same size, same modification time
    os.utime(folder / "sub" / "w.bin", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert model_fingerprint(str(folder)) == _uncached_digest(folder) != first


def test_a_cache_folder_that_cannot_be_written_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("STORYSPLIT_CACHE", str(blocker))
    assert model_fingerprint(str(E5_STATIC)) == _uncached_digest(E5_STATIC)


def test_the_mapped_embedding_is_the_stored_matrix() -> None:
    (stored,) = load_file(str(E5_STATIC / "model.safetensors")).values()
    mapped = _mapped_embedding(E5_STATIC / "model.safetensors")
    assert mapped.dtype == stored.dtype and not mapped.flags.writeable
    np.testing.assert_array_equal(mapped, stored)


@pytest.mark.parametrize(
    "content",
    [b"", b"\x05", b"\xff" * 16, (4).to_bytes(8, "little") + b"{}  ", (2).to_bytes(8, "little") + b"{}"],
)
def test_a_damaged_weights_file_is_refused_by_name(tmp_path: Path, content: bytes) -> None:
    folder = tmp_path / "encoder"
    shutil.copytree(E5_STATIC, folder)
    (folder / "model.safetensors").write_bytes(content)
    with pytest.raises(ValueError, match=r"model\.safetensors"):
        StaticEncoder(str(folder))


def test_weights_of_another_shape_or_type_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "encoder"
    shutil.copytree(E5_STATIC, folder)
    weights = str(folder / "model.safetensors")
    save_file({"a": np.zeros((3, 4), np.float16), "b": np.zeros(3, np.float16)}, weights)
    with pytest.raises(ValueError, match="expected one embedding"):
        StaticEncoder(str(folder))
    save_file({"a": np.zeros((3, 4), np.int32)}, weights)
    with pytest.raises(ValueError, match="not a float16 or float32 matrix"):
        StaticEncoder(str(folder))


def test_a_damaged_cache_entry_is_hashed_again(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("STORYSPLIT_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "a.json").write_text('{"x": 1}')
    first = model_fingerprint(str(folder))
    (entry,) = (tmp_path / "cache" / "fingerprints").iterdir()
    entry.write_bytes(b"Z" * 64)  # as long as a digest, not one
    assert model_fingerprint(str(folder)) == first == _uncached_digest(folder)
