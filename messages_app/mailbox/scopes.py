"""What a message list shows: one folder, a unified role folder across accounts, a special folder,
or (for search) every folder of the user."""

from dataclasses import dataclass, field

from django.http import Http404
from django.urls import reverse

from messages_app.enums import FolderRole, SpecialFolder
from messages_app.models import Folder
from messages_app.selectors import own_accounts, visible_folders
from messages_app.selectors.crm import own_message

UNIFIED_ROLES = (FolderRole.INBOX, FolderRole.DRAFTS, FolderRole.SENT, FolderRole.SPAM, FolderRole.TRASH)
SPECIALS = (SpecialFolder.SHARED, SpecialFolder.IMPORTED, SpecialFolder.FLAGGED, SpecialFolder.SCHEDULED)
# Lists where the interesting party is the recipient, not the sender.
RECIPIENT_ROLES = (FolderRole.SENT, FolderRole.DRAFTS)

FOLDER, UNIFIED, SPECIAL, EVERYWHERE = "folder", "unified", "special", "all"


@dataclass(frozen=True)
class Scope:
    kind: str
    name: str  # the role, the special folder, or the folder id
    title: str
    folder_ids: tuple[int, ...] = ()
    folder: Folder | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def url(self) -> str:
        if self.kind == FOLDER:
            return reverse("messages_app:folder", args=[self.folder.pk])
        if self.kind == UNIFIED:
            return reverse("messages_app:unified", args=[self.name])
        if self.kind == SPECIAL:
            return reverse("messages_app:special", args=[self.name])
        return reverse("messages_app:index")

    @property
    def role(self) -> str:
        if self.kind == UNIFIED:
            return self.name
        if self.kind == FOLDER:
            return self.folder.role
        return ""

    @property
    def shows_recipients(self) -> bool:
        return self.role in RECIPIENT_ROLES

    @property
    def can_thread(self) -> bool:
        return self.kind in (FOLDER, UNIFIED)


def role_label(role: str) -> str:
    return str(FolderRole(role).label)


def special_label(name: str) -> str:
    return str(SpecialFolder(name).label)


def folder_label(folder: Folder) -> str:
    """Role folders carry the role's name (Entrata, Inviata ...); the others their own."""
    return role_label(folder.role) if folder.role else folder.display_name


def folder_path_label(folder: Folder) -> str:
    """The folder's place in the tree in the tree's own words: "Clienti › Edilnord", "Entrata ›
    Progetti"; a role folder is just its role's name."""
    if folder.role:
        return role_label(folder.role)
    parts = folder.path_parts
    if len(parts) > 1 and parts[0].upper() == "INBOX":
        parts[0] = role_label(FolderRole.INBOX)
    return " › ".join(parts)


def unified_scope(user, role: str, folders: list[Folder] | None = None) -> Scope:
    """`folders`: the user's folders (folders_of), when the request has read them already."""
    if role not in UNIFIED_ROLES:
        raise Http404
    if folders is None:
        ids = visible_folders(user).filter(role=role, is_selectable=True).values_list("pk", flat=True)
    else:
        ids = [f.pk for f in sorted(folders, key=lambda f: f.pk) if f.role == role and f.is_selectable]
    return Scope(UNIFIED, role, role_label(role), tuple(ids))


def special_scope(user, name: str) -> Scope:
    if name not in SPECIALS:
        raise Http404
    return Scope(SPECIAL, name, special_label(name))


def folder_scope(user, folder_id: int, folders: list[Folder] | None = None) -> Scope:
    """`folders`: the user's folders (folders_of), when the request has read them already."""
    if folders is None:
        folder = visible_folders(user).select_related("account").filter(pk=folder_id).first()
    else:
        folder = next((f for f in folders if f.pk == folder_id), None)
    if folder is None or not folder.is_selectable:
        raise Http404
    return Scope(FOLDER, str(folder.pk), folder_label(folder), (folder.pk,), folder)


def everywhere_scope(user, folders: list[Folder] | None = None) -> Scope:
    ids = visible_folders(user).values_list("pk", flat=True) if folders is None else [f.pk for f in folders]
    return Scope(EVERYWHERE, "", "", tuple(ids))


def message_scope(user, message) -> Scope:
    """The list a message opened on its own page sits in: its folder, Importata for local mail,
    Condivisa for a colleague's mail shared with the user."""
    if not own_message(user, message):
        return special_scope(user, SpecialFolder.SHARED.value)
    if message.folder_id is None:
        return special_scope(user, SpecialFolder.IMPORTED.value)
    return folder_scope(user, message.folder_id)


def scope_from_key(user, key: str) -> Scope:
    """The scope a form or a link names as "kind:name"; 404 for anything not the user's."""
    kind, _, name = (key or "").partition(":")
    if kind == UNIFIED:
        return unified_scope(user, name)
    if kind == SPECIAL:
        return special_scope(user, name)
    if kind == FOLDER and name.isdigit():
        return folder_scope(user, int(name))
    if kind == EVERYWHERE:
        return everywhere_scope(user)
    raise Http404


def home_scope(user, *, merged: bool, folders: list[Folder] | None = None) -> Scope | None:
    """Where /messages/ opens: the unified inbox, or the primary account's inbox when the
    accounts stand alone."""
    if merged:
        return unified_scope(user, FolderRole.INBOX, folders)
    account = own_accounts(user).first()
    if account is None:
        return None
    inbox = account.folders.filter(role=FolderRole.INBOX, is_selectable=True).first()
    if inbox is None:
        inbox = account.folders.filter(is_selectable=True).order_by("name").first()
    return folder_scope(user, inbox.pk) if inbox else None
