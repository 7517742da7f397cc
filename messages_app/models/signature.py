from django.db import models
from django.utils.translation import gettext_lazy as _


class SignatureChoice(models.TextChoices):
    NONE = "none", _("No signature")
    PERSONAL = "personal", _("Personalised")
    COMPANY = "company", _("Company")


class AccountSignature(models.Model):
    """Impostazioni > Account > Firma: which signature mail from this account carries. A missing
    row means no signature. `personal_html` is stored sanitized (services/signatures.py)."""

    account = models.OneToOneField("messages_app.MailAccount", on_delete=models.CASCADE, primary_key=True,
                                   related_name="signature")
    choice = models.CharField(_("signature"), max_length=10, choices=SignatureChoice.choices,
                              default=SignatureChoice.NONE)
    personal_html = models.TextField(_("personalised signature"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("account signature")
        verbose_name_plural = _("account signatures")


class CompanySignature(models.Model):
    """Firma centralizzata: the one company template with `$Users||field$` placeholders, edited by
    an administrator in the admin site. One row (pk 1); stored sanitized."""

    SINGLETON_PK = 1

    html = models.TextField(_("template"), blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("company signature")
        verbose_name_plural = _("company signature")

    def __str__(self) -> str:
        return str(_("Company signature"))
