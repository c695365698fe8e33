"""interview-evaluator: grade answers to LLM-engineering interview questions.

One answer's path through the package:

- `core.py` — the pipeline: `Evaluator.evaluate` runs the steps below and returns an `Evaluation`;
- `bank/` — the question bank (reference answers, rubrics, anchors), its checks, the user's own entries;
- `encoders/` — the sentence embedder (ONNX fast path) and the shipped vector stores;
- `matching/` — which bank question the answer or a typed question is about (FAISS, TF-IDF, confidence);
- `judges/` — the rubric verdict: the offline judge with its claim verifier, the LLM judge, their cache;
- `scoring.py` — the score formula (pure): rubric, similarity and anchor parts into one 0–100 score;
- `reports/` — terminal, JSON, Markdown and HTML renderings of a result;

and around it: `transcripts/` (a mock interview graded as a batch), `service/` (the HTTP API and the
practice page), `calibration/` (the fitted parameters, fitting them on graded answers, agreement with
human grades); `models.py`, `errors.py`, `settings.py` and `config.py` are shared by all.

The names below are imported on first use (PEP 562), so `import evaluator.errors` (every CLI run,
`evaluate --help` included) does not load the pipeline, FAISS or the models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names for type checkers, re-exported (`X as X`)
    from evaluator.bank.loader import QuestionBank as QuestionBank
    from evaluator.core import Evaluator as Evaluator
    from evaluator.errors import BankError as BankError
    from evaluator.errors import ConfigError as ConfigError
    from evaluator.errors import EmbeddingError as EmbeddingError
    from evaluator.errors import EvaluatorError as EvaluatorError
    from evaluator.errors import InputError as InputError
    from evaluator.errors import JudgeError as JudgeError
    from evaluator.errors import NoConfidentMatch as NoConfidentMatch
    from evaluator.models import Candidate as Candidate
    from evaluator.models import CriterionResult as CriterionResult
    from evaluator.models import Evaluation as Evaluation
    from evaluator.models import JudgeVerdict as JudgeVerdict
    from evaluator.models import Level as Level
    from evaluator.models import Match as Match
    from evaluator.models import Question as Question
    from evaluator.models import Rubric as Rubric

_HOME = {
    "QuestionBank": "bank.loader",
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
