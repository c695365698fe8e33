"""How well question matching does on a labelled set of user-typed questions.

A row is {"text", "expected" (bank id or null), "lang"?, "style"?}. The rates are what a user sees:
confidently matched to the right entry, confidently matched to a wrong one, the right entry among
the candidates a refusal shows, and out-of-bank questions matched anyway.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from evaluator.models import Match


@dataclass(frozen=True)
class MatchCase:
    text: str
    expected: str | None
    lang: str = "zh"
    style: str = ""


@dataclass
class MatchOutcome:
    case: MatchCase
    confident: bool
    top: str | None
    shown: tuple[str, ...]

    @property
    def right(self) -> bool:
        return self.confident and self.top == self.case.expected

    @property
    def wrong(self) -> bool:
        return self.confident and self.top != self.case.expected


@dataclass
class MatchReport:
    outcomes: list[MatchOutcome] = field(default_factory=list)

    def subset(self, keep: Callable[[MatchOutcome], bool]) -> list[MatchOutcome]:
        return [o for o in self.outcomes if keep(o)]

    def in_bank(self, lang: str | None = None) -> list[MatchOutcome]:
        return self.subset(lambda o: o.case.expected is not None and (lang is None or _lang(o.case) == lang))

    def out_of_bank(self) -> list[MatchOutcome]:
        return self.subset(lambda o: o.case.expected is None)

    def rates(self) -> dict[str, float]:
        zh, en, ib, oob = self.in_bank("zh"), self.in_bank("en"), self.in_bank(), self.out_of_bank()
        return {
            "zh_confident_right": _share(zh, lambda o: o.right),
            "en_confident_right": _share(en, lambda o: o.right),
            "confident_wrong": _share(ib, lambda o: o.wrong),
            "right_among_shown": _share(ib, lambda o: o.case.expected in o.shown),
            "out_of_bank_confident": _share(oob, lambda o: o.confident),
            "n_zh": float(len(zh)),
            "n_en": float(len(en)),
            "n_out_of_bank": float(len(oob)),
        }


def _lang(case: MatchCase) -> str:
    return "en" if case.lang == "en" else "zh"


def _share(items: list[MatchOutcome], ok: Callable[[MatchOutcome], bool]) -> float:
    return round(sum(ok(o) for o in items) / len(items), 4) if items else 0.0


def load_cases(path: Path) -> list[MatchCase]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            lang = row.get("lang") or _guess_lang(row["text"])
            cases.append(MatchCase(row["text"], row.get("expected"), lang, row.get("style", "")))
    return cases


def _guess_lang(text: str) -> str:
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en"


def measure(match: Callable[[str], Match], cases: Iterable[MatchCase]) -> MatchReport:
    report = MatchReport()
    for case in cases:
        m = match(case.text)
        shown = tuple(c.id for c in m.candidates)
        report.outcomes.append(MatchOutcome(case, m.confident, shown[0] if shown else None, shown))
    return report
