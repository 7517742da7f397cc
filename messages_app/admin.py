from django.contrib import admin

from messages_app.models import CompanyServer, MailAccount


@admin.register(CompanyServer)
class CompanyServerAdmin(admin.ModelAdmin):
    list_display = ("name", "imap_host", "imap_port", "smtp_host", "smtp_port", "is_active")


@admin.register(MailAccount)
class MailAccountAdmin(admin.ModelAdmin):
    """Staff manage accounts here (shared sender included); secrets are never shown."""

    list_display = ("email", "owner", "preset", "is_primary", "is_shared_sender", "last_test_ok")
    list_filter = ("preset", "is_shared_sender")
    search_fields = ("email", "username", "owner__username")
    exclude = ("password_encrypted", "smtp_password_encrypted", "oauth_token_encrypted")
    readonly_fields = ("last_test_ok", "last_test_message", "last_tested_at", "auth_failed", "sync_error")
from messages_app import admin_signature  # noqa: E402, F401  Firma centralizzata, in its own module
