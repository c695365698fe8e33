"""One exception tree for the library; the CLI maps each class to an exit code."""

from __future__ import annotations


class EvaluatorError(Exception):
    """Base class of every error the library raises on purpose."""

    exit_code = 1


class InputError(EvaluatorError):
    """The user's input (answer file, transcript, option) cannot be used."""

    exit_code = 2


class BankError(EvaluatorError):
    """A question-bank file is missing, malformed or inconsistent."""

    exit_code = 4

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or [message]

    @classmethod
    def from_problems(cls, problems: list[str]) -> BankError:
        more = f" (and {len(problems) - 1} more problems; run `evaluate bank check`)" if len(problems) > 1 else ""
        return cls(problems[0] + more, problems)


class NoConfidentMatch(EvaluatorError):
    """The answer or question matched no bank entry confidently enough to grade it."""

    exit_code = 3


class ConfigError(EvaluatorError):
    """A setting from the environment or the command line is invalid."""

    exit_code = 2


class EmbeddingError(EvaluatorError):
    """The embedding model could not be loaded."""

    exit_code = 5


class JudgeError(EvaluatorError):
    """The judge could not produce a verdict (after retries, where they apply)."""

    exit_code = 6
