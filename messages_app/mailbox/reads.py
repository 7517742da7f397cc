"""What one mailbox request reads once and several parts of the page use: the user's folders
(with their accounts and counters) for the folder column, the scope, the move targets and the
change token; their accounts for the column's branches; their layout.

Kept on the request, so nothing outlives it: a later request (or a write in this one, which
the mailbox views do not make) reads again.
"""

from functools import cached_property

from messages_app.models import Folder, MailAccount, MailPreferences
from messages_app.selectors import folders_of, own_accounts
from messages_app.services.preferences import preferences_for_page


class MailboxReads:
    def __init__(self, user):
        self.user = user

    @cached_property
    def folders(self) -> list[Folder]:
        return list(folders_of(self.user))

    @cached_property
    def accounts(self) -> list[MailAccount]:
        return list(own_accounts(self.user))

    @cached_property
    def preferences(self) -> MailPreferences:
        # With `ooo_on` for base.html's out-of-office banner, in the same query.
        return preferences_for_page(self.user)


def request_reads(request) -> MailboxReads:
    reads = getattr(request, "_mailbox_reads", None)
    if reads is None:
        reads = request._mailbox_reads = MailboxReads(request.user)
    return reads
