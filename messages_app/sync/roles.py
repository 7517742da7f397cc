"""Which folder plays which role (Inbox, Drafts, Sent, Spam, Trash): pure functions.

SPECIAL-USE flags win; otherwise well-known names in English and Italian (and a few other
languages users meet on Italian providers), matched on the last path component, case-insensitively.
"""

from messages_app.enums import FolderRole

SPECIAL_USE_FLAGS = {
    "\\drafts": FolderRole.DRAFTS,
    "\\sent": FolderRole.SENT,
    "\\junk": FolderRole.SPAM,
    "\\trash": FolderRole.TRASH,
}

ROLE_NAMES = {
    FolderRole.DRAFTS: {"drafts", "draft", "bozze", "brouillons", "entwürfe", "borradores"},
    FolderRole.SENT: {"sent", "sent items", "sent mail", "sent messages", "posta inviata", "inviata", "inviati",
                      "elementi inviati", "messaggi inviati", "gesendet", "envoyés", "enviados"},
    FolderRole.SPAM: {"junk", "spam", "junk e-mail", "junk email", "posta indesiderata", "indesiderata",
                      "bulk mail", "posta in arrivo indesiderata"},
    FolderRole.TRASH: {"trash", "deleted items", "deleted messages", "deleted", "bin", "cestino",
                       "posta eliminata", "elementi eliminati", "papierkorb", "corbeille", "papelera"},
}


def role_from_flags(flags: tuple[str, ...]) -> str:
    for flag in flags:
        role = SPECIAL_USE_FLAGS.get(flag.lower())
        if role:
            return role
    return ""


def role_from_name(name: str, delimiter: str) -> str:
    if name.upper() == "INBOX":
        return FolderRole.INBOX
    leaf = name.rsplit(delimiter, 1)[-1] if delimiter else name
    leaf = leaf.strip().lower()
    for role, names in ROLE_NAMES.items():
        if leaf in names:
            return role
    return ""


FolderListing = tuple[str, str, tuple[str, ...]]  # (name, delimiter, flags)


def assign_roles(folders: list[FolderListing], user_choices: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Map folder name -> (role, source) with at most one folder per role.

    `folders` are (name, delimiter, flags); `user_choices` maps role -> folder name the user chose
    (it wins while that folder exists). Sources: "user", "special_use", "name".
    """
    assigned: dict[str, tuple[str, str]] = {}
    taken: set[str] = set()
    names = {name for name, _d, _f in folders}
    for role, name in user_choices.items():
        if name in names and role not in taken:
            assigned[name] = (role, "user")
            taken.add(role)
    for name, _delimiter, flags in folders:
        role = role_from_flags(flags) if name.upper() != "INBOX" else FolderRole.INBOX
        if role and role not in taken and name not in assigned:
            assigned[name] = (role, "special_use")
            taken.add(role)
    # Prefer shallower names: "Sent" beats "Archive/2019/Sent".
    for name, delimiter, _flags in sorted(folders, key=lambda f: (f[0].count(f[1] or "\0"), f[0])):
        role = role_from_name(name, delimiter)
        if role and role not in taken and name not in assigned:
            assigned[name] = (role, "name")
            taken.add(role)
    return assigned
