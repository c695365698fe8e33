"""The Judge protocol every judge implements, and what it is given."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from evaluator.models import JudgeVerdict, Question


class JudgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    question: Question
    answer: str


@runtime_checkable
class Judge(Protocol):
    """Grades one answer against its question's rubric."""

    name: str

    def judge(self, request: JudgeRequest) -> JudgeVerdict: ...

    async def ajudge(self, request: JudgeRequest) -> JudgeVerdict: ...
