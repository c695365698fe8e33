"""One exception tree for the package. Each class carries what the edges need: the CLI's exit code
(`exit_code`), the service's HTTP status (`http_status`) and the error `kind` in the API's
`{"error": {"type": ...}}`. The CLI and the service read these attributes; neither keeps a table."""

from __future__ import annotations

from typing import Any, ClassVar


class EvaluatorError(Exception):
    """Base class of every error the package raises on purpose."""

    exit_code: ClassVar[int] = 1
    http_status: ClassVar[int] = 500
    kind: ClassVar[str] = "evaluator_error"

    def details(self) -> dict[str, Any]:
        """Fields the API adds to the error object besides `type` and `message`."""
        return {}


class InputError(EvaluatorError):
    """The user's input (answer file, transcript, option, request field) cannot be used."""

    exit_code = 2
    http_status = 400
    kind = "invalid_input"


class UnknownQuestion(InputError):
    """A question id (`--question-id`, `question_id`, a transcript's pinned id) that the bank lacks."""

    http_status = 404
    kind = "unknown_question"


class UnknownTopic(InputError):
    """A topic no bank question has."""

    kind = "unknown_topic"


class UnknownEvaluation(InputError):
    """An evaluation id that no answer graded here has."""

    http_status = 404
    kind = "unknown_evaluation"


class UnknownJob(InputError):
    """A transcript job id the service does not keep (never submitted, or evicted)."""

    http_status = 404
    kind = "unknown_job"


class TooManyJobs(EvaluatorError):
    """The service already has its limit of queued or running transcript jobs."""

    http_status = 429
    kind = "too_many_jobs"


class BankError(EvaluatorError):
    """A question-bank file is missing, malformed or inconsistent."""

    exit_code = 4
    kind = "bank_error"

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or [message]

    @classmethod
    def from_problems(cls, problems: list[str]) -> BankError:
        more = f" (and {len(problems) - 1} more problems; run `evaluate bank check`)" if len(problems) > 1 else ""
        return cls(problems[0] + more, problems)


class NoConfidentMatch(EvaluatorError):
    """The answer or question matched no bank entry confidently enough to grade it; `candidates` are the
    closest entries (as the API sends them), to pick one by id."""

    exit_code = 3
    http_status = 422
    kind = "no_confident_match"

    def __init__(self, message: str, candidates: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.candidates = candidates or []

    def details(self) -> dict[str, Any]:
        return {"candidates": self.candidates}


class ConfigError(EvaluatorError):
    """A setting from the environment or the command line is invalid."""

    exit_code = 2
    kind = "config_error"


class JudgeUnavailable(ConfigError):
    """The judge asked for cannot run here (unknown name, no endpoint configured, missing package)."""

    http_status = 400
    kind = "judge_unavailable"


class EmbeddingError(EvaluatorError):
    """The embedding model, or what the offline judge reads text with (claim verifier, glossary), could not
    be loaded."""

    exit_code = 5
    http_status = 503
    kind = "embedding_unavailable"


class ExportError(EmbeddingError):
    """An ONNX export could not be made, or disagrees with the model it was made from."""

    kind = "export_error"


class JudgeError(EvaluatorError):
    """The judge could not produce a verdict (after retries, where they apply)."""

    exit_code = 6
    http_status = 502
    kind = "judge_error"
