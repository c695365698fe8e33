"""Judges: one protocol, interchangeable implementations chosen by name."""

from .base import Judge, JudgeRequest
from .offline import OfflineJudge

__all__ = ["Judge", "JudgeRequest", "OfflineJudge"]
