from django import forms
from django.utils.translation import gettext_lazy as _

from messages_app.enums import Preset
from messages_app.models import CompanyServer, MailAccount
from messages_app.presets import split_host_scheme

COMPANY_PREFIX = "company:"


def _password_widget() -> forms.PasswordInput:
    return forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})


class MailAccountForm(forms.ModelForm):
    """Impostazioni > Account. Passwords are write-only: never rendered back into the page."""

    kind = forms.ChoiceField(label=_("Account type"))
    password = forms.CharField(label=_("Password"), required=False, strip=False,
                               widget=_password_widget())
    smtp_custom = forms.BooleanField(label=_("Custom SMTP server"), required=False)
    smtp_password = forms.CharField(label=_("SMTP password"), required=False, strip=False,
                                    help_text=_("Leave empty to use the IMAP password."),
                                    widget=_password_widget())
    confirm_failed_test = forms.BooleanField(label=_("Save even though the connection test failed"), required=False)
    pending_token = forms.CharField(required=False, widget=forms.HiddenInput)

    class Meta:
        model = MailAccount
        fields = [
            "username", "auth_method", "email", "description", "is_primary", "is_shared_sender",
            "imap_host", "imap_port", "imap_security", "imap_domain",
            "smtp_host", "smtp_port", "smtp_security", "smtp_username", "smtp_auth_required",
            "pec_receipt_type",
        ]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if not user.is_staff:
            # Not rendered, and a crafted POST value for it is ignored (and refused by the service).
            del self.fields["is_shared_sender"]
        companies = [(f"{COMPANY_PREFIX}{s.pk}", s.name) for s in CompanyServer.objects.filter(is_active=True)]
        self.fields["kind"].choices = list(Preset.choices) + companies
        instance = self.instance
        if instance.company_server_id:
            self.initial["kind"] = f"{COMPANY_PREFIX}{instance.company_server_id}"
        else:
            self.initial["kind"] = instance.preset or Preset.CUSTOM
        for name in ("email", "description", "imap_host", "smtp_host"):
            self.fields[name].required = False
        if instance.pk:
            self.fields["password"].help_text = _("Leave empty to keep the current password.")

    def clean_imap_host(self):
        host, security = split_host_scheme(self.cleaned_data.get("imap_host", ""), "")
        if security:
            self.cleaned_data["imap_security_from_host"] = security
        return host

    def clean_smtp_host(self):
        host, security = split_host_scheme(self.cleaned_data.get("smtp_host", ""), "")
        if security:
            self.cleaned_data["smtp_security_from_host"] = security
        return host

    def clean(self):
        data = super().clean()
        kind = data.get("kind") or Preset.CUSTOM
        if kind.startswith(COMPANY_PREFIX):
            server = CompanyServer.objects.filter(pk=kind.removeprefix(COMPANY_PREFIX), is_active=True).first()
            if server is None:
                self.add_error("kind", _("This company server is no longer offered."))
            self.instance.company_server = server
            self.instance.preset = Preset.CUSTOM
        else:
            self.instance.company_server = None
            self.instance.preset = kind
        for prefix in ("imap", "smtp"):
            security = data.pop(f"{prefix}_security_from_host", None)
            if security:
                data[f"{prefix}_security"] = security
        if kind == Preset.CUSTOM:
            if not data.get("imap_host"):
                self.add_error("imap_host", _("Enter the IMAP server name."))
            if not data.get("smtp_host"):
                self.add_error("smtp_host", _("Enter the SMTP server name."))
        if data.get("auth_method") == "oauth2" and not self.instance.oauth_token_encrypted:
            self.add_error("auth_method", _("Sign in with the provider: use the Connect button."))
        needs_password = data.get("auth_method") != "oauth2" and not self.instance.pk
        if needs_password and not data.get("password") and not data.get("pending_token"):
            self.add_error("password", _("Enter the password."))
        return data
