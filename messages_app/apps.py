from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MessagesAppConfig(AppConfig):
    name = "messages_app"
    label = "messages_app"
    verbose_name = _("Messages")

    def ready(self) -> None:
        # Features whose rows point at messages keep them when the server drops them (sync/identity.py).
        from messages_app.services import crm_links, shares  # noqa: F401
