from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A CRM user. The extra fields feed the `$Users||field$` placeholders of signatures."""

    class Role(models.TextChoices):
        SALES = "sales", _("Sales")
        SUPPORT = "support", _("Support")
        BACK_OFFICE = "back_office", _("Back office")
        MANAGER = "manager", _("Manager")
        ADMIN = "admin", _("Administrator")

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.SALES)
    title = models.CharField(_("job title"), max_length=100, blank=True)
    department = models.CharField(_("department"), max_length=100, blank=True)
    phone = models.CharField(_("office phone"), max_length=50, blank=True)
    mobile = models.CharField(_("mobile phone"), max_length=50, blank=True)
    fax = models.CharField(_("fax"), max_length=50, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=[("it", "Italiano"), ("en", "English")], default="it"
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Rome")

    class Meta(AbstractUser.Meta):
        swappable = "AUTH_USER_MODEL"
