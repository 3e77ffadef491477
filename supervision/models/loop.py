"""The loop: self-inspection, tasks, inspections, findings, rectification orders, evaluations."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from checklists.models import Checklist, ChecklistItem
from core.models import Enterprise, Photo


class Result(models.TextChoices):
    COMPLIANT = "compliant", _("compliant")
    NON_COMPLIANT = "non_compliant", _("not compliant")
    NOT_APPLICABLE = "not_applicable", _("not applicable")


class SelfInspection(models.Model):
    """A business answering its scene's merged checklist, at the versions current when it started."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted")

    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="self_inspections")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    checklists = models.ManyToManyField(Checklist, related_name="+", verbose_name=_("checklist versions"))
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    # SHA-256 of the submitted content (answers, notes, photo hashes), also in the audit chain.
    content_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("self-inspection")
        verbose_name_plural = _("self-inspections")
        constraints = [
            # Save and come back: one draft at a time, found again on return.
            models.UniqueConstraint(
                fields=["enterprise"], condition=Q(status="draft"), name="self_inspection_one_draft"
            ),
        ]
        indexes = [
            # The entity card: "latest submitted self-inspection of this enterprise".
            models.Index(fields=["enterprise", "status", "-submitted_at"], name="self_inspection_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.enterprise.uscc} self-inspection #{self.pk} ({self.get_status_display()})"


class SelfInspectionAnswer(models.Model):
    self_inspection = models.ForeignKey(SelfInspection, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    result = models.CharField(_("result"), max_length=16, choices=Result.choices)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    photos = models.ManyToManyField(Photo, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("self-inspection answer")
        verbose_name_plural = _("self-inspection answers")
        constraints = [models.UniqueConstraint(fields=["self_inspection", "item"], name="self_answer_unique")]

    def __str__(self) -> str:
        return f"{self.item.code}: {self.result}"


class SelfIdentifiedIssue(models.Model):
    """A non-compliant self-inspection answer the business fixes on its own, with evidence."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        FIXED = "fixed", _("fixed")

    answer = models.OneToOneField(SelfInspectionAnswer, on_delete=models.CASCADE, related_name="issue")
    enterprise = models.ForeignKey(Enterprise, on_delete=models.CASCADE, related_name="self_issues")
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    fixed_at = models.DateTimeField(null=True, blank=True)
    fixed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fix_note = models.TextField(_("what was done"), max_length=2000, blank=True)
    evidence = models.ManyToManyField(Photo, blank=True, related_name="+")

    class Meta:
        verbose_name = _("self-identified issue")
        verbose_name_plural = _("self-identified issues")
        indexes = [models.Index(fields=["enterprise", "status"], name="self_issue_open")]

    def __str__(self) -> str:
        return f"{self.enterprise.uscc} {self.answer.item.code} ({self.get_status_display()})"


# --- inspections and the closed loop ---------------------------------------------------------------
# Every transition of these rows lives in supervision/inspections/services/.


class InspectionTask(models.Model):
    """A planned visit to one enterprise by at least two inspectors (enforcement needs two officers)."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("manual")
        RISK = "risk", _("risk")
        RANDOM = "random", _("random draw")
        COMPLAINT = "complaint", _("complaint")
        JOINT = "joint", _("joint")
        REINSPECTION = "reinspection", _("re-inspection")

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        IN_PROGRESS = "in_progress", _("in progress")
        DONE = "done", _("done")
        CANCELLED = "cancelled", _("cancelled")

    enterprise = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="tasks")
    # The lead department. A joint task (进一次门、查多项事) lists every department whose items are
    # checked in ``departments`` (the lead included); a single-department task leaves it empty.
    department = models.ForeignKey("core.Department", on_delete=models.PROTECT, related_name="tasks")
    departments = models.ManyToManyField(
        "core.Department", blank=True, related_name="joint_tasks", verbose_name=_("joint departments")
    )
    # The complaint this task checks (source "complaint"); its inspection verifies or clears it.
    complaint = models.ForeignKey(
        "core.Complaint", null=True, blank=True, on_delete=models.PROTECT, related_name="tasks"
    )
    source = models.CharField(_("source"), max_length=14, choices=Source.choices, default=Source.MANUAL)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PLANNED)
    due_from = models.DateField(_("due from"))
    due_to = models.DateField(_("due by"))
    inspectors = models.ManyToManyField("core.Inspector", related_name="tasks", verbose_name=_("inspectors"))
    # What a person wrote. What the system knows of the task's origin is kept as data (the
    # complaint, the order re-inspected, ``origin``) and said in the reader's language by
    # ``origin_text``, never written into the note in the language of whoever planned it.
    note = models.TextField(_("note"), max_length=2000, blank=True)
    origin_order = models.ForeignKey(
        "RectificationOrder",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reinspection_tasks",
    )
    # The plan or draw that planned the task: {"plan": id} or {"draw": id} (planning sits above
    # this table, so the link is by id, not a foreign key).
    origin = models.JSONField(_("origin"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("inspection task")
        verbose_name_plural = _("inspection tasks")
        constraints = [
            models.CheckConstraint(
                condition=Q(due_to__gte=models.F("due_from")), name="task_due_window_ordered"
            ),
        ]
        indexes = [
            # "Today's tasks": open tasks whose window includes today, per inspector (through the M2M).
            models.Index(fields=["status", "due_from", "due_to"], name="task_open_window"),
            models.Index(fields=["enterprise", "status"], name="task_enterprise"),
        ]

    def __str__(self) -> str:
        return f"task #{self.pk} {self.enterprise.uscc} ({self.get_status_display()})"

    def origin_text(self) -> str:
        """Why the task exists, in the active language: the complaint it checks, the order it
        re-inspects, the plan or draw that planned it; "" for a task planned by hand."""
        if self.complaint_id:
            return gettext("Complaint #%(id)d: %(text)s") % {
                "id": self.complaint_id,
                "text": self.complaint.text,
            }
        if self.origin_order_id:
            return gettext("Re-inspection for order %(number)s") % {"number": self.origin_order.number}
        if plan := self.origin.get("plan"):
            return gettext("Risk-driven plan #%(id)d") % {"id": plan}
        if draw := self.origin.get("draw"):
            return gettext("Double-random draw #%(id)d") % {"id": draw}
        return ""


class Inspection(models.Model):
    """The on-site record. Immutable once submitted; its hash is in the audit chain."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("in progress")
        SUBMITTED = "submitted", _("submitted")

    class Conclusion(models.TextChoices):
        PASS = "pass", _("pass")
        RECTIFY = "rectify", _("rectify within a deadline")
        REFER = "refer", _("refer for investigation")

    task = models.OneToOneField(InspectionTask, on_delete=models.PROTECT, related_name="inspection")
    enterprise = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="inspections")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    # The checklist versions snapshotted at start: answers can only be given to their items.
    checklists = models.ManyToManyField(Checklist, related_name="+", verbose_name=_("checklist versions"))
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    note = models.TextField(_("inspector's note"), max_length=4000, blank=True)
    conclusion = models.CharField(_("conclusion"), max_length=10, choices=Conclusion.choices, blank=True)
    rectify_deadline = models.DateTimeField(_("rectify by"), null=True, blank=True)
    representative_name = models.CharField(_("enterprise representative"), max_length=100, blank=True)
    representative_refused = models.BooleanField(_("representative refused to sign"), default=False)
    refusal_note = models.CharField(_("refusal recorded"), max_length=500, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The client's own id for the submission: a retried submit returns the same record.
    submission_id = models.UUIDField(null=True, blank=True, unique=True)
    content_hash = models.CharField(max_length=64, blank=True)
    # A record started on a tablet offline: the tablet's id for it, and when the inspector started
    # and submitted it by the tablet's clock (started_at and submitted_at: when the server got it).
    client_id = models.UUIDField(null=True, blank=True, unique=True)
    device_started_at = models.DateTimeField(_("started at (tablet)"), null=True, blank=True)
    device_submitted_at = models.DateTimeField(_("submitted at (tablet)"), null=True, blank=True)

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        indexes = [
            # Entity card and history: an enterprise's submitted inspections, newest first.
            models.Index(fields=["enterprise", "status", "-submitted_at"], name="inspection_history"),
        ]

    def __str__(self) -> str:
        return f"inspection #{self.pk} {self.enterprise.uscc} ({self.get_status_display()})"


class InspectionAnswer(models.Model):
    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    result = models.CharField(_("result"), max_length=16, choices=Result.choices)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    photos = models.ManyToManyField(Photo, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # When the inspector gave this answer, by their tablet's clock (the server's for an answer given
    # online): an older answer arriving later from another tablet does not replace it (AnswerEvent).
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("inspection answer")
        verbose_name_plural = _("inspection answers")
        constraints = [
            models.UniqueConstraint(fields=["inspection", "item"], name="inspection_answer_unique")
        ]

    def __str__(self) -> str:
        return f"{self.item.code}: {self.result}"


class Signature(models.Model):
    """A signature drawn on the tablet, kept as an image with its hash."""

    class Role(models.TextChoices):
        INSPECTOR = "inspector", _("inspector")
        REPRESENTATIVE = "representative", _("enterprise representative")

    inspection = models.ForeignKey(Inspection, on_delete=models.CASCADE, related_name="signatures")
    role = models.CharField(max_length=16, choices=Role.choices)
    inspector = models.ForeignKey(
        "core.Inspector", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    image = models.FileField(upload_to="signatures/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    signed_at = models.DateTimeField(auto_now_add=True)
    # When it was drawn, by the tablet's clock, for a signature synchronised from a tablet.
    device_signed_at = models.DateTimeField(_("signed at (tablet)"), null=True, blank=True)

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        constraints = [
            models.UniqueConstraint(
                fields=["inspection", "inspector"],
                condition=Q(role="inspector"),
                name="signature_one_per_inspector",
            ),
            models.UniqueConstraint(
                fields=["inspection"], condition=Q(role="representative"), name="signature_one_representative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()} signature on inspection #{self.inspection_id}"


class RectificationOrder(models.Model):
    """责令改正: the findings of one inspection that need rectification, with a deadline.

    Overdue is not a status: an order is overdue at every moment its deadline has passed while
    the business still owes an answer (issued or returned), so no periodic job can lag behind.
    """

    class Status(models.TextChoices):
        ISSUED = "issued", _("issued")
        SUBMITTED = "submitted", _("rectification submitted")
        RETURNED = "returned", _("returned to the business")
        CLOSED = "closed", _("closed")
        ESCALATED = "escalated", _("escalated to a case")

    OPEN = (Status.ISSUED, Status.RETURNED)

    number = models.CharField(_("number"), max_length=32, unique=True)
    enterprise = models.ForeignKey(Enterprise, on_delete=models.PROTECT, related_name="orders")
    inspection = models.OneToOneField(Inspection, on_delete=models.PROTECT, related_name="order")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ISSUED)
    deadline = models.DateTimeField(_("rectify by"))
    issued_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    escalated_at = models.DateTimeField(null=True, blank=True)
    case_note = models.CharField(_("case"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("rectification order")
        verbose_name_plural = _("rectification orders")
        indexes = [
            # The loop monitor and the overdue list: open orders by deadline.
            models.Index(fields=["status", "deadline"], name="order_open_deadline"),
            models.Index(fields=["enterprise", "status"], name="order_enterprise"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_overdue(self) -> bool:
        from django.utils import timezone

        return self.status in self.OPEN and self.deadline < timezone.now()


class Finding(models.Model):
    """A non-compliant item of a submitted inspection."""

    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="findings")
    answer = models.OneToOneField(InspectionAnswer, on_delete=models.PROTECT, related_name="finding")
    item = models.ForeignKey(ChecklistItem, on_delete=models.PROTECT, related_name="+")
    severity = models.CharField(_("severity"), max_length=10)
    order = models.ForeignKey(
        RectificationOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")

    def __str__(self) -> str:
        return f"{self.item.code} ({self.severity})"


class Rectification(models.Model):
    """The business's answer to an order; an inspector accepts or rejects it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting verification")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")

    order = models.ForeignKey(RectificationOrder, on_delete=models.PROTECT, related_name="rectifications")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    note = models.TextField(_("note"), max_length=2000, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.TextField(_("reason"), max_length=2000, blank=True)

    class Meta:
        verbose_name = _("rectification")
        verbose_name_plural = _("rectifications")
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(status="pending"), name="rectification_one_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.number} rectification #{self.pk} ({self.get_status_display()})"


class RectificationEntry(models.Model):
    """What was done about one finding, with photo evidence."""

    rectification = models.ForeignKey(Rectification, on_delete=models.CASCADE, related_name="entries")
    finding = models.ForeignKey(Finding, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("what was done"), max_length=2000)
    photos = models.ManyToManyField(Photo, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rectification", "finding"], name="rectification_entry_unique")
        ]

    def __str__(self) -> str:
        return f"{self.rectification_id}/{self.finding_id}"


class Evaluation(models.Model):
    """一业一评: the business rates an inspection, once."""

    inspection = models.OneToOneField(Inspection, on_delete=models.PROTECT, related_name="evaluation")
    rating = models.PositiveSmallIntegerField(_("rating"))
    comment = models.TextField(_("comment"), max_length=1000, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("evaluation")
        verbose_name_plural = _("evaluations")
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="evaluation_rating_1_to_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.inspection_id}: {self.rating}/5"


class Document(models.Model):
    """A generated PDF, stored once with its SHA-256; /v/<public_id> tells whether a copy matches."""

    class Kind(models.TextChoices):
        INSPECTION_RECORD = "inspection_record", _("on-site inspection record")
        RECTIFICATION_ORDER = "rectification_order", _("rectification order")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    public_id = models.CharField(max_length=32, unique=True)
    inspection = models.ForeignKey(Inspection, on_delete=models.PROTECT, related_name="documents")
    order = models.ForeignKey(
        RectificationOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    file = models.FileField(upload_to="documents/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    # The PUBLIC_BASE_URL its QR code and addresses were printed with; "" for documents issued
    # before it was kept (kept as they are). A document printed for another address is superseded
    # by a new one (supervision.inspections.documents.document_for); it still verifies.
    base_url = models.CharField(max_length=200, blank=True, default="")
    superseded_at = models.DateTimeField(null=True, blank=True)
    # An extract: the document rendered for officials who may see only some departments' items of a
    # joint inspection (supervision.inspections.documents.document_for_viewer), naming those
    # departments' codes, sorted and comma-separated; "" for the complete document. An extract is a
    # document of its own, with its own verification number and hash; it says in print what it is.
    extract_departments = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        constraints = [
            # One current document of each kind (and extract); superseded ones stay for their
            # printed copies.
            models.UniqueConstraint(
                fields=["inspection", "kind", "extract_departments"],
                condition=Q(superseded_at__isnull=True),
                name="document_one_current_per_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.public_id}"
