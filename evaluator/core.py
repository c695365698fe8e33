"""The pipeline: match -> judge -> score -> Evaluation."""

from __future__ import annotations

import copy
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from evaluator.bank.feedback import EvaluationRecord, evaluation_id, save_record
from evaluator.bank.loader import QuestionBank
from evaluator.bank.user import ORIGIN_DRAFTED, ORIGIN_GIVEN, adhoc_question, with_user_bank
from evaluator.calibration.params import Calibration, anchor_share, load_calibration
from evaluator.calibration.user import load_user_calibration
from evaluator.config import MAX_ANSWER_CHARS, default_bank_dir, home_dir
from evaluator.encoders.embedder import Embedder
from evaluator.encoders.multilingual import MultilingualEmbedder
from evaluator.errors import InputError
from evaluator.judges import Judge, JudgeRequest, OfflineJudge
from evaluator.judges.verify import criteria_problems, verify_evidence
from evaluator.matching.index import BankIndex, load_or_build, reference_similarity
from evaluator.matching.question_match import QuestionIndex, load_question_index
from evaluator.matching.question_text import focus
from evaluator.models import (
    Candidate,
    CriterionResult,
    Evaluation,
    JudgeVerdict,
    Level,
    Match,
    Question,
    ScoreParts,
    Usage,
)
from evaluator.scoring import band, blend, error_penalty, rubric_score, similarity_score

if TYPE_CHECKING:
    from evaluator.judges.openai_judge import JudgeOptions
    from evaluator.judges.question_picker import QuestionPicker
    from evaluator.models import TranscriptReport
    from evaluator.transcripts.batch import BatchObserver

TOP_K = 5
# Candidates within this score of a question's top one are "close": the answer may choose among them.
SIBLING_WINDOW = 0.06
SIBLINGS_MAX = 3
MAX_SAMPLE_THREADS = 8
MAX_CHILDREN = 8  # evaluators kept for questions outside the bank (each holds an index)


@runtime_checkable
class SamplingJudge(Protocol):
    """A judge whose repeated judgments differ (an LLM): sample i has its own seed and cache entry."""

    def judge_sample(self, request: JudgeRequest, sample: int) -> JudgeVerdict: ...


class Evaluator:
    """Grades answers against a question bank. `Evaluator()` uses the bundled bank offline."""

    def __init__(
        self,
        bank: QuestionBank | Path | str | None = None,
        judge: Judge | str | None = None,
        embedder: Embedder | None = None,
        calibration: Calibration | None = None,
        home: Path | None = None,
        judge_options: JudgeOptions | None = None,
        samples: int = 1,
        user_bank: Path | str | None = None,
    ):
        if samples < 1:
            raise InputError(f"samples must be at least 1, not {samples}")
        self.home = home or home_dir()
        # A bank loaded from a directory (the bundled one by default) is extended by the user's bank;
        # a bank object given whole (an imported benchmark bank) only when a user bank is named.
        self.user_bank: Path | None = (
            Path(user_bank) if user_bank else None if isinstance(bank, QuestionBank) else self.home / "bank"
        )
        self.base_bank = bank if isinstance(bank, QuestionBank) else QuestionBank.load(Path(bank or default_bank_dir()))
        self.bank = with_user_bank(self.base_bank, self.user_bank) if self.user_bank else self.base_bank
        self.embedder = embedder or Embedder()
        self.calibration = calibration or load_user_calibration(self.user_bank) or load_calibration()
        self._children: dict[str, Evaluator] = {}
        self._index: BankIndex | None = None
        self._judge_spec = judge
        self.judge_options = judge_options
        self.samples = samples
        self._judge: Judge | None = judge if not isinstance(judge, str | None) else None
        self._index_lock = threading.Lock()
        self.question_embedder = MultilingualEmbedder()
        self._question_index: QuestionIndex | None = None
        self._question_lock = threading.Lock()
        self._picker: QuestionPicker | None = None
        self._judge_lock = threading.Lock()  # apart from the index's: building a judge may read the index

    # The index and the judge are built on first use, once: the service's threads and a batch's
    # workers may all ask at the same moment, and a second build would be wasted minutes (and a
    # second judge would keep its own usage count).
    @property
    def index(self) -> BankIndex:
        if self._index is None:
            with self._index_lock:
                if self._index is None:
                    self._index = load_or_build(self.bank, self.embedder, self.home)
        return self._index

    @property
    def question_index(self) -> QuestionIndex:
        if self._question_index is None:
            with self._question_lock:
                if self._question_index is None:
                    self._question_index = load_question_index(self.bank, self.question_embedder, self.home)
        return self._question_index

    @property
    def judge(self) -> Judge:
        if self._judge is None:
            with self._judge_lock:
                if self._judge is None:
                    from evaluator.judges.registry import make_judge

                    spec = self._judge_spec if isinstance(self._judge_spec, str) else None
                    self._judge = make_judge(spec, self.offline_judge, self.judge_options, self.home)
        return self._judge

    def offline_judge(self) -> OfflineJudge:
        return OfflineJudge(self.index, self.calibration.offline)

    # -- matching ---------------------------------------------------------------------------
    def match(self, question: str | None = None, answer: str | None = None, k: int = TOP_K) -> Match:
        """Find the bank question for a question text (preferred) or an answer text."""
        if question is not None and question.strip():
            by: Literal["question", "answer"] = "question"
            text = question.strip()
        elif answer is not None and answer.strip():
            by, text = "answer", answer.strip()
        else:
            raise InputError("match needs a non-empty question or answer")
        if by == "question":
            return self._match_question(text, k)
        p = self.calibration.match
        hits = self.index.search(self.embedder.encode([text])[0], text, by, k, p.answer_lexical)
        candidates = tuple(
            Candidate(id=h.qid, question=self.bank.get(h.qid).question, cosine=round(h.cosine, 4),
                      score=round(h.score, 4))
            for h in hits
        )  # fmt: skip
        top = hits[0].score if hits else 0.0
        margin = top - hits[1].score if len(hits) > 1 else top
        confident = top >= p.answer_min and margin >= p.answer_margin
        return Match(by=by, confident=bool(hits) and confident, candidates=candidates, margin=round(margin, 4))

    def _match_question(self, text: str, k: int) -> Match:
        index = self.question_index
        hits = index.rank(text, self.question_embedder.encode([focus(text)])[0], max(k, 2))
        candidates = tuple(
            Candidate(id=h.qid, question=self.bank.get(h.qid).question, cosine=round(h.cosine, 4),
                      score=round(h.score, 4))
            for h in hits[:k]
        )  # fmt: skip
        margin = hits[0].score - hits[1].score if len(hits) > 1 else hits[0].score if hits else 0.0
        # A question typed exactly as one entry's question or alias needs no estimate.
        exact = index.exact(text)
        confident = index.confident(hits) or (exact is not None and bool(hits) and hits[0].qid == exact)
        return Match(by="question", confident=confident, candidates=candidates, margin=round(margin, 4))

    def match_with_answer(self, question: str, answer: str, k: int = TOP_K) -> Match:
        """The question's match; when the question sits between close entries, the answer decides."""
        qm = self.match(question=question, k=k)
        if not answer.strip():
            return qm
        found = self.resolve_by_answer(qm, answer) or qm
        return found if found.confident else self.pick_with_model(found, question, answer) or found

    def pick_with_model(self, qm: Match, question: str, answer: str) -> Match | None:
        """With an LLM judge, the model picks among a refusal's candidates (cached); None offline, when the
        model names none of them, or when the endpoint gives no usable reply."""
        if not qm.candidates or getattr(self.judge, "name", None) != "openai":
            return None
        from evaluator.judges.question_picker import QuestionPicker

        with self._question_lock:
            if self._picker is None:
                options = self.judge_options
                self._picker = QuestionPicker(
                    self.judge.settings,  # type: ignore[attr-defined]
                    self.home, cache=options is None or options.cache is not False,
                )  # fmt: skip
        chosen = self._picker.pick(question, answer, qm.candidates)
        if chosen is None:
            return None
        first = [c for c in qm.candidates if c.id == chosen]
        rest = [c for c in qm.candidates if c.id != chosen]
        return Match(by="question", confident=True, candidates=(*first, *rest), margin=qm.margin, chosen_by_model=True)

    def resolve_by_answer(self, qm: Match, answer: str, answer_match: Match | None = None) -> Match | None:
        """Among a question's close candidates (siblings such as lora-principle / lora-variants), the one the
        answer is about; None when the question alone decides (no close sibling) or the answer names none of
        them. Only for a question near the bank: one the bank lacks stays unmatched whatever the answer."""
        best = qm.best
        if best is None or best.score < self.question_index.params.min_score:
            return None
        near = [c for c in qm.candidates if best.score - c.score <= SIBLING_WINDOW][:SIBLINGS_MAX]
        if qm.confident and len(near) < 2:
            return None
        am = answer_match or self.match(answer=answer)
        pick = next((c for c in am.candidates[:SIBLINGS_MAX] if c.id in {n.id for n in near}), None)
        if pick is None:
            return None
        if qm.confident and pick.id == best.id:
            return qm
        first = [c for c in qm.candidates if c.id == pick.id]
        rest = [c for c in qm.candidates if c.id != pick.id]
        return Match(
            by="question", confident=True, candidates=(*first, *rest), margin=qm.margin, chosen_by_answer=True,
            siblings=tuple(n.id for n in near if n.id != pick.id),
        )  # fmt: skip

    def pinned(self, question_id: str) -> Match:
        q = self.bank.get(question_id)
        pinned = Candidate(id=q.id, question=q.question, cosine=1.0, score=1.0)
        return Match(by="id", confident=True, candidates=(pinned,))

    # -- evaluation -------------------------------------------------------------------------
    def evaluate(
        self,
        answer: str,
        question: str | None = None,
        question_id: str | None = None,
        include_reference: bool = False,
        reference: str | None = None,
    ) -> Evaluation:
        """Grade `answer`. With `reference`, against that reference (and a rubric derived from it) for
        `question`, which need not be in the bank."""
        answer = check_answer(answer)
        if reference is not None:
            if not question or not question.strip():
                raise InputError("a reference answer needs the question it answers (--question)")
            if not reference.strip():
                raise InputError("the reference answer is empty")
            given = adhoc_question(question, reference, self.user_bank or self.home / "bank")
            return self.with_entry(given, ORIGIN_GIVEN).evaluate(answer, question_id=given.id,
                                                                  include_reference=include_reference)  # fmt: skip
        if question_id:
            match = self.pinned(question_id)
        elif question:
            match = self.match_with_answer(question, answer)
        else:
            match = self.match(answer=answer)
        if not match.confident or match.best is None:
            drafted = self.drafted_entry(question) if question else None
            if drafted is not None:
                child = self.with_entry(drafted, ORIGIN_DRAFTED)
                return child.evaluate(answer, question_id=drafted.id, include_reference=include_reference)
            return unmatched(match, self.judge.name)
        q = self.bank.get(match.best.id)
        request = JudgeRequest(question=q, answer=answer)
        judge = self.judge
        if self.samples > 1 and isinstance(judge, SamplingJudge):
            with ThreadPoolExecutor(max_workers=min(self.samples, MAX_SAMPLE_THREADS)) as pool:
                verdicts = list(pool.map(lambda i: judge.judge_sample(request, i), range(self.samples)))
            return median_of_samples([self.score(q, answer, v, match, include_reference) for v in verdicts])
        verdict = judge.judge(request)
        return self.score(q, answer, verdict, match, include_reference)

    def evaluate_transcript(
        self,
        source: str | Path,
        *,
        results: Path | str | None = None,
        resume: bool = False,
        concurrency: int = 4,
        observer: BatchObserver | None = None,
    ) -> TranscriptReport:
        """Grade every (question, answer) turn of a transcript: a file path, '-', or the text itself.

        Each finished turn is appended to `results` (JSONL) when given; `resume` skips the turns already
        there. Turns are judged `concurrency` at a time. See evaluator.transcripts.batch."""
        from evaluator.transcripts.batch import run_transcript

        return run_transcript(self, source, results=results, resume=resume, concurrency=concurrency, observer=observer)

    # -- entries outside the bank, and the user's new grades ------------------------------------
    def with_entry(self, q: Question, origin: str) -> Evaluator:
        """An evaluator whose bank is this one plus `q` (a question given with its reference, or one the
        LLM drafted); kept for the next answer to the same entry."""
        child = self._children.get(q.id)
        if child is not None and child.bank.get(q.id) == q:
            return child
        anchors = {**self.bank.user_anchors, q.id: len(q.rubric.anchors)}
        digest = f"{self.bank.content_hash}+{q.id}+{len(q.rubric.anchors)}"
        bank = QuestionBank([*self.bank, q], digest, self.bank.root, origins={**self.bank.origins, q.id: origin},
                            user_anchors=anchors)  # fmt: skip
        child = Evaluator(bank=bank, judge=self._judge_spec, embedder=self.embedder, calibration=self.calibration,
                          home=self.home, judge_options=self.judge_options, samples=self.samples)  # fmt: skip
        child.user_bank = self.user_bank
        child.question_embedder = self.question_embedder
        if len(self._children) >= MAX_CHILDREN:
            self._children.clear()
        self._children[q.id] = child
        return child

    def drafted_entry(self, question: str) -> Question | None:
        """With an LLM judge, a reference answer and rubric the model drafts for a question the bank
        lacks (cached by question); None offline."""
        if getattr(self.judge, "name", None) != "openai":
            return None
        from evaluator.judges.drafting import draft_question

        return draft_question(self.judge, question, self.home, self.user_bank or self.home / "bank",
                              cache=self.judge_options is None or self.judge_options.cache is not False)  # fmt: skip

    def _twin(self) -> Evaluator:
        """A shallow copy sharing the bank, models, loaded indexes and judge, with its own locks and children."""
        twin = copy.copy(self)
        twin._children = {}
        twin._index_lock, twin._question_lock, twin._judge_lock = threading.Lock(), threading.Lock(), threading.Lock()
        return twin

    def with_judge(self, judge: str) -> Evaluator:
        """A sibling grading with another judge (by name, made on first use as `Evaluator(judge=...)` makes
        it); the bank, the models and the indexes are shared."""
        twin = self._twin()
        twin._judge_spec, twin._judge, twin._picker = judge, None, None
        return twin

    def with_embedder(self, embedder: Embedder) -> Evaluator:
        """A sibling whose answers are embedded by `embedder` (the same model, e.g. `Embedder.scratch()` with a
        batch's texts embedded up front); the bank index, judge and calibration are shared."""
        _ = self.index  # built once with this evaluator's embedder, then shared: the vectors are the same
        twin = self._twin()
        twin.embedder = embedder
        return twin

    def with_calibration(self, calibration: Calibration) -> Evaluator:
        """A sibling graded with other fitted parameters (a refit); a judge made by name is made again,
        since the offline judge reads its thresholds from the calibration."""
        twin = self._twin()
        twin.calibration = calibration
        if isinstance(self._judge_spec, str | None):
            twin._judge, twin._picker = None, None
        return twin

    def reloaded(self) -> Evaluator:
        """A fresh evaluator over the same base bank and the user bank as it is now (its new entries and
        grades); the embedding models and calibration are shared."""
        return Evaluator(bank=self.base_bank, judge=self._judge_spec, embedder=self.embedder,
                         calibration=self.calibration, home=self.home, judge_options=self.judge_options,
                         samples=self.samples, user_bank=self.user_bank)  # fmt: skip

    def _stamp(self, result: Evaluation, q: Question, answer: str) -> Evaluation:
        """The evaluation id (a later grade names it) and where the question and its anchors came from."""
        eid = evaluation_id(q.id, answer)
        save_record(self.home, EvaluationRecord(id=eid, question_id=q.id, question=q.question, answer=answer,
                                                score=result.score))  # fmt: skip
        return result.model_copy(update={
            "evaluation_id": eid, "question_source": self.bank.origin(q.id),
            "user_anchors": self.bank.user_anchors.get(q.id, 0),
        })  # fmt: skip

    def score(
        self, q: Question, answer: str, verdict: JudgeVerdict, match: Match, include_reference: bool = False
    ) -> Evaluation:
        """Verify the verdict and turn it into the public result (pure apart from one embedding)."""
        return self._stamp(self._score(q, answer, verdict, match, include_reference), q, answer)

    def _score(
        self, q: Question, answer: str, verdict: JudgeVerdict, match: Match, include_reference: bool = False
    ) -> Evaluation:
        judge_name = verdict.judge or self.judge.name
        reference = q.reference if include_reference else None
        problems = criteria_problems(verdict, q.rubric)
        reason = verdict.unscored_reason or ("; ".join(problems) if problems else None)
        if reason:
            return Evaluation(
                score=None, band=band(None), question_id=q.id, question=q.question, topic=q.topic, match=match,
                judge=judge_name, parts=None, criteria=(), errors=tuple(verdict.errors), missing=(),
                feedback=verdict.feedback, reference=reference, unscored_reason=reason,
                auto_rubric=q.rubric.auto_derived, judge_meta=verdict.meta,
            )  # fmt: skip
        verdict = verify_evidence(verdict, answer)
        by_id = {v.criterion_id: v for v in verdict.criteria}
        criteria = tuple(
            CriterionResult(
                id=c.id, description=c.description, weight=c.weight, level=by_id[c.id].level,
                evidence=by_id[c.id].evidence, comment=by_id[c.id].comment,
                evidence_verified=by_id[c.id].evidence_verified, wrong_claim=by_id[c.id].wrong_claim,
                similarity=by_id[c.id].similarity, baseline=by_id[c.id].baseline,
            )
            for c in q.rubric.criteria
        )  # fmt: skip
        cal = self.calibration
        cosine, lexical = reference_similarity(self.index, q, answer)
        rubric = rubric_score([(c.weight, c.level) for c in criteria])
        similarity = similarity_score(cosine, cal.lo, cal.hi, lexical, cal.similarity_lexical)
        anchor_w = anchor_share(cal, answer, verdict.anchor_estimate is not None)
        penalty = error_penalty(len(verdict.errors), cal.error_penalty)
        final = blend(rubric, similarity, cal.alpha, verdict.anchor_estimate, anchor_w, penalty)
        parts = ScoreParts(
            rubric=round(rubric, 1), similarity=round(similarity, 1), cosine=round(cosine, 4),
            lexical=round(lexical, 4), lexical_weight=cal.similarity_lexical, alpha=cal.alpha,
            lo=cal.lo, hi=cal.hi, error_penalty=penalty,
            anchor=None if verdict.anchor_estimate is None else round(verdict.anchor_estimate, 1),
            anchor_weight=anchor_w,
        )  # fmt: skip
        return Evaluation(
            score=round(final, 1), band=band(final), question_id=q.id, question=q.question, topic=q.topic,
            match=match, judge=judge_name, parts=parts, criteria=criteria, errors=tuple(verdict.errors),
            missing=tuple(c.description for c in criteria if c.level is Level.missing),
            feedback=verdict.feedback, reference=reference, auto_rubric=q.rubric.auto_derived,
            judge_meta=verdict.meta,
        )  # fmt: skip


def median_of_samples(runs: list[Evaluation]) -> Evaluation:
    """The median-scored run of N judgments (the lower middle for even N, so its parts match its score),
    with the spread (max - min) and the summed usage recorded in its judge_meta. Unscored runs are
    left out of the median; if all are unscored, the last one is returned."""
    scored = sorted((e for e in runs if e.score is not None), key=lambda e: e.score or 0.0)
    base = scored[(len(scored) - 1) // 2] if scored else runs[-1]
    usage = Usage(
        input_tokens=sum(e.judge_meta.usage.input_tokens for e in runs),
        output_tokens=sum(e.judge_meta.usage.output_tokens for e in runs),
        calls=sum(e.judge_meta.usage.calls for e in runs),
    )
    meta = base.judge_meta.model_copy(
        update={
            "samples": len(scored) or len(runs),
            "score_spread": round((scored[-1].score or 0.0) - (scored[0].score or 0.0), 1) if scored else None,
            "usage": usage,
            "attempts": sum(e.judge_meta.attempts for e in runs),
            "cached": all(e.judge_meta.cached for e in runs),
        }
    )
    return base.model_copy(update={"judge_meta": meta})


def check_answer(answer: str) -> str:
    if not answer or not answer.strip():
        raise InputError("the answer is empty")
    if len(answer) > MAX_ANSWER_CHARS:
        raise InputError(f"the answer has {len(answer)} characters; the limit is {MAX_ANSWER_CHARS}")
    return answer.strip()


def unmatched(match: Match, judge: str) -> Evaluation:
    return Evaluation(
        score=None, band="unmatched", question_id=None, question=None, topic=None, match=match, judge=judge,
        parts=None, criteria=(), errors=(), missing=(), feedback="", unscored_reason="no confident match",
    )  # fmt: skip
