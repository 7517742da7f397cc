"""Impostazioni > Layout and the senders whose images are always shown."""

from messages_app.models import MailPreferences, TrustedSender


def preferences_of(user) -> MailPreferences:
    """The user's layout; the defaults (unsaved) until they change something."""
    return MailPreferences.objects.filter(user=user).first() or MailPreferences(user=user)


def preferences_for_page(user) -> MailPreferences:
    """preferences_of for a full mailbox page, with `ooo_on` (whether base.html's out-of-office
    banner has anything to show) read in the same query: the user's row, joined to the layout row
    that may be missing."""
    from django.contrib.auth import get_user_model

    from messages_app.services.ooo import ooo_on_now

    row = (get_user_model().objects.filter(pk=user.pk).select_related("mail_preferences")
           .annotate(ooo_on=ooo_on_now(user)).first())
    if row is None:
        return MailPreferences(user=user)
    try:
        preferences = row.mail_preferences
    except MailPreferences.DoesNotExist:
        preferences = MailPreferences(user=user)
    preferences.ooo_on = bool(row.ooo_on)
    return preferences


def preferences_update(*, user, **changes: bool) -> MailPreferences:
    unknown = set(changes) - set(MailPreferences.LAYOUT_FIELDS)
    if unknown:
        raise ValueError(f"not layout settings: {sorted(unknown)}")
    preferences, _created = MailPreferences.objects.update_or_create(user=user, defaults=changes)
    return preferences


def sender_is_trusted(user, address: str) -> bool:
    return bool(address) and TrustedSender.objects.filter(owner=user, address=address.strip().lower()).exists()


def sender_trust(*, user, address: str) -> None:
    address = address.strip().lower()
    if address:
        TrustedSender.objects.get_or_create(owner=user, address=address)
