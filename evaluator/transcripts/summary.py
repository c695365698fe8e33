"""The summary of a graded transcript: pure functions over turn results."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from evaluator.models import LEVEL_VALUE, Level, StudyItem, TopicScore, TranscriptSummary, TurnResult
from evaluator.scoring import band

STUDY_ITEMS = 3
AREAS = 2


def topic_scores(results: Sequence[TurnResult]) -> list[TopicScore]:
    """Mean score per topic over graded turns, best first (ties: more graded turns first, then name)."""
    by_topic: dict[str, list[float]] = defaultdict(list)
    for r in results:
        ev = r.evaluation
        if r.status == "graded" and ev is not None and ev.score is not None and ev.topic:
            by_topic[ev.topic].append(ev.score)
    scores = [TopicScore(topic=t, score=round(sum(s) / len(s), 1), graded=len(s)) for t, s in by_topic.items()]
    return sorted(scores, key=lambda t: (-t.score, -t.graded, t.topic))


def strongest_weakest(topics: Sequence[TopicScore]) -> tuple[tuple[TopicScore, ...], tuple[TopicScore, ...]]:
    """Up to two best and two worst topics, never the same topic on both sides."""
    if not topics:
        return (), ()
    if len(topics) == 1:
        return (topics[0],), ()
    k = min(AREAS, len(topics) // 2)
    return tuple(topics[:k]), tuple(reversed(topics[-k:]))


def study_next(results: Sequence[TurnResult], limit: int = STUDY_ITEMS) -> list[StudyItem]:
    """The rubric points most worth studying: missing (or partial) criteria of graded turns.

    Points the candidate made a wrong claim about come first; then value = criterion weight × the part
    not covered (missing 1, partial 0.5); ties go to the question answered worst. At most one point
    per question comes first, so the list spans several questions."""
    items: dict[tuple[str, str], StudyItem] = {}
    turn_score: dict[tuple[str, str], float] = {}
    for r in results:
        ev = r.evaluation
        if r.status != "graded" or ev is None or ev.question_id is None or ev.score is None:
            continue
        for c in ev.criteria:
            if c.level is Level.met:
                continue
            key = (ev.question_id, c.id)
            value = c.weight * (1.0 - LEVEL_VALUE[c.level])
            old = items.get(key)
            turns = (*old.turns, r.turn.index) if old else (r.turn.index,)
            claim = c.wrong_claim or (old.wrong_claim if old else "")
            if old is None or value > old.value:
                items[key] = StudyItem(
                    question_id=ev.question_id, question=ev.question or "", topic=ev.topic or "",
                    criterion=c.description, weight=c.weight, level=c.level, value=value, turns=turns,
                    wrong_claim=claim,
                )  # fmt: skip
            else:
                items[key] = old.model_copy(update={"turns": turns, "wrong_claim": claim})
            turn_score[key] = min(turn_score.get(key, 100.0), ev.score)
    # A misconception the candidate asserted comes first: it voids the point and costs points of its own.
    ranked = sorted(
        items, key=lambda k: (not items[k].wrong_claim, -items[k].value, turn_score[k], -items[k].weight, k)
    )
    chosen: list[tuple[str, str]] = []
    for k in ranked:  # one per question first
        if len(chosen) < limit and all(k[0] != c[0] for c in chosen):
            chosen.append(k)
    for k in ranked:
        if len(chosen) < limit and k not in chosen:
            chosen.append(k)
    chosen.sort(key=ranked.index)
    return [items[k] for k in chosen]


def summarize(results: Sequence[TurnResult], total: int | None = None) -> TranscriptSummary:
    """Overall = mean of the graded turns' scores (so each topic weighs by its number of graded turns)."""
    graded = [
        r.evaluation.score for r in results if r.status == "graded" and r.evaluation and r.evaluation.score is not None
    ]
    overall = round(sum(graded) / len(graded), 1) if graded else None
    topics = topic_scores(results)
    strongest, weakest = strongest_weakest(topics)
    count = {s: sum(r.status == s for r in results) for s in ("unmatched", "unscored", "unanswered", "failed")}
    total = len(results) if total is None else total
    return TranscriptSummary(
        overall=overall, band=band(overall), total=total, graded=len(graded), pending=max(0, total - len(results)),
        topics=tuple(topics), strongest=strongest, weakest=weakest, study_next=tuple(study_next(results)), **count,
    )  # fmt: skip
