"""Admin: the outbox (outgoing messages with their state and per-recipient delivery) and the log of
who sent what from a shared sender account. Both are read-only: the outbox changes only through
its state machine (services/outbox.py), the log only when a message is sent.

Only staff reach the admin site, and Django's view permissions decide who sees these lists."""

from django.contrib import admin
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from messages_app.enums import DeliveryStatus
from messages_app.models import MailAccount, OutgoingMessage, OutgoingRecipient, SharedSenderUse
from messages_app.selectors.outbox import delivery_line


class _ReadOnly:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OutgoingRecipientInline(_ReadOnly, admin.TabularInline):
    model = OutgoingRecipient
    extra = 0
    can_delete = False
    fields = ("address", "status", "in_words", "source", "at", "smtp_code", "smtp_enhanced", "smtp_text")
    readonly_fields = fields
    verbose_name = _("recipient")
    verbose_name_plural = _("delivery per recipient")

    @admin.display(description=_("in words"))
    def in_words(self, row: OutgoingRecipient) -> str:
        line = delivery_line(row)
        return f"{line.words}: {line.reason}" if line.reason else line.words


class _SharedSenderFilter(admin.SimpleListFilter):
    title = pgettext_lazy("outbox", "shared sender account")
    parameter_name = "shared_sender"

    def lookups(self, request, model_admin):
        return [(str(pk), email) for pk, email in
                MailAccount.objects.filter(is_shared_sender=True).order_by("email").values_list("pk", "email")]

    def queryset(self, request, queryset):
        return queryset.filter(account_id=self.value()) if self.value() else queryset


@admin.register(OutgoingMessage)
class OutgoingMessageAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("subject", "owner", "account", "state", "send_at", "sent_at", "delivery_summary", "attempts")
    list_filter = ("state", "send_at", "account__is_shared_sender", _SharedSenderFilter)
    search_fields = ("subject", "message_id", "owner__username", "account__email", "recipients__address")
    date_hierarchy = "send_at"
    list_select_related = ("owner", "account")
    fields = ("owner", "account", "state", "send_at", "sent_at", "message_id", "subject", "envelope_from",
              "envelope_to", "error", "attempts", "claimed_until", "created_at")
    readonly_fields = fields
    inlines = [OutgoingRecipientInline]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            n_accepted=Count("recipients", filter=Q(recipients__status=DeliveryStatus.ACCEPTED)),
            n_delivered=Count("recipients", filter=Q(recipients__status=DeliveryStatus.DELIVERED)),
            n_not_delivered=Count("recipients", filter=Q(recipients__status=DeliveryStatus.NOT_DELIVERED)),
            n_failed=Count("recipients", filter=Q(recipients__status=DeliveryStatus.FAILED)))

    @admin.display(description=_("delivery"))
    def delivery_summary(self, item: OutgoingMessage) -> str:
        parts = [(item.n_accepted, DeliveryStatus.ACCEPTED.label),
                 (item.n_delivered, DeliveryStatus.DELIVERED.label),
                 (item.n_not_delivered, DeliveryStatus.NOT_DELIVERED.label),
                 (item.n_failed, DeliveryStatus.FAILED.label)]
        return " · ".join(f"{count} {label}" for count, label in parts if count) or "-"


@admin.register(SharedSenderUse)
class SharedSenderUseAdmin(_ReadOnly, admin.ModelAdmin):
    list_display = ("sent_at", "account", "user", "subject", "recipient_list", "outgoing")
    list_filter = (("account", admin.RelatedOnlyFieldListFilter), ("user", admin.RelatedOnlyFieldListFilter),
                   "sent_at")
    search_fields = ("subject", "message_id", "user__username", "account__email")
    date_hierarchy = "sent_at"
    list_select_related = ("account", "user", "outgoing")
    fields = ("sent_at", "account", "user", "subject", "message_id", "recipients", "outgoing")
    readonly_fields = fields

    @admin.display(description=_("recipients"))
    def recipient_list(self, use: SharedSenderUse) -> str:
        return ", ".join(use.recipients)
