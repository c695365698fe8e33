"""Pydantic models at every boundary: bank files, judge verdicts, public results."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

TOPICS: tuple[str, ...] = (
    "fundamentals",
    "attention",
    "architecture",
    "positional-encoding",
    "tokenization",
    "model-families",
    "moe",
    "long-context",
    "multimodal",
    "pretraining",
    "training-efficiency",
    "distributed",
    "fine-tuning",
    "peft",
    "inference",
    "quantization-compression",
    "decoding",
    "deployment",
    "alignment",
    "reinforcement-learning",
    "reasoning",
    "hallucination",
    "rag",
    "agents",
    "prompting",
    "evaluation",
    "safety",
    "system-design",
    "coding",
    "open-questions",
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _kebab(value: str) -> str:
    if not KEBAB.match(value):
        raise ValueError(f"{value!r} is not kebab-case ([a-z0-9] words joined by '-')")
    return value


class Criterion(Strict):
    id: str
    weight: int = Field(ge=1, le=5)
    description: str = Field(min_length=4)
    keywords: tuple[str, ...] = ()

    _id = field_validator("id")(_kebab)

    @field_validator("keywords", mode="before")
    @classmethod
    def _numbers_are_keywords_too(cls, value: object) -> object:
        # YAML reads `[BF16, 8]` as a string and an int; both are meant as text.
        if isinstance(value, list | tuple):
            return [str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in value]
        return value


class Anchor(Strict):
    score: int = Field(ge=0, le=100)
    answer: str = Field(min_length=1)


class Rubric(Strict):
    id: str
    criteria: tuple[Criterion, ...] = Field(min_length=1)
    common_errors: tuple[str, ...] = ()
    anchors: tuple[Anchor, ...] = ()
    auto_derived: bool = False

    _id = field_validator("id")(_kebab)

    @model_validator(mode="after")
    def _unique_criteria(self) -> Rubric:
        seen: set[str] = set()
        for c in self.criteria:
            if c.id in seen:
                raise ValueError(f"criterion id {c.id!r} appears twice")
            seen.add(c.id)
        return self

    @property
    def total_weight(self) -> int:
        return sum(c.weight for c in self.criteria)


class QuestionMeta(Strict):
    """The YAML front matter of a reference-answer file."""

    id: str
    question: str = Field(min_length=2)
    aliases: tuple[str, ...] = ()
    topic: str
    difficulty: int = Field(default=2, ge=1, le=3)
    sources: tuple[str, ...] = ()

    _id = field_validator("id")(_kebab)

    @field_validator("topic")
    @classmethod
    def _known_topic(cls, value: str) -> str:
        if value not in TOPICS:
            raise ValueError(f"unknown topic {value!r}; one of: {', '.join(TOPICS)}")
        return value


class Question(Strict):
    """A bank entry: the question, its reference answer and its rubric."""

    id: str
    question: str
    aliases: tuple[str, ...] = ()
    topic: str
    difficulty: int = 2
    sources: tuple[str, ...] = ()
    reference: str
    rubric: Rubric

    @property
    def phrasings(self) -> tuple[str, ...]:
        return (self.question, *self.aliases)


class Candidate(Strict):
    id: str
    question: str
    cosine: float = Field(description="embedding cosine of the best-matching bank text")
    score: float = Field(description="match score: cosine + weighted char n-gram similarity")


class Match(Strict):
    """Which bank question an answer (or a question text) belongs to."""

    by: Literal["question", "answer", "id"]
    confident: bool
    candidates: tuple[Candidate, ...]
    margin: float = 0.0
    chosen_by_answer: bool = Field(default=False, description="the question was near several entries; the answer chose")
    siblings: tuple[str, ...] = Field(default=(), description="close entries the answer ruled out")
    chosen_by_model: bool = Field(default=False, description="the LLM judge's model picked it among the candidates")

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


class Level(StrEnum):
    met = "met"
    partial = "partial"
    missing = "missing"


LEVEL_VALUE: dict[Level, float] = {Level.met: 1.0, Level.partial: 0.5, Level.missing: 0.0}


class CriterionVerdict(BaseModel):
    """The judge's verdict on one rubric criterion."""

    model_config = ConfigDict(extra="forbid")

    criterion_id: str
    level: Level
    evidence: str = Field(default="", description="verbatim quote from the answer, or empty")
    comment: str = ""
    evidence_verified: bool = True
    wrong_claim: str = Field(default="", description="a wrong claim the answer makes about this point, if any")
    similarity: float | None = Field(default=None, description="offline judge: best cosine of a clause to the point")
    baseline: float | None = Field(default=None, description="offline judge: the answer's cosine baseline")


class Usage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input_tokens: int = 0
    output_tokens: int = 0
    calls: int = 0


class JudgeMeta(BaseModel):
    """Provenance of a verdict: which model and prompt produced it, at what cost."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = None
    base_url: str | None = None
    prompt_version: str | None = None
    cached: bool = False
    attempts: int = 0
    usage: Usage = Field(default_factory=Usage)
    samples: int = 1
    score_spread: float | None = Field(default=None, description="max - min final score over samples")


class JudgeVerdict(BaseModel):
    """What a judge returns for one answer. Feedback first: the LLM reasons before it grades."""

    model_config = ConfigDict(extra="forbid")

    feedback: str = ""
    criteria: list[CriterionVerdict]
    errors: list[str] = Field(default_factory=list, description="wrong claims made in the answer")
    anchor_estimate: float | None = Field(
        default=None, description="grade estimated from the graded anchors, 0-100, when used"
    )
    judge: str = ""
    unscored_reason: str | None = None
    meta: JudgeMeta = Field(default_factory=JudgeMeta)


class ScoreParts(Strict):
    rubric: float
    similarity: float
    cosine: float
    lexical: float = 0.0
    lexical_weight: float = 0.0
    alpha: float
    lo: float
    hi: float
    error_penalty: float
    anchor: float | None = None
    anchor_weight: float = 0.0


class CriterionResult(Strict):
    id: str
    description: str
    weight: int
    level: Level
    evidence: str
    comment: str
    evidence_verified: bool = True
    wrong_claim: str = ""
    similarity: float | None = None
    baseline: float | None = None


class Evaluation(Strict):
    """The public result of grading one answer."""

    score: float | None
    band: str
    question_id: str | None
    question: str | None
    topic: str | None
    match: Match
    judge: str
    parts: ScoreParts | None
    criteria: tuple[CriterionResult, ...]
    errors: tuple[str, ...]
    missing: tuple[str, ...]
    feedback: str
    reference: str | None = None
    unscored_reason: str | None = None
    auto_rubric: bool = False
    judge_meta: JudgeMeta = Field(default_factory=JudgeMeta)
    evaluation_id: str | None = Field(default=None, description="give this answer a grade of your own by this id")
    question_source: str = Field(
        default="bundled", description="bundled | user | user-override | given (reference given) | drafted (by the LLM)"
    )
    user_anchors: int = Field(default=0, description="the interviewer's own graded answers among the anchors used")
    schema_version: int = 1


# -- transcripts (batch scoring of a mock interview) ---------------------------------------------


class TranscriptTurn(Strict):
    """One (question, answer) exchange parsed from a transcript. `answer` is empty when unanswered."""

    index: int = Field(ge=1, description="1-based position in the transcript")
    question: str
    answer: str = ""
    line: int | None = Field(default=None, description="line of the question in the source file")
    follow_up_of: int | None = Field(default=None, description="index of the turn this one follows up")
    question_id: str | None = Field(default=None, description="bank id pinned by the input (JSON)")


TurnStatus = Literal["graded", "unscored", "unmatched", "unanswered", "failed"]


class ResultBasis(Strict):
    """Everything besides the turn's text that decides its result: a stored result is reused only
    while all of it is unchanged (`bank` hashes every entry's files, so an edited entry changes it; so
    does any other entry, because matching and the offline judge read the whole bank)."""

    judge: str
    model: str | None = Field(default=None, description="the LLM judge's model")
    endpoint: str | None = Field(default=None, description="the LLM judge's base URL (no credentials)")
    prompt_version: str | None = None
    sampling: str | None = Field(default=None, description="temperature, seed and token limit, as JSON")
    samples: int = 1
    calibration: str = Field(description="the calibration's version + a hash of its parameters")
    bank: str = Field(description="content hash of the bank")
    embedding: str = Field(description="the embedding model (matching, similarity, the offline judge)")


class TurnResult(Strict):
    """What happened to one turn: graded, or why not. One line of the results JSONL file."""

    key: str = Field(description="hash of the turn's text and its basis; --resume reuses finished results by key")
    basis: ResultBasis | None = Field(default=None, description="what the result was decided with")
    turn: TranscriptTurn
    status: TurnStatus
    evaluation: Evaluation | None = None
    candidates: tuple[Candidate, ...] = Field(default=(), description="closest bank questions when unmatched")
    not_a_question: bool = Field(default=False, description="unmatched because the turn is small talk, not a question")
    matched_by: str | None = Field(
        default=None, description="question | question+answer | question+model | answer | id"
    )
    error: str | None = None
    seconds: float = 0.0

    @property
    def finished(self) -> bool:
        """Failed turns are retried by --resume; everything else is final."""
        return self.status != "failed"


class TopicScore(Strict):
    topic: str
    score: float
    graded: int


class StudyItem(Strict):
    """A rubric point the candidate missed (or half-covered), ranked by what it is worth."""

    question_id: str
    question: str
    topic: str
    criterion: str
    weight: int
    level: Level
    value: float = Field(description="weight × the part not covered (missing 1, partial 0.5)")
    turns: tuple[int, ...]
    wrong_claim: str = Field(default="", description="a wrong claim asserted about this point: correct it first")


class TranscriptSummary(Strict):
    overall: float | None = Field(description="mean score of the graded turns (each graded turn counts once)")
    band: str
    total: int
    graded: int
    unmatched: int
    unscored: int
    unanswered: int
    failed: int
    pending: int = Field(default=0, description="turns not run (the batch was interrupted)")
    topics: tuple[TopicScore, ...] = ()
    strongest: tuple[TopicScore, ...] = ()
    weakest: tuple[TopicScore, ...] = ()
    study_next: tuple[StudyItem, ...] = ()


class TranscriptReport(Strict):
    """The public result of grading a whole transcript."""

    source: str
    judge: str
    complete: bool = Field(description="false when the batch was interrupted before every turn ran")
    results_path: str | None = None
    turns: tuple[TurnResult, ...]
    summary: TranscriptSummary
    seconds: float = 0.0
    reused: int = Field(default=0, description="turns whose stored results were reused (resume)")
    regraded: int = Field(
        default=0, description="turns graded again because their stored result no longer matched (resume)"
    )
    regraded_because: tuple[str, ...] = Field(default=(), description="what had changed, e.g. model a -> b")
    schema_version: int = 1
