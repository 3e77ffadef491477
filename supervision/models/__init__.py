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
from supervision.models.scoring import (
    CreditEvent,
    CreditRating,
    EnterpriseScore,
    RiskLevel,
    ScoringPolicy,
)

__all__ = [
    "CreditEvent",
    "CreditRating",
    "Document",
    "EnterpriseScore",
    "Evaluation",
    "Finding",
    "Inspection",
    "InspectionAnswer",
    "InspectionTask",
    "Rectification",
    "RectificationEntry",
    "RectificationOrder",
    "Result",
    "RiskLevel",
    "ScoringPolicy",
    "SelfIdentifiedIssue",
    "SelfInspection",
    "SelfInspectionAnswer",
    "Signature",
]
