from django.contrib import admin

from core.admin import ReadOnlyAdmin
from history.models import HistoricalFinding, HistoricalInspection, SourceRecord


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
