from django.contrib import admin

from core.models import (
    ApiToken,
    AuditChainHead,
    AuditEvent,
    Department,
    District,
    Enterprise,
    EnterpriseMembership,
    Inspector,
    Regulator,
    Scene,
)


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name", "name_en"]
    raw_id_fields = ["parent"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en"]
    search_fields = ["code", "name", "name_en"]


@admin.register(Scene)
class SceneAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "name_en", "inherent_risk"]
    filter_horizontal = ["departments"]


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ["uscc", "name", "district", "scene", "licence_status"]
    list_filter = ["licence_status", "scene"]
    # Prefix search on the code and the name: the admin must stay usable with millions of rows.
    search_fields = ["=uscc", "^name"]
    raw_id_fields = ["district"]
    show_full_result_count = False
    list_select_related = ["district", "scene"]


@admin.register(EnterpriseMembership)
class EnterpriseMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "enterprise", "role", "created_at"]
    raw_id_fields = ["user", "enterprise"]


@admin.register(Inspector)
class InspectorAdmin(admin.ModelAdmin):
    list_display = ["user", "department", "certificate_no", "active"]
    list_filter = ["department", "active"]
    filter_horizontal = ["districts"]
    raw_id_fields = ["user"]


@admin.register(Regulator)
class RegulatorAdmin(admin.ModelAdmin):
    list_display = ["user", "department", "district"]
    raw_id_fields = ["user"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "device", "created_at", "expires_at", "last_used_at", "revoked_at"]
    readonly_fields = ["key_hash", "prefix", "created_at", "last_used_at"]
    raw_id_fields = ["user"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """The audit trail is written by the application only; the admin may look, never touch."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "created_at", "actor", "action", "target_type", "target_id"]
    list_filter = ["action"]
    search_fields = ["=target_id", "action"]
    show_full_result_count = False


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(ReadOnlyAdmin):
    list_display = ["seq", "hash"]
