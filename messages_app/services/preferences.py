"""Impostazioni > Layout and the senders whose images are always shown."""

from messages_app.models import MailPreferences, TrustedSender


def preferences_of(user) -> MailPreferences:
    """The user's layout; the defaults (unsaved) until they change something."""
    return MailPreferences.objects.filter(user=user).first() or MailPreferences(user=user)


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
