"""What a PEC message is, from the headers the provider set (X-Trasporto, X-Ricevuta).

The subject prefixes ("POSTA CERTIFICATA: ...") are no proof: anybody can write them, so only
the headers classify. A message with neither header is not PEC (an empty kind).
"""

ENVELOPE = "posta-certificata"  # busta di trasporto: the original is inside, as postacert.eml
ANOMALY = "errore"  # busta di anomalia: the message failed the provider's checks or came from outside PEC

ACCEPTANCE = "accettazione"
NON_ACCEPTANCE = "non-accettazione"
TAKEN_IN_CHARGE = "presa-in-carico"
DELIVERED = "avvenuta-consegna"
DELIVERY_ERROR = "errore-consegna"
DELIVERY_WARNING = "preavviso-errore-consegna"
VIRUS = "rilevazione-virus"

RECEIPTS = (ACCEPTANCE, NON_ACCEPTANCE, TAKEN_IN_CHARGE, DELIVERED, DELIVERY_ERROR, DELIVERY_WARNING, VIRUS)
ENVELOPES = (ENVELOPE, ANOMALY)
ALL = ENVELOPES + RECEIPTS

# What each receipt means for the recipients it names (the outbox's delivery statuses):
# "accepted" for the whole submission, "delivered" or "not_delivered" for one recipient, and
# "failed" when the sender's provider refused the submission. A warning changes nothing yet.
DELIVERY_EFFECT = {
    ACCEPTANCE: "accepted",
    NON_ACCEPTANCE: "failed",
    TAKEN_IN_CHARGE: "",
    DELIVERED: "delivered",
    DELIVERY_ERROR: "not_delivered",
    DELIVERY_WARNING: "",
    VIRUS: "not_delivered",
}


def _token(value: str | None) -> str:
    return (value or "").strip().lower()


def classify(*, x_trasporto: str = "", x_ricevuta: str = "") -> str:
    """One of ALL, or "" for a message that is not PEC (or names a kind the rules do not know)."""
    ricevuta = _token(x_ricevuta)
    if ricevuta in RECEIPTS:
        return ricevuta
    trasporto = _token(x_trasporto)
    return trasporto if trasporto in ENVELOPES else ""


def is_receipt(kind: str) -> bool:
    return kind in RECEIPTS


def is_envelope(kind: str) -> bool:
    return kind in ENVELOPES


_ENVELOPE_PREFIXES = ("POSTA CERTIFICATA:", "ANOMALIA MESSAGGIO:")
_ON_BEHALF = "per conto di:"


def envelope_list_fields(headers) -> dict:
    """For an envelope, what lists, search and threads should know it by before its body is read:
    the original subject (without "POSTA CERTIFICATA: "), the real sender (Reply-To, or the
    address in "Per conto di: ...") and the original Message-ID (X-Riferimento-Message-ID), so a
    reply to it joins its conversation. Empty for anything else. `headers`: a HeaderSummary."""
    if classify(x_trasporto=headers.x_trasporto) not in ENVELOPES:
        return {}
    fields: dict = {}
    subject = headers.subject
    for prefix in _ENVELOPE_PREFIXES:
        if subject.upper().startswith(prefix):
            fields["subject"] = subject[len(prefix):].strip()
            break
    name = headers.from_name.strip()
    if name.lower().startswith(_ON_BEHALF):
        real = name[len(_ON_BEHALF):].strip().strip('"<>').strip()
        reply_to = headers.reply_to[0][1] if headers.reply_to else ""
        fields["from_name"] = ""
        fields["from_addr"] = reply_to or (real if "@" in real else headers.from_addr)
    if headers.x_riferimento_message_id:
        fields["message_id"] = f"<{headers.x_riferimento_message_id}>"
    return fields
