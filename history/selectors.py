"""Reads of the data sources for the regulators' pages and API (callers filter through
history.permissions first)."""

from django.db.models import Count, OuterRef, QuerySet, Subquery

from history.models import DataSource, EnterpriseAttribute, Signal, SourceBatch, SourceCredential


def sources_listed(queryset: QuerySet[DataSource]) -> QuerySet[DataSource]:
    """With the last batch's time and the active key's prefix (one subquery each, no join fan-out)."""
    active_key = SourceCredential.objects.filter(source=OuterRef("pk"), revoked_at__isnull=True).order_by(
        "-created_at"
    )
    last_batch = (
        SourceBatch.objects.filter(source=OuterRef("pk")).order_by("-received_at").values("received_at")[:1]
    )
    return (
        queryset.select_related("department", "owner")
        .annotate(
            last_batch_at=Subquery(last_batch),
            key_prefix=Subquery(active_key.values("prefix")[:1]),
        )
        .order_by("code")
    )


def source_counts(source: DataSource) -> dict[str, int]:
    """What the source has sent so far. Counts the source's rows: fine for a detail page, whose
    source's signals are counted through the (source, source_ref) index."""
    signals = Signal.objects.filter(source=source).aggregate(
        signals=Count("pk"), unmatched=Count("pk", filter=Signal.unmatched_q())
    )
    return {
        "attributes": EnterpriseAttribute.objects.filter(source=source).count(),
        "signals": signals["signals"],
        "unmatched_signals": signals["unmatched"],
        "batches": SourceBatch.objects.filter(source=source).count(),
    }


def credentials_of(source: DataSource) -> QuerySet[SourceCredential]:
    return source.credentials.select_related("created_by").order_by("-created_at")


def batches_of(source: DataSource) -> QuerySet[SourceBatch]:
    # Newest first: the source_batch_recent index.
    return (
        SourceBatch.objects.filter(source=source).select_related("credential").order_by("-received_at", "-pk")
    )
