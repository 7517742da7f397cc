"""The folder column: unified folders, special folders, each account's own hierarchy, unread counts.

The counts are read, not counted: each folder row carries its own (kept by the database, see
models/folder.py) and MailboxCounts the user's Importata and Contrassegnata ones, so the column
costs the same three small reads whatever the size of the mailbox.
"""

from dataclasses import dataclass, field

from messages_app.enums import Preset, SpecialFolder
from messages_app.mailbox.scopes import SPECIALS, UNIFIED_ROLES, folder_label, role_label, special_label
from messages_app.models import Folder, MailAccount
from messages_app.selectors import folders_of, mailbox_counts, own_accounts


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


def folder_tree(user, *, merged: bool, folders: list[Folder] | None = None,
                accounts: list[MailAccount] | None = None) -> FolderTree:
    """`folders` (folders_of(user), with their accounts) and `accounts` (own_accounts(user)):
    what the request has already read, if it has."""
    folders = list(folders_of(user)) if folders is None else folders
    accounts = list(own_accounts(user)) if accounts is None else accounts
    unified = []
    if merged:
        for role in UNIFIED_ROLES:
            count = sum(f.unread_count for f in folders if f.role == role)
            unified.append(TreeEntry(f"unified:{role}", role_label(role), "messages_app:unified", role, count,
                                     role=role))
    counts = mailbox_counts(user)
    special_unread = {SpecialFolder.FLAGGED: counts.flagged_unread, SpecialFolder.IMPORTED: counts.local_unread}
    special = [TreeEntry(f"special:{name}", special_label(name), "messages_app:special", name,
                         special_unread.get(name, 0)) for name in SPECIALS]
    by_account: dict[int, list[Folder]] = {}
    for folder in folders:
        by_account.setdefault(folder.account_id, []).append(folder)
    branches = []
    for account in accounts:
        own = _without_empty_parents(_ordered(by_account.get(account.pk, [])))
        branches.append(AccountTree(account, [
            TreeEntry(f"folder:{f.pk}", folder_label(f) if f.depth == 0 or f.role else f.display_name,
                      "messages_app:folder", f.pk, f.unread_count, depth=f.depth,
                      selectable=f.is_selectable, role=f.role)
            for f in own
        ]))
    return FolderTree(unified, special, branches)


def move_targets(folders: list[Folder]) -> list[Folder]:
    """Folders a message can be moved to, in the tree's order, account by account."""
    by_account: dict[int, list[Folder]] = {}
    for folder in folders:
        if folder.is_selectable:
            by_account.setdefault(folder.account_id, []).append(folder)
    return [f for account_folders in by_account.values() for f in _ordered(account_folders)]
