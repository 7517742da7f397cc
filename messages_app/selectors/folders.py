"""Folders the user may see and pick (the rule: visibility.py)."""

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from messages_app.models import Folder
from messages_app.selectors.visibility import folder_rule


def visible_folders(user) -> QuerySet:
    return Folder.objects.filter(folder_rule(user))


def visible_folder_or_404(user, pk) -> Folder:
    return get_object_or_404(visible_folders(user).select_related("account"), pk=pk)


def folders_of(user):
    """For pickers: every visible folder, account by account."""
    return visible_folders(user).select_related("account").order_by("account_id", "name")
