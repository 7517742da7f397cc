from messages_app.models.account import CompanyServer, MailAccount
from messages_app.models.arrival import ArrivalMarker
from messages_app.models.folder import Folder
from messages_app.models.link import LinkReason, LinkState, MessageLink
from messages_app.models.message import Attachment, Message, MessageBody, MessageSource, PendingAction
from messages_app.models.outbox import OutgoingMessage, OutgoingRecipient
from messages_app.models.preferences import MailPreferences, TrustedSender
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
    "Folder",
    "LinkReason",
    "LinkState",
    "MailAccount",
    "MailPreferences",
    "Message",
    "MessageBody",
    "MessageLink",
    "MessageShare",
    "MessageSource",
    "OutgoingMessage",
    "OutgoingRecipient",
    "PendingAction",
    "ShareComment",
    "SignatureChoice",
    "SyncLock",
    "Thread",
    "ThreadRef",
    "TrustedSender",
]
