"""Judges: one protocol, interchangeable implementations chosen by name."""

from evaluator.judges.base import Judge, JudgeRequest
from evaluator.judges.offline import OfflineJudge

__all__ = ["Judge", "JudgeRequest", "OfflineJudge"]
