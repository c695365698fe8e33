"""interview-evaluator: grade answers to LLM-engineering interview questions."""

from .bank import QuestionBank
from .core import Evaluator
from .errors import (
    BankError,
    ConfigError,
    EmbeddingError,
    EvaluatorError,
    InputError,
    JudgeError,
    NoConfidentMatch,
)
from .models import Candidate, CriterionResult, Evaluation, JudgeVerdict, Level, Match, Question, Rubric

__all__ = [
    "BankError",
    "Candidate",
    "ConfigError",
    "CriterionResult",
    "EmbeddingError",
    "Evaluation",
    "Evaluator",
    "EvaluatorError",
    "InputError",
    "JudgeError",
    "JudgeVerdict",
    "Level",
    "Match",
    "NoConfidentMatch",
    "Question",
    "QuestionBank",
    "Rubric",
]
__version__ = "0.1.0"
