from django.contrib import admin

from core.admin import ReadOnlyAdmin
from history.models import (
    DataSource,
    EnterpriseAttribute,
    HistoricalFinding,
    HistoricalInspection,
    Signal,
    SourceBatch,
    SourceCredential,
    SourceRecord,
)


# Imported history is the source's record: the admin may look, re-imports are the only writers.
@admin.register(SourceRecord)
class SourceRecordAdmin(ReadOnlyAdmin):
    list_display = ["source", "source_id", "enterprise", "created_at"]
    list_filter = ["source"]
    search_fields = ["=source_id", "enterprise__name", "=enterprise__uscc"]
    list_select_related = ["enterprise"]


class HistoricalFindingInline(admin.TabularInline):
    model = HistoricalFinding
    fields = ["severity", "violation_type", "description"]
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(HistoricalInspection)
class HistoricalInspectionAdmin(ReadOnlyAdmin):
    list_display = ["inspected_on", "enterprise", "kind", "score", "source"]
    list_filter = ["source", "kind"]
    search_fields = ["enterprise__name", "=enterprise__uscc"]
    date_hierarchy = "inspected_on"
    list_select_related = ["enterprise"]
    inlines = [HistoricalFindingInline]
    show_full_result_count = False


# Data sources are managed on the regulators' pages (history.views), which audit every change;
# batches and their rows are written by ingest only. The admin may look.
@admin.register(DataSource)
class DataSourceAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "kind", "business_key", "department", "active", "updated_at"]
    list_filter = ["kind", "active"]
    search_fields = ["code", "name", "name_en"]
    list_select_related = ["department"]


@admin.register(SourceCredential)
class SourceCredentialAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "source", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["source"]
    exclude = ["key_hash"]
    list_select_related = ["source"]


@admin.register(SourceBatch)
class SourceBatchAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "source", "content", "channel", "rows", "created", "unmatched_count"]
    list_filter = ["source", "content", "channel"]
    date_hierarchy = "received_at"
    list_select_related = ["source"]
    show_full_result_count = False


@admin.register(EnterpriseAttribute)
class EnterpriseAttributeAdmin(ReadOnlyAdmin):
    list_display = ["enterprise", "source", "name", "value", "valid_from"]
    list_filter = ["source", "name"]
    search_fields = ["enterprise__name", "=enterprise__uscc", "=name"]
    list_select_related = ["enterprise", "source"]
    raw_id_fields = ["enterprise", "batch"]
    show_full_result_count = False


@admin.register(Signal)
class SignalAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "source", "kind", "source_ref", "enterprise", "business_key", "value"]
    list_filter = ["source", "kind"]
    search_fields = ["=source_ref", "=business_key", "enterprise__name", "=enterprise__uscc"]
    date_hierarchy = "occurred_at"
    list_select_related = ["enterprise", "source"]
    raw_id_fields = ["enterprise", "batch"]
    show_full_result_count = False
