"""What a PEC envelope or receipt certifies (pec/ reads it; services/pec.py stores it).

One row per PEC message, written by the `pec_receipts` arrival step, or on first open for mail
that arrived before it. A receipt row points at the outgoing message it is about, found by
X-Riferimento-Message-ID or daticert.xml's msgid; its effect on each recipient is in
OutgoingRecipient (source `pec`).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from messages_app.models.message import Message
from messages_app.models.outbox import OutgoingMessage


class PecKind(models.TextChoices):
    ENVELOPE = "posta-certificata", _("Certified message")
    ANOMALY = "errore", _("Anomaly envelope")
    ACCEPTANCE = "accettazione", pgettext_lazy("pec receipt", "Acceptance")
    NON_ACCEPTANCE = "non-accettazione", pgettext_lazy("pec receipt", "Non-acceptance")
    TAKEN_IN_CHARGE = "presa-in-carico", pgettext_lazy("pec receipt", "Taken in charge")
    DELIVERED = "avvenuta-consegna", pgettext_lazy("pec receipt", "Delivery")
    DELIVERY_ERROR = "errore-consegna", pgettext_lazy("pec receipt", "Non-delivery")
    DELIVERY_WARNING = "preavviso-errore-consegna", pgettext_lazy("pec receipt", "Delivery warning")
    VIRUS = "rilevazione-virus", pgettext_lazy("pec receipt", "Virus detected")


class PecSignature(models.TextChoices):
    TRUSTED = "trusted", _("signature valid, provider trusted")
    INTACT = "intact", _("signature intact, issuer not verified")
    UNTRUSTED = "untrusted", _("signature intact, issuer not among the trusted providers")
    TAMPERED = "tampered", _("the message was altered after the provider signed it")
    UNREADABLE = "unreadable", _("the signature could not be read")
    UNSIGNED = "unsigned", _("not signed")
    UNCHECKED = "unchecked", _("signature not checked")


class PecMessage(models.Model):
    message = models.OneToOneField(Message, on_delete=models.CASCADE, primary_key=True, related_name="pec")
    kind = models.CharField(max_length=32, choices=PecKind.choices)
    # From daticert.xml: the certified sender, the event's date and time, the provider's id, the provider.
    certified_sender = models.CharField(max_length=320, blank=True)
    certified_at = models.DateTimeField(null=True, blank=True)
    identifier = models.CharField(max_length=500, blank=True)
    provider = models.CharField(max_length=500, blank=True)
    original_message_id = models.CharField(max_length=998, blank=True)  # daticert msgid
    recipient = models.CharField(max_length=320, blank=True)  # consegna: whom a delivery receipt is about
    error = models.CharField(max_length=32, blank=True)  # nessuno, no-dest, no-dominio, virus, altro
    error_detail = models.TextField(blank=True)  # errore-esteso
    receipt_type = models.CharField(max_length=16, blank=True)  # completa, breve, sintetica
    # Where postacert.eml sits in the envelope (IMAP part numbering); its parts are below it.
    inner_part_path = models.CharField(max_length=64, blank=True)
    signature = models.CharField(max_length=12, choices=PecSignature.choices, default=PecSignature.UNCHECKED)
    signer = models.CharField(max_length=500, blank=True)
    signature_detail = models.TextField(blank=True)
    notes = models.JSONField(default=list)  # what could not be read, in words
    outgoing = models.ForeignKey(OutgoingMessage, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="pec_receipts")
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["outgoing"], name="pec_receipts_of_outgoing")]

    def __str__(self) -> str:
        return f"{self.kind} ({self.message_id})"

    @property
    def is_receipt(self) -> bool:
        return self.kind not in (PecKind.ENVELOPE, PecKind.ANOMALY)
