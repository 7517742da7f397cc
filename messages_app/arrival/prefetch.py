"""The body prefetch step: new mail's body is fetched at once, so that search finds its words and
the first open is instant."""

from django.conf import settings


def prefetch_bodies_step(message_ids: list[int]) -> None:
    if not settings.MAIL_PREFETCH_BODIES:
        return
    from messages_app.services.message_body import message_bodies_fetch

    message_bodies_fetch(message_ids=message_ids)
