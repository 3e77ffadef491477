from django.contrib import admin

from core.admin import ReadOnlyAdmin
from planning.models import ConflictDeclaration, Draw, RiskPlan


# Plans, draws and declarations change only through planning/ services (audited); the admin looks.
@admin.register(RiskPlan)
class RiskPlanAdmin(ReadOnlyAdmin):
    list_display = ["pk", "department", "district", "period_from", "period_to", "status", "created_at"]
    list_filter = ["status", "department"]
    list_select_related = ["department", "district"]
    show_full_result_count = False


@admin.register(Draw)
class DrawAdmin(ReadOnlyAdmin):
    list_display = ["pk", "department", "district", "scene", "period_from", "period_to", "status", "seed"]
    list_filter = ["status", "department"]
    search_fields = ["=seed"]
    list_select_related = ["department", "district", "scene"]
    show_full_result_count = False


@admin.register(ConflictDeclaration)
class ConflictDeclarationAdmin(ReadOnlyAdmin):
    list_display = ["inspector", "enterprise", "reason", "declared_at", "ended_at"]
    search_fields = ["=enterprise__uscc", "=inspector__certificate_no"]
    list_select_related = ["inspector__user", "enterprise"]
    show_full_result_count = False
