"""Supervision's models: the loop (self-inspection, tasks, inspections, orders) and scoring."""

from supervision.models.loop import (
    Document,
    Evaluation,
    Finding,
    Inspection,
    InspectionAnswer,
    InspectionTask,
    Rectification,
    RectificationEntry,
    RectificationOrder,
    Result,
    SelfIdentifiedIssue,
    SelfInspection,
    SelfInspectionAnswer,
    Signature,
)
from supervision.models.publication import Objection
from supervision.models.scoring import (
    BacktestRun,
    CreditEvent,
    CreditRating,
    EnterpriseScore,
    RiskLevel,
    ScoreRun,
    ScoringPolicy,
)

__all__ = [
    "BacktestRun",
    "CreditEvent",
    "CreditRating",
    "Document",
    "EnterpriseScore",
    "Evaluation",
    "Finding",
    "Inspection",
    "InspectionAnswer",
    "InspectionTask",
    "Objection",
    "Rectification",
    "RectificationEntry",
    "RectificationOrder",
    "Result",
    "RiskLevel",
    "ScoreRun",
    "ScoringPolicy",
    "SelfIdentifiedIssue",
    "SelfInspection",
    "SelfInspectionAnswer",
    "Signature",
]
