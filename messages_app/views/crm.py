"""Mail and CRM records together: a message's links (with their reason), a record's mail
timeline, the "Da collegare" queue, and shared conversations (Condivisa).

Every message is reached through the visibility rule and every record through crm.selectors:
another user's message, record, link or share is a 404."""

from urllib.parse import urlencode

from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from crm.addresses import normalise
from crm.models import RecordKind
from crm.selectors import record_or_404, records_search
from messages_app.mailbox.keyset import Cursor
from messages_app.models import LinkState, Message
from messages_app.selectors import sender_accounts_for, visible_message_or_404
from messages_app.selectors.crm import (
    message_links,
    own_message,
    pending_links,
    record_timeline,
    thread_comments,
    thread_shares,
)
from messages_app.services.crm_links import link_add, link_set_state
from messages_app.services.shares import colleagues_of, share_comment_add, share_create, share_revoke


def crm_context(user, message: Message) -> dict:
    """What the reading pane shows about CRM links and sharing for this message."""
    mine = own_message(user, message)
    shares = thread_shares(message.thread_id)
    return {
        "own": mine,
        # Shared with them: read-only, yet they may answer it from their own accounts.
        "can_answer": mine or bool(sender_accounts_for(user)),
        "crm_links": message_links(user, message) if mine else [],
        "shares": shares,
        "my_share": next((s for s in shares if s.recipient_id == user.pk), None),
        "share_comments": thread_comments(message.thread_id) if shares else [],
        "new_contact_url": _new_contact_url(message) if mine else "",
        "colleagues": list(colleagues_of(user)[:200]) if mine else [],
    }


def _new_contact_url(message: Message) -> str:
    """"Create a contact from the sender", prefilled with the sender's name and address."""
    first, _sep, last = (message.from_name or "").strip().partition(" ")
    params = {"first_name": first, "last_name": last, "emails": normalise(message.from_addr)}
    return f"{reverse('crm:create', args=['contact'])}?{urlencode({k: v for k, v in params.items() if v})}"


def _links_panel(request, message: Message):
    return render(request, "messages_app/_crm_links.html", {"message": message, **crm_context(request.user, message)})


@never_cache
@login_required
@require_GET
def links_panel(request, pk: int):
    return _links_panel(request, visible_message_or_404(request.user, pk))


@never_cache
@login_required
@require_GET
def link_search(request, pk: int):
    """Records to link this message to: the user's own, by name or address."""
    message = visible_message_or_404(request.user, pk)
    if not own_message(request.user, message):
        raise Http404
    records = records_search(request.user, request.GET.get("q", ""))
    return render(request, "messages_app/_crm_search.html", {"message": message, "records": records})


@login_required
@require_POST
def link_create(request, pk: int):
    message = visible_message_or_404(request.user, pk)
    kind = request.POST.get("kind", "")
    if kind not in RecordKind.values or not request.POST.get("record", "").isdigit():
        raise Http404
    link_add(user=request.user, message=message, kind=kind, record_id=int(request.POST["record"]))
    return _links_panel(request, message)


@login_required
@require_POST
def link_state(request, link_id: int):
    """Remove a link, or confirm / dismiss one waiting in "Da collegare"."""
    state = {"remove": LinkState.DISMISSED, "dismiss": LinkState.DISMISSED,
             "confirm": LinkState.LINKED}.get(request.POST.get("action", ""))
    if state is None:
        raise Http404
    link = link_set_state(user=request.user, link_id=link_id, state=state)
    if request.POST.get("next") == "pending":
        if not request.htmx:
            return redirect("messages_app:crm_pending")
        return render(request, "messages_app/crm/_pending_row_done.html", {"link": link})
    return _links_panel(request, visible_message_or_404(request.user, link.message_id))


@never_cache
@login_required
@require_GET
def pending(request):
    """"Da collegare": matches too unsure to link by themselves, for one-click confirm or dismiss."""
    links = list(pending_links(request.user)[:200])
    return render(request, "messages_app/crm/pending.html", {"links": links, "kind": "pending"})


@never_cache
@login_required
@require_GET
def record_timeline_view(request, kind: str, pk: int):
    """The mail timeline of one of the user's records (loaded into the record page), a page at a
    time: `?cursor=` continues after the previous page's last message."""
    record = record_or_404(request.user, kind, pk)
    cursor = Cursor.parse(request.GET.get("cursor"))
    page = record_timeline(request.user, RecordKind(kind).value, record, cursor=cursor)
    return render(request, "messages_app/crm/_timeline.html",
                  {"threads": page.threads, "next_cursor": page.next_cursor, "record": record,
                   "kind": kind, "continued": cursor is not None})


@login_required
@require_POST
def share(request, pk: int):
    message = visible_message_or_404(request.user, pk)
    ids = [int(v) for v in request.POST.getlist("recipients") if v.isdigit()]
    recipients = list(colleagues_of(request.user).filter(pk__in=ids))
    if not recipients:
        flash.error(request, _("Choose at least one colleague to share with."))
    else:
        share_create(user=request.user, message=message, recipients=recipients,
                     comment=request.POST.get("comment", "")[:5000])
    if request.htmx:
        return _links_panel(request, message)
    return redirect("messages_app:message", pk=message.pk)


@login_required
@require_POST
def share_remove(request, pk: int):
    """The sharer revokes the conversation (from one colleague, or from all)."""
    message = visible_message_or_404(request.user, pk)
    if message.thread_id is None:
        raise Http404
    recipient = request.POST.get("recipient", "")
    share_revoke(user=request.user, thread_id=message.thread_id,
                 recipient_id=int(recipient) if recipient.isdigit() else None)
    if request.htmx:
        return _links_panel(request, message)
    return redirect("messages_app:message", pk=message.pk)


@login_required
@require_POST
def share_comment(request, pk: int):
    message = visible_message_or_404(request.user, pk)
    text = request.POST.get("text", "").strip()
    if message.thread_id is None:
        raise Http404
    if text:
        share_comment_add(user=request.user, thread_id=message.thread_id, text=text)
    if request.htmx:
        return _links_panel(request, message)
    return redirect("messages_app:message", pk=message.pk)

