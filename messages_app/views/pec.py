"""PEC in the reading pane (the badge, a sent message's delivery status), the envelope download
kept as legal evidence, and the Ricevute PEC page."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from messages_app.enums import FolderRole
from messages_app.exceptions import MailError
from messages_app.models import Message
from messages_app.selectors import visible_message_or_404, visible_messages
from messages_app.selectors.pec import pec_delivery, pec_receipts_of
from messages_app.services.message_body import message_raw
from messages_app.services.pec import pec_of, receipt_is_authentic
from messages_app.views.reading import _download


def pec_context(user, message: Message) -> dict:
    """For _reading.html: `pec` (the badge) and `pec_delivery` (a sent message's recipients)."""
    pec = pec_of(message=message)
    sent = None
    if pec is not None and pec.outgoing is not None:  # a receipt: a link to the message it is about
        sent = visible_messages(user).filter(message_id=pec.outgoing.message_id, folder__role=FolderRole.SENT).first()
    return {"pec": pec, "pec_delivery": pec_delivery(user, message), "pec_sent_message": sent,
            "pec_authentic": pec is not None and receipt_is_authentic(pec.signature)}


@never_cache  # private mail: no shared or browser cache may keep it
@login_required
@require_GET
def pec_envelope(request, pk: int):
    """The whole envelope or receipt exactly as the server has it (signature included)."""
    message = visible_message_or_404(request.user, pk)
    try:
        raw = message_raw(message)
    except MailError as exc:
        return HttpResponse(exc.user_message(), content_type="text/plain; charset=utf-8", status=502)
    return _download(raw, f"pec-{message.pk}.eml")


@never_cache
@login_required
@require_GET
def pec_receipts(request):
    receipts = list(pec_receipts_of(request.user)[:500])
    return render(request, "messages_app/pec_receipts.html", {"receipts": receipts})
