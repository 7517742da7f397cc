from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from messages_app.enums import AuthMethod
from messages_app.models import CompanyServer, MailAccount
from messages_app.oauth.providers import LABELS, PROVIDERS, provider_config
from messages_app.services.accounts import mail_account_save

# The brand, not "Django administration" (the CRM that embeds Postino may set its own).
admin.site.site_header = _("Postino administration")
admin.site.site_title = _("Postino administration")


@admin.register(CompanyServer)
class CompanyServerAdmin(admin.ModelAdmin):
    list_display = ("name", "imap_host", "imap_port", "smtp_host", "smtp_port", "is_active")


class MailAccountAdminForm(forms.ModelForm):
    """Passwords are write-only: typed here, encrypted through the model's setters, never shown."""

    password = forms.CharField(label=_("Password"), required=False, strip=False,
                               widget=forms.PasswordInput(render_value=False),
                               help_text=_("Leave empty to keep the current password."))
    smtp_password = forms.CharField(label=_("SMTP password"), required=False, strip=False,
                                    widget=forms.PasswordInput(render_value=False),
                                    help_text=_("Only if it differs from the IMAP password; leave empty to keep it."))

    class Meta:
        model = MailAccount
        fields = ("owner", "preset", "company_server", "username", "password", "auth_method", "email", "description",
                  "imap_host", "imap_port", "imap_security", "imap_domain", "smtp_host", "smtp_port", "smtp_security",
                  "smtp_username", "smtp_password", "smtp_auth_required", "is_primary", "is_shared_sender")

    def clean(self):
        cleaned = super().clean()
        if (not self.instance.pk and cleaned.get("auth_method", AuthMethod.PASSWORD) == AuthMethod.PASSWORD
                and not cleaned.get("password")):
            self.add_error("password", _("A new account needs its password, or it cannot log in."))
        return cleaned



@admin.register(MailAccount)
class MailAccountAdmin(admin.ModelAdmin):
    """Staff manage accounts here (shared sender included); secrets are write-only, never shown."""

    form = MailAccountAdminForm

    def save_model(self, request, obj, form, change):
        # The one write path for accounts: encrypts the passwords, keeps one primary per user.
        mail_account_save(account=obj, actor=request.user, password=form.cleaned_data.get("password") or None,
                          smtp_password=form.cleaned_data.get("smtp_password") or None)

    list_display = ("email", "owner", "preset", "is_primary", "is_shared_sender", "last_test_ok")
    list_filter = ("preset", "is_shared_sender")
    search_fields = ("email", "username", "owner__username")
    exclude = ("password_encrypted", "smtp_password_encrypted", "oauth_token_encrypted", "last_test_message",
               "last_test_result")
    readonly_fields = ("last_test_ok", "last_test", "last_tested_at", "auth_failed", "oauth_provider", "sync_error")

    @admin.display(description=_("last test"))
    def last_test(self, account: MailAccount) -> str:
        return account.last_test_text or None  # None shows the admin's "-"

    def changelist_view(self, request, extra_context=None):
        # Whether each OAuth2 provider is configured (OAUTH_* in the environment): the Connect
        # buttons are only offered for those that are.
        if request.method == "GET":
            for name in PROVIDERS:
                configured = provider_config(name) is not None
                text = (_("OAuth2 with %(provider)s: configured.") if configured else
                        _("OAuth2 with %(provider)s: not configured (set OAUTH_%(env)s_CLIENT_ID and "
                          "OAUTH_%(env)s_CLIENT_SECRET); its Connect button is hidden."))
                self.message_user(request, text % {"provider": LABELS[name], "env": name.upper()},
                                  level=messages.INFO if configured else messages.WARNING)
        return super().changelist_view(request, extra_context)


# The admin's other modules, each registering its own models.
from messages_app import admin_outbox, admin_signature  # noqa: E402, F401
