"""Reconcile the account's folder rows with the server's LIST: create, rename, delete, roles."""

from django.conf import settings
from django.db import transaction

from messages_app.gateways.imap import FolderInfo, ImapConnection
from messages_app.models import Folder, MailAccount
from messages_app.sync.roles import assign_roles


def _detect_renames(conn: ImapConnection, gone: list[Folder], new: list[FolderInfo]) -> dict[str, Folder]:
    """A folder that vanished and one that appeared with the same UIDVALIDITY is a rename: keep
    its rows (and with them read state, threads and CRM links) instead of refetching."""
    if not gone or not new:
        return {}
    by_validity = {f.uidvalidity: f for f in gone if f.uidvalidity}
    renames: dict[str, Folder] = {}
    for info in new:
        if not info.selectable:
            continue
        status = info.status or conn.folder_status(info.name)
        folder = by_validity.pop(status.get("UIDVALIDITY"), None)
        if folder is not None:
            renames[info.name] = folder
    return renames


def cap_listing(infos: list[FolderInfo], limit: int | None = None) -> tuple[list[FolderInfo], int]:
    """At most `limit` (MAIL_MAX_FOLDERS) folders of a LIST, and how many were left out: a server
    listing 20,000 folders would otherwise create 20,000 rows and a tree nobody can open. INBOX
    and the special-use folders come first, then the rest by name, so the kept set is the same
    on every pass."""
    limit = settings.MAIL_MAX_FOLDERS if limit is None else limit
    if len(infos) <= limit:
        return infos, 0

    def rank(info: FolderInfo) -> tuple:
        special = any(f.lower() in _SPECIAL_USE for f in info.flags)
        return (info.name.upper() != "INBOX", not special, info.name)

    return sorted(infos, key=rank)[:limit], len(infos) - limit


_SPECIAL_USE = {"\\sent", "\\drafts", "\\trash", "\\junk", "\\archive", "\\all", "\\flagged"}


def reconcile_folders(account: MailAccount, conn: ImapConnection, infos: list[FolderInfo]) -> list[Folder]:
    existing = {folder.name: folder for folder in account.folders.all()}
    server = {info.name: info for info in infos}
    gone = [folder for name, folder in existing.items() if name not in server]
    new = [info for name, info in server.items() if name not in existing]
    renames = _detect_renames(conn, gone, new)
    user_roles = {f.role: f.name for f in existing.values() if f.role_source == Folder.RoleSource.USER and f.role}
    for new_name, folder in renames.items():
        for role, name in list(user_roles.items()):
            if name == folder.name:
                user_roles[role] = new_name
    roles = assign_roles([(i.name, i.delimiter, i.flags) for i in infos], user_roles)
    prefix = conn.personal_prefix()

    wanted = {info.name: {"delimiter": info.delimiter or "", "flags": list(info.flags),
                          "namespace_prefix": prefix if info.name.startswith(prefix) else "",
                          "role": roles.get(info.name, ("", ""))[0], "role_source": roles.get(info.name, ("", ""))[1],
                          "is_selectable": info.selectable} for info in infos}
    unchanged = not gone and not new and all(
        all(getattr(existing[name], key) == value for key, value in fields.items())
        for name, fields in wanted.items())
    if unchanged:  # the common pass: nothing to write, and the rows just read are current
        folders = list(existing.values())
    else:
        _apply_listing(account, wanted, gone, renames)
        folders = list(account.folders.all())
    # INBOX first, then the other role folders, then the rest: newest mail where users look first.
    role_order = {"inbox": 0, "sent": 1, "drafts": 2}
    folders.sort(key=lambda f: (role_order.get(f.role, 3), f.name))
    return folders


def _apply_listing(account: MailAccount, wanted: dict[str, dict], gone: list[Folder],
                   renames: dict[str, Folder]) -> None:
    with transaction.atomic():
        renamed_ids = {folder.pk for folder in renames.values()}
        Folder.objects.filter(pk__in=[f.pk for f in gone if f.pk not in renamed_ids]).delete()
        # Clear roles first: the one-folder-per-role constraint must hold after every statement.
        Folder.objects.filter(account=account).exclude(role="").update(role="", role_source="")
        for new_name, folder in renames.items():
            Folder.objects.filter(pk=folder.pk).update(name=new_name)
        current = {f.name: f for f in account.folders.all()}
        for name, fields in wanted.items():
            if name in current:
                Folder.objects.filter(pk=current[name].pk).update(**fields)
            else:
                Folder.objects.create(account=account, name=name, **fields)


def folder_role_set(*, account: MailAccount, role: str, folder: Folder | None) -> None:
    """The user picks which folder plays a role (Impostazioni > Cartelle)."""
    with transaction.atomic():
        Folder.objects.filter(account=account, role=role).update(role="", role_source="")
        if folder is not None:
            Folder.objects.filter(pk=folder.pk, account=account).update(role=role, role_source=Folder.RoleSource.USER)
