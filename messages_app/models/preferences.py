from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MailPreferences(models.Model):
    """Impostazioni > Layout: how one user's mailbox looks. A missing row means the defaults."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="mail_preferences")
    show_preview = models.BooleanField(_("show a preview of the text under the subject"), default=True)
    threaded = models.BooleanField(_("group messages into conversations"), default=False)
    merge_accounts = models.BooleanField(_("merge the folders of all accounts"), default=True)
    mark_read_on_open = models.BooleanField(_("mark a message as read when it is opened"), default=True)

    class Meta:
        verbose_name = _("mail layout")
        verbose_name_plural = _("mail layouts")

    LAYOUT_FIELDS = ("show_preview", "threaded", "merge_accounts", "mark_read_on_open")


class TrustedSender(models.Model):
    """A sender whose remote images this user always wants shown ("always show images from ...")."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trusted_senders")
    address = models.CharField(max_length=320)  # lower-cased
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "address"], name="unique_trusted_sender_per_user"),
        ]

    def __str__(self) -> str:
        return self.address
