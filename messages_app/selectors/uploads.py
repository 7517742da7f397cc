"""Reads of compose uploads: the files a user attached to a message being written (only theirs)."""

from messages_app.models import ComposeUpload


def own_uploads(user, ids=None):
    """The user's own uploads, among `ids` when given (any other id matches nothing)."""
    uploads = ComposeUpload.objects.filter(owner=user)
    if ids is not None:
        uploads = uploads.filter(pk__in=[int(i) for i in ids if str(i).isascii() and str(i).isdigit()])
    return uploads.order_by("id")
