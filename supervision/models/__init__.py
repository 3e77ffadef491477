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
from supervision.models.notifications import Delivery, Notification, NotificationKind, NotificationSettings
from supervision.models.offline import AnswerEvent, TabletPhoto
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
    "AnswerEvent",
    "BacktestRun",
    "CreditEvent",
    "CreditRating",
    "Delivery",
    "Document",
    "EnterpriseScore",
    "Evaluation",
    "Finding",
    "Inspection",
    "InspectionAnswer",
    "InspectionTask",
    "Notification",
    "NotificationKind",
    "NotificationSettings",
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
    "TabletPhoto",
]
