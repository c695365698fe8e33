"""interview-evaluator: grade answers to LLM-engineering interview questions.

The names below are imported on first use (PEP 562), so `import evaluator.errors` (every CLI run,
`evaluate --help` included) does not load the pipeline, FAISS or the models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names for type checkers, re-exported (`X as X`)
    from .bank import QuestionBank as QuestionBank
    from .core import Evaluator as Evaluator
    from .errors import BankError as BankError
    from .errors import ConfigError as ConfigError
    from .errors import EmbeddingError as EmbeddingError
    from .errors import EvaluatorError as EvaluatorError
    from .errors import InputError as InputError
    from .errors import JudgeError as JudgeError
    from .errors import NoConfidentMatch as NoConfidentMatch
    from .models import Candidate as Candidate
    from .models import CriterionResult as CriterionResult
    from .models import Evaluation as Evaluation
    from .models import JudgeVerdict as JudgeVerdict
    from .models import Level as Level
    from .models import Match as Match
    from .models import Question as Question
    from .models import Rubric as Rubric

_HOME = {
    "QuestionBank": "bank",
    "Evaluator": "core",
    "BankError": "errors",
    "ConfigError": "errors",
    "EmbeddingError": "errors",
    "EvaluatorError": "errors",
    "InputError": "errors",
    "JudgeError": "errors",
    "NoConfidentMatch": "errors",
    "Candidate": "models",
    "CriterionResult": "models",
    "Evaluation": "models",
    "JudgeVerdict": "models",
    "Level": "models",
    "Match": "models",
    "Question": "models",
    "Rubric": "models",
}

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


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'evaluator' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])
