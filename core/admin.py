from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction

from core.audit import audit_record
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


class AuditedAdmin(admin.ModelAdmin):
    """Changes made through the admin are state changes too: each one is audited with its fields."""

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            action = "change" if change else "add"
            audit_record(
                actor=request.user,
                action=f"admin.{action}",
                target=obj,
                data={"fields": sorted(form.changed_data) if change else sorted(form.fields)},
            )

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit_record(actor=request.user, action="admin.delete", target=obj, data={"repr": str(obj)})
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                audit_record(actor=request.user, action="admin.delete", target=obj, data={"repr": str(obj)})
            super().delete_queryset(request, queryset)


@admin.register(District)
class DistrictAdmin(AuditedAdmin):
    list_display = ["code", "name", "name_en", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name", "name_en"]
    raw_id_fields = ["parent"]


@admin.register(Department)
class DepartmentAdmin(AuditedAdmin):
    list_display = ["code", "name", "name_en"]
    search_fields = ["code", "name", "name_en"]


@admin.register(Scene)
class SceneAdmin(AuditedAdmin):
    list_display = ["code", "name", "name_en", "inherent_risk"]
    filter_horizontal = ["departments"]


@admin.register(Enterprise)
class EnterpriseAdmin(AuditedAdmin):
    list_display = ["uscc", "name", "district", "scene", "licence_status"]
    list_filter = ["licence_status", "scene"]
    # Prefix search on the code and the name: the admin must stay usable with millions of rows.
    search_fields = ["=uscc", "^name"]
    raw_id_fields = ["district"]
    show_full_result_count = False
    list_select_related = ["district", "scene"]


@admin.register(EnterpriseMembership)
class EnterpriseMembershipAdmin(AuditedAdmin):
    list_display = ["user", "enterprise", "role", "created_at"]
    raw_id_fields = ["user", "enterprise"]


@admin.register(Inspector)
class InspectorAdmin(AuditedAdmin):
    list_display = ["user", "department", "certificate_no", "active"]
    list_filter = ["department", "active"]
    filter_horizontal = ["districts"]
    raw_id_fields = ["user"]


@admin.register(Regulator)
class RegulatorAdmin(AuditedAdmin):
    list_display = ["user", "department", "district"]
    raw_id_fields = ["user"]


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    list_display = ["prefix", "user", "device", "created_at", "expires_at", "last_used_at", "revoked_at"]
    readonly_fields = ["key_hash", "prefix", "created_at", "last_used_at"]
    raw_id_fields = ["user"]


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class UserAdmin(AuditedAdmin, DjangoUserAdmin):
    pass


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
