"""The outbox in the admin: every delivery with its status and the provider's answer, failed ones
first to look at, and "send again" for a failed one an admin has checked did not arrive."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from supervision.models import Delivery, Notification
from supervision.notifications.services import delivery_resend_by_admin


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    fields = ("channel", "address", "status", "attempts", "sent_at", "provider_id", "provider_answer")
    readonly_fields = fields


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "kind", "user", "address", "language", "read_at")
    list_filter = ("kind", "language")
    search_fields = ("event_key", "user__username", "address")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Notification._meta.fields]
    inlines = [DeliveryInline]

    def has_add_permission(self, request):
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "channel",
        "address",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "short_answer",
    )
    list_filter = ("status", "channel")
    search_fields = ("address", "provider_id", "notification__event_key")
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("provider's answer"))
    def short_answer(self, obj):
        return obj.provider_answer[:120]

    @admin.action(description=_("Send again (failed ones, once checked that they did not arrive)"))
    def send_again(self, request, queryset):
        resent = sum(
            delivery_resend_by_admin(delivery=delivery, actor=request.user)
            for delivery in queryset.filter(status=Delivery.Status.FAILED)
        )
        self.message_user(
            request,
            ngettext("%(count)d delivery queued again.", "%(count)d deliveries queued again.", resent)
            % {"count": resent},
            messages.SUCCESS,
        )
