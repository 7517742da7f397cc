from messages_app.models.account import CompanyServer, MailAccount
from messages_app.models.arrival import ArrivalMarker
from messages_app.models.compose import ComposeUpload, OutgoingContext
from messages_app.models.folder import Folder
from messages_app.models.idle import IdleListener, ListenerLease
from messages_app.models.message import Attachment, Message, MessageBody, MessageSource, PendingAction
from messages_app.models.outbox import OutgoingMessage, OutgoingRecipient, SharedSenderUse
from messages_app.models.preferences import MailPreferences, TrustedSender
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
    "MailAccount",
    "MailPreferences",
    "Message",
    "MessageBody",
    "MessageSource",
    "OutgoingContext",
    "OutgoingMessage",
    "OutgoingRecipient",
    "SharedSenderUse",
    "PendingAction",
    "SignatureChoice",
    "SyncLock",
    "Thread",
    "ThreadRef",
    "TrustedSender",
]
