"""Reads, always through the one visibility rule (visibility.py) for the user asking."""

from messages_app.selectors.accounts import (
    mail_account_get,
    mail_accounts_of,
    own_account_ids,
    own_account_or_404,
    own_accounts,
    sender_accounts_for,
)
from messages_app.selectors.folders import folders_of, visible_folder_or_404, visible_folders
from messages_app.selectors.messages import (
    local_messages,
    own_messages,
    shared_messages,
    visible_attachment_or_404,
    visible_attachments,
    visible_in_folders,
    visible_message_or_404,
    visible_messages,
    visible_thread_or_404,
    visible_thread_parts,
    visible_threads,
)
from messages_app.selectors.status import folder_status_rows, mailbox_counts, special_folder_rows, unique_flagged

__all__ = [
    "folder_status_rows",
    "folders_of",
    "local_messages",
    "mailbox_counts",
    "own_messages",
    "shared_messages",
    "mail_account_get",
    "mail_accounts_of",
    "own_account_ids",
    "own_account_or_404",
    "own_accounts",
    "sender_accounts_for",
    "special_folder_rows",
    "unique_flagged",
    "visible_attachment_or_404",
    "visible_attachments",
    "visible_folder_or_404",
    "visible_folders",
    "visible_in_folders",
    "visible_message_or_404",
    "visible_messages",
    "visible_thread_or_404",
    "visible_thread_parts",
    "visible_threads",
]
