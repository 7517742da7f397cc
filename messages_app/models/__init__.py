from messages_app.models.account import CompanyServer, MailAccount
from messages_app.models.arrival import ArrivalMarker
from messages_app.models.compose import ComposeUpload, OutgoingContext
from messages_app.models.counts import MailboxCounts
from messages_app.models.folder import Folder
from messages_app.models.idle import IdleListener, ListenerLease
from messages_app.models.link import LinkReason, LinkState, MessageLink
from messages_app.models.message import Attachment, Message, MessageBody, MessageSource, PendingAction
from messages_app.models.ooo import OutOfOffice, OutOfOfficeReply
from messages_app.models.outbox import OutgoingMessage, OutgoingRecipient, SharedSenderUse
from messages_app.models.pec import PecKind, PecMessage, PecSignature
from messages_app.models.pop3 import Pop3Box, Pop3Seen
from messages_app.models.preferences import MailPreferences, TrustedSender
from messages_app.models.rule import MailRule, RuleJob, RuleRun, RuleServerState
from messages_app.models.share import MessageShare, ShareComment
from messages_app.models.signature import AccountSignature, CompanySignature, SignatureChoice
from messages_app.models.synclock import SyncLock
from messages_app.models.thread import Thread, ThreadRef

__all__ = [
    "AccountSignature",
    "ArrivalMarker",
    "Attachment",
    "CompanyServer",
    "CompanySignature",
    "ComposeUpload",
    "Folder",
    "IdleListener",
    "ListenerLease",
    "LinkReason",
    "LinkState",
    "MailAccount",
    "MailboxCounts",
    "MailPreferences",
    "MailRule",
    "Message",
    "MessageBody",
    "MessageLink",
    "MessageShare",
    "MessageSource",
    "OutgoingContext",
    "OutOfOffice",
    "OutOfOfficeReply",
    "OutgoingMessage",
    "OutgoingRecipient",
    "SharedSenderUse",
    "PecKind",
    "PecMessage",
    "PecSignature",
    "PendingAction",
    "Pop3Box",
    "Pop3Seen",
    "RuleJob",
    "RuleRun",
    "RuleServerState",
    "ShareComment",
    "SignatureChoice",
    "SyncLock",
    "Thread",
    "ThreadRef",
    "TrustedSender",
]
