"""The folder column: unified folders, special folders, each account's own hierarchy, unread counts."""

from dataclasses import dataclass, field

from django.db.models import Count

from messages_app.enums import Preset, SpecialFolder
from messages_app.mailbox.scopes import SPECIALS, UNIFIED_ROLES, folder_label, role_label, special_label
from messages_app.models import Folder, MailAccount, Message
from messages_app.selectors import local_messages, own_accounts, unique_flagged, visible_folders


@dataclass
class TreeEntry:
    key: str  # the scope key, also the element id of its count
    label: str
    url_name: str
    url_arg: str | int
    unread: int = 0
    depth: int = 0
    selectable: bool = True
    role: str = ""


@dataclass
class AccountTree:
    account: MailAccount
    entries: list[TreeEntry] = field(default_factory=list)


@dataclass
class FolderTree:
    unified: list[TreeEntry]
    special: list[TreeEntry]
    accounts: list[AccountTree]

    @property
    def has_pec(self) -> bool:
        """A PEC account among them: the folder column then links the Ricevute PEC page."""
        return any(branch.account.preset in (Preset.PEC_ARUBA, Preset.PEC_LEGALMAIL) or branch.account.pec_receipt_type
                   for branch in self.accounts)

    def counts(self) -> dict[str, int]:
        entries = [*self.unified, *self.special, *(e for a in self.accounts for e in a.entries)]
        return {entry.key: entry.unread for entry in entries}


def unread_by_folder(user) -> dict[int, int]:
    folder_ids = list(visible_folders(user).values_list("pk", flat=True))
    rows = (Message.objects.filter(folder_id__in=folder_ids, is_seen=False, x_ricevuta="")  # receipts: not mail
            .values("folder_id").annotate(unread=Count("*")).order_by())
    return {row["folder_id"]: row["unread"] for row in rows}


def _ordered(folders: list[Folder]) -> list[Folder]:
    """Role folders first in the vtenext order (Entrata, Bozze, Inviata, Spam, Cestino), then the
    rest by path; subfolders right under their parent."""
    roles = {f.path: UNIFIED_ROLES.index(f.role) for f in folders if f.role in UNIFIED_ROLES}

    def key(folder: Folder) -> tuple:
        path = folder.path_parts
        top = path[0]
        return (roles.get(top, len(UNIFIED_ROLES)), [part.lower() for part in path])

    return sorted(folders, key=key)


def _without_empty_parents(folders: list[Folder]) -> list[Folder]:
    """A non-selectable folder is only a parent: shown while something below it can be opened."""
    parents = {f.parent_name for f in folders if f.is_selectable}
    while True:
        more = {f.parent_name for f in folders if f.name in parents and f.parent_name not in parents}
        if not more - {""}:
            break
        parents |= more
    return [f for f in folders if f.is_selectable or f.name in parents]


def folder_tree(user, *, merged: bool) -> FolderTree:
    unread = unread_by_folder(user)
    folders = list(visible_folders(user).select_related("account"))
    unified = []
    if merged:
        for role in UNIFIED_ROLES:
            count = sum(unread.get(f.pk, 0) for f in folders if f.role == role)
            unified.append(TreeEntry(f"unified:{role}", role_label(role), "messages_app:unified", role, count,
                                     role=role))
    special_unread = {SpecialFolder.FLAGGED: unique_flagged(user).filter(is_seen=False).count(),
                      SpecialFolder.IMPORTED: local_messages(user).filter(is_seen=False).count()}
    special = [TreeEntry(f"special:{name}", special_label(name), "messages_app:special", name,
                         special_unread.get(name, 0)) for name in SPECIALS]
    accounts = []
    for account in own_accounts(user):
        own = _without_empty_parents(_ordered([f for f in folders if f.account_id == account.pk]))
        accounts.append(AccountTree(account, [
            TreeEntry(f"folder:{f.pk}", folder_label(f) if f.depth == 0 or f.role else f.display_name,
                      "messages_app:folder", f.pk, unread.get(f.pk, 0), depth=f.depth,
                      selectable=f.is_selectable, role=f.role)
            for f in own
        ]))
    return FolderTree(unified, special, accounts)



def move_targets(folders: list[Folder]) -> list[Folder]:
    """Folders a message can be moved to, in the tree's order, account by account."""
    by_account: dict[int, list[Folder]] = {}
    for folder in folders:
        if folder.is_selectable:
            by_account.setdefault(folder.account_id, []).append(folder)
    return [f for account_folders in by_account.values() for f in _ordered(account_folders)]
