"""Guard: views and the mailbox reads never decide ownership themselves; they ask selectors/."""

import re
from pathlib import Path

import messages_app

APP = Path(messages_app.__file__).parent
GUARDED = ("views", "mailbox")
# `owner=`, `owner__...`, `owner_id=`, `local_owner=` in a filter, and `.owner_id ==/!=` comparisons.
OWNERSHIP = re.compile(r"owner(?:_id)?(?:__\w+)?\s*=(?!=)|\.owner(?:_id)?\s*[!=]=")
# Making a new row for the user is not a visibility filter.
ALLOWED = {"return _edit(request, MailAccount(owner=request.user))", "account = MailAccount(owner=request.user)"}


def ownership_filters() -> list[str]:
    found = []
    for package in GUARDED:
        for path in sorted((APP / package).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                if OWNERSHIP.search(line) and line.strip() not in ALLOWED:
                    found.append(f"{path.relative_to(APP)}:{number}: {line.strip()}")
    return found


def test_the_guard_recognises_every_way_of_writing_an_ownership_filter():
    for line in ('Message.objects.filter(account__owner=user)', 'Folder.objects.filter(owner_id = user.pk)',
                 'get_object_or_404(Attachment, message__account__owner_id=int(pk))', 'Thread(owner=user)',
                 'Q(local_owner=user)', 'if destination.account.owner_id != user.pk:'):
        assert OWNERSHIP.search(line), line
    assert not OWNERSHIP.search("owner_pk, message_pk = signer.unsign(token).split(':')")


def test_views_and_mailbox_filter_by_owner_nowhere():
    assert ownership_filters() == []
