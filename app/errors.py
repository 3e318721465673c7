"""The domain error tree. Each error carries its HTTP status and a stable code; the API maps them once."""

from __future__ import annotations

from typing import Any

__all__ = [
    "error_body",
    "AnswerTooLarge",
    "AudioRejected",
    "ConfigurationError",
    "Conflict",
    "DomainError",
    "Forbidden",
    "InterviewFinished",
    "InterviewNotFound",
    "InvalidInput",
    "NotFound",
    "ProviderUnavailable",
    "QuestionNotFound",
    "RateLimited",
    "TurnMismatch",
    "Unauthorized",
]


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> dict[str, object]:
        """Machine-readable fields the error body carries beside code and message."""
        return {}

    def headers(self) -> dict[str, str]:
        """HTTP headers the response carries."""
        return {}

    def body(self) -> dict[str, Any]:
        """The error as every endpoint (and a stream's `error` event) answers it."""
        return error_body(self.code, self.message, **self.details())


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The one error shape every endpoint answers with."""
    return {"error": {"code": code, "message": message, **extra}}


class ConfigurationError(DomainError):
    """A setting names something that does not exist or lacks what it needs; fails at start."""

    status_code = 500
    code = "configuration_error"


class NotFound(DomainError):
    status_code = 404
    code = "not_found"


class QuestionNotFound(NotFound):
    code = "question_not_found"


class InterviewNotFound(NotFound):
    code = "interview_not_found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"


class InterviewFinished(Conflict):
    code = "interview_finished"


class TurnMismatch(Conflict):
    """The answer names a turn that is not the interview's current one (already answered, or ahead)."""

    code = "turn_mismatch"

    def __init__(self, message: str, *, current_turn: int | None) -> None:
        super().__init__(message)
        self.current_turn = current_turn

    def details(self) -> dict[str, object]:
        return {"current_turn": self.current_turn}


class InvalidInput(DomainError):
    status_code = 422
    code = "invalid_input"


class AnswerTooLarge(DomainError):
    status_code = 413
    code = "answer_too_large"


class AudioRejected(DomainError):
    """Unsupported, empty, silent, corrupt, too long or too large audio."""

    status_code = 422
    code = "audio_rejected"

    def __init__(self, message: str, *, status_code: int = 422) -> None:
        super().__init__(message)
        self.status_code = status_code


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"


class ProviderUnavailable(DomainError):
    """A provider (LLM, embedder, speech) failed; callers fall back visibly or fail."""

    status_code = 503
    code = "provider_unavailable"
