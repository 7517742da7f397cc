import hashlib
import json
import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from messages_app import crypto
from messages_app.enums import AuthMethod, Preset, Security

# A port outside 1..65535 is not a typo to dial: the socket layer would wrap 73677 to 8141.
PORT_VALIDATORS = [MinValueValidator(1), MaxValueValidator(65535)]
# What the servers' host name and port fields must pass before an account is stored (forms, commands).
ENDPOINT_FIELDS = ("imap_host", "imap_port", "smtp_host", "smtp_port")


class CompanyServer(models.Model):
    """A mail server configured by staff and offered to users beside the built-in presets."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    imap_host = models.CharField(_("IMAP server"), max_length=255)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993, validators=PORT_VALIDATORS)
    imap_security = models.CharField(_("IMAP security"), max_length=10, choices=Security.choices,
                                     default=Security.SSL)
    smtp_host = models.CharField(_("SMTP server"), max_length=255)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587, validators=PORT_VALIDATORS)
    smtp_security = models.CharField(_("SMTP security"), max_length=10, choices=Security.choices,
                                     default=Security.STARTTLS)
    is_active = models.BooleanField(_("offered to users"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("company mail server")
        verbose_name_plural = _("company mail servers")

    def __str__(self) -> str:
        return self.name


class MailAccount(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mail_accounts",
                              verbose_name=_("owner"))
    preset = models.CharField(_("account type"), max_length=20, choices=Preset.choices, default=Preset.CUSTOM)
    company_server = models.ForeignKey(CompanyServer, null=True, blank=True, on_delete=models.SET_NULL,
                                       verbose_name=_("company server"))
    username = models.CharField(_("username"), max_length=255)
    auth_method = models.CharField(_("authentication"), max_length=10, choices=AuthMethod.choices,
                                   default=AuthMethod.PASSWORD)
    email = models.EmailField(_("email"), max_length=255)
    description = models.CharField(_("description"), max_length=255)

    imap_host = models.CharField(_("IMAP server name"), max_length=255)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993, validators=PORT_VALIDATORS)
    imap_security = models.CharField(_("IMAP security"), max_length=10, choices=Security.choices,
                                     default=Security.SSL)
    imap_domain = models.CharField(_("domain"), max_length=255, blank=True)

    smtp_host = models.CharField(_("SMTP server name"), max_length=255)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587, validators=PORT_VALIDATORS)
    smtp_security = models.CharField(_("SMTP security"), max_length=10, choices=Security.choices,
                                     default=Security.STARTTLS)
    smtp_username = models.CharField(_("SMTP username"), max_length=255, blank=True)
    smtp_auth_required = models.BooleanField(_("requires authentication"), default=True)

    # Ciphertexts only (see messages_app.crypto); `secret_binding` ties each one to this row so a
    # value copied into another account's row does not decrypt there.
    secret_binding = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    password_encrypted = models.TextField(blank=True, editable=False)
    smtp_password_encrypted = models.TextField(blank=True, editable=False)
    oauth_token_encrypted = models.TextField(blank=True, editable=False)
    # Who issued the OAuth2 tokens ("google", "microsoft"), for auth_method OAuth2; the tokens
    # themselves are only in oauth_token_encrypted, read and refreshed by oauth.token_get_valid().
    oauth_provider = models.CharField(_("OAuth2 provider"), max_length=20, blank=True, editable=False,
                                      choices=[("google", "Google"), ("microsoft", "Microsoft")])

    is_primary = models.BooleanField(_("primary"), default=False)
    is_shared_sender = models.BooleanField(_("shared sender"), default=False)
    # PEC only: the delivery receipt form asked for on every submission (X-TipoRicevuta, PEC.md).
    pec_receipt_type = models.CharField(
        _("PEC delivery receipt"), max_length=10, blank=True, default="",
        choices=[("", _("not a PEC account")), ("completa", _("complete (with the original)")),
                 ("breve", _("short (hashes of the original)")), ("sintetica", _("summary (neither)"))],
        help_text=_("Certified mail: the kind of delivery receipt the provider sends for each recipient."))

    last_test_ok = models.BooleanField(_("last test ok"), null=True, editable=False)
    # The sentence rows tested before results were codes kept.
    last_test_message = models.TextField(_("last test message"), blank=True, editable=False)
    # The last test as codes (connection_results.py), rendered in the reader's language.
    last_test_result = models.JSONField(_("last test result"), default=dict, blank=True, editable=False)
    last_tested_at = models.DateTimeField(_("last tested at"), null=True, editable=False)
    # Set when the server refused our credentials: syncing stops until the user fixes them.
    auth_failed = models.BooleanField(_("password refused"), default=False, editable=False)
    sync_error = models.TextField(_("sync error"), blank=True, editable=False)
    # Set when a pass failed permanently (a host the owner may not reach, a broken server): the
    # fingerprint of the settings it failed with. Beat stops queueing the account until the
    # settings differ from it (see sync_settings_fingerprint).
    sync_stopped_for = models.CharField(max_length=64, blank=True, editable=False)
    # Folders the server lists beyond MAIL_MAX_FOLDERS at the last pass (not mirrored).
    folders_skipped = models.PositiveIntegerField(default=0, editable=False)
    initial_sync_done = models.BooleanField(_("first sync done"), default=False, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-is_primary", "email", "id"]
        verbose_name = _("mail account")
        verbose_name_plural = _("mail accounts")
        constraints = [
            models.UniqueConstraint(fields=["owner"], condition=Q(is_primary=True),
                                    name="one_primary_account_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.description} <{self.email}>"

    # The settings a sync depends on: a change to any of them may cure a permanent failure.
    SYNC_SETTINGS = ("imap_host", "imap_port", "imap_security", "username", "auth_method", "password_encrypted",
                     "oauth_provider", "company_server_id", "owner_id")

    def sync_settings_fingerprint(self) -> str:
        values = "\x1f".join(str(getattr(self, name, "")) for name in self.SYNC_SETTINGS)
        return hashlib.sha256(values.encode()).hexdigest()

    @property
    def sync_stopped(self) -> bool:
        """A permanent failure stopped syncing and the settings have not changed since."""
        return bool(self.sync_stopped_for) and self.sync_stopped_for == self.sync_settings_fingerprint()

    @property
    def last_test_text(self) -> str:
        """The last connection test in the reader's language (older rows kept a sentence)."""
        from messages_app.connection_results import result_text  # the model layer stays import-light

        return result_text(self.last_test_result) if self.last_test_result else self.last_test_message

    # Secrets: plaintext only passes through these accessors, never stored or rendered.
    def _bind(self, field: str) -> str:
        return f"{self.secret_binding}:{field}"

    def set_password(self, plaintext: str) -> None:
        self.password_encrypted = crypto.encrypt(plaintext, binding=self._bind("password")) if plaintext else ""

    def get_password(self) -> str:
        if not self.password_encrypted:
            return ""
        return crypto.decrypt(self.password_encrypted, binding=self._bind("password"))

    def set_smtp_password(self, plaintext: str) -> None:
        self.smtp_password_encrypted = (
            crypto.encrypt(plaintext, binding=self._bind("smtp_password")) if plaintext else ""
        )

    def get_smtp_password(self) -> str:
        """The SMTP password, which defaults to the IMAP one when not set separately."""
        if not self.smtp_password_encrypted:
            return self.get_password()
        return crypto.decrypt(self.smtp_password_encrypted, binding=self._bind("smtp_password"))

    def set_oauth_tokens(self, tokens: dict | None) -> None:
        """Store the OAuth2 token set (access and refresh token, expiry) encrypted; None clears it."""
        self.oauth_token_encrypted = (
            crypto.encrypt(json.dumps(tokens), binding=self._bind("oauth")) if tokens else ""
        )

    def get_oauth_tokens(self) -> dict:
        if not self.oauth_token_encrypted:
            return {}
        return json.loads(crypto.decrypt(self.oauth_token_encrypted, binding=self._bind("oauth")))

    @property
    def uses_oauth(self) -> bool:
        return self.auth_method == AuthMethod.OAUTH2

    @property
    def reauth_required(self) -> bool:
        """An OAuth2 account whose provider refused the tokens: the user must sign in again."""
        return self.uses_oauth and self.auth_failed

    @property
    def effective_smtp_username(self) -> str:
        return self.smtp_username or self.username

    SECRET_FIELDS = (
        ("password_encrypted", "password"),
        ("smtp_password_encrypted", "smtp_password"),
        ("oauth_token_encrypted", "oauth"),
    )
