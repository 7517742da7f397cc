"""The compose page: new mail, reply, reply all, forward (inline or as .eml), drafts continued from
Bozze, scheduled messages edited from Programmati; uploads, address suggestions, the From
account's signature; undo after Invia; Programmati's actions (send now, reschedule, delete)."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from messages_app.enums import OutboxState, SpecialFolder
from messages_app.exceptions import MailError
from messages_app.mime.reply import (
    format_address_list,
    forward_block,
    forward_subject,
    parse_address_list,
    quote_block,
    reply_recipients,
    reply_subject,
)
from messages_app.mime.sanitize import clean_html, text_to_html
from messages_app.models import MailAccount, Message, OutgoingContext
from messages_app.selectors import own_account_ids, own_accounts, sender_accounts_for, visible_message_or_404
from messages_app.selectors.correspondents import address_suggestions
from messages_app.selectors.outbox import own_outgoing, own_scheduled, own_unsent
from messages_app.selectors.uploads import own_uploads
from messages_app.services.compose import (
    ComposeData,
    ComposeState,
    compose_send,
    compose_upload_add,
    compose_uploads_expire,
    draft_discard_message,
    draft_save,
    new_draft_id,
    state_from_outbox,
    state_from_raw,
    valid_draft_id,
)
from messages_app.services.message_body import attachment_payload, message_body_get, message_raw
from messages_app.services.outbox import SenderNotAllowed, outbox_cancel, outbox_reschedule, outbox_resend
from messages_app.services.signatures import signature_for
from messages_app.signatures import signature_text

logger = logging.getLogger(__name__)
MAX_UPLOADS = 50
UPLOAD_KEEP = timedelta(days=1)


def max_attachment_bytes() -> int:
    return settings.MAIL_MAX_ATTACHMENT_MB * 1024 * 1024


def user_zone(user) -> ZoneInfo:
    try:
        return ZoneInfo(getattr(user, "time_zone", "") or settings.TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(settings.TIME_ZONE)


def _sender_choices(user) -> list[MailAccount]:
    return sender_accounts_for(user)


# --- opening the page ---------------------------------------------------------------------------


def _attribution(message: Message) -> str:
    when = formats.date_format(timezone.localtime(message.date), "DATETIME_FORMAT")
    who = f"{message.from_name} <{message.from_addr}>" if message.from_name else message.from_addr
    return _("On %(date)s, %(sender)s wrote:") % {"date": when, "sender": who}


def _original_html(message: Message) -> str:
    try:
        body = message_body_get(message=message)
    except MailError:
        return ""
    if body.html:
        return clean_html(body.html).html
    return text_to_html(body.text).replace("\n", "<br>")


def _own_addresses(user) -> list[str]:
    return [a.email for a in own_accounts(user)] + ([user.email] if user.email else [])


def _account_for_original(user, message: Message) -> int | None:
    """Answer from the account the original came to."""
    if message.account_id and message.account_id in own_account_ids(user):
        return message.account_id
    return None


def _state_for_reply(user, message: Message, *, reply_all: bool) -> ComposeState:
    to, cc = reply_recipients(from_pair=(message.from_name, message.from_addr), reply_to=message.reply_to,
                              to=message.to, cc=message.cc, own_addresses=_own_addresses(user), reply_all=reply_all)
    return ComposeState(
        account_id=_account_for_original(user, message), to=format_address_list(to), cc=format_address_list(cc),
        subject=reply_subject(message.subject), kind=OutgoingContext.Kind.REPLY, original_id=message.pk,
        quote_html=quote_block(attribution=_attribution(message), original_html=_original_html(message)))


def _eml_name(message: Message) -> str:
    subject = "".join(c for c in message.subject if c.isalnum() or c in " -_")[:60].strip()
    return f"{subject or 'message'}.eml"


def _state_for_forward(user, message: Message, *, as_attachment: bool) -> ComposeState:
    state = ComposeState(account_id=_account_for_original(user, message), subject=forward_subject(message.subject),
                         kind=OutgoingContext.Kind.FORWARD, original_id=message.pk)
    if as_attachment:
        try:
            raw = message_raw(message)
        except MailError as exc:
            raise ValidationError(exc.user_message()) from None
        state.uploads.append(compose_upload_add(
            user=user, filename=_eml_name(message), content_type="message/rfc822", data=raw))
        return state
    when = formats.date_format(timezone.localtime(message.date), "DATETIME_FORMAT")
    sender = f"{message.from_name} <{message.from_addr}>" if message.from_name else message.from_addr
    lines = [(_("From"), sender), (_("Date"), when), (_("Subject"), message.subject),
             (_("To"), format_address_list(message.to)), (_("Cc"), format_address_list(message.cc))]
    state.quote_html = forward_block(header_lines=lines, original_html=_original_html(message),
                                     title=_("Forwarded message"))
    for part in message.attachments.filter(is_inline=False).order_by("id"):
        part.message = message
        try:
            data = attachment_payload(attachment=part)
        except (MailError, LookupError):
            continue
        state.uploads.append(compose_upload_add(
            user=user, filename=part.filename or "attachment", content_type=part.content_type, data=data))
    return state


def _initial_state(request) -> ComposeState:
    user, params = request.user, request.GET
    for key in ("reply", "reply_all", "forward", "draft", "outbox"):
        value = params.get(key, "")
        if value and not value.isdigit():
            raise Http404
    if params.get("reply") or params.get("reply_all"):
        message = visible_message_or_404(user, int(params.get("reply") or params["reply_all"]))
        return _state_for_reply(user, message, reply_all=bool(params.get("reply_all")))
    if params.get("forward"):
        message = visible_message_or_404(user, int(params["forward"]))
        return _state_for_forward(user, message, as_attachment=params.get("as") == "eml")
    if params.get("draft"):
        message = visible_message_or_404(user, int(params["draft"]))
        try:
            state = state_from_raw(user=user, raw=message_raw(message))
        except MailError as exc:
            raise ValidationError(exc.user_message()) from None
        if not state.draft_id:  # a draft from another program: ours from now on
            state.draft_id = new_draft_id()
            state.replaces_draft = message.pk
        state.draft_account_id = message.account_id
        return state
    if params.get("outbox"):
        item = get_object_or_404(own_outgoing(user), pk=int(params["outbox"]),
                                 state__in=[OutboxState.SCHEDULED, OutboxState.CANCELLED, OutboxState.FAILED])
        return state_from_outbox(user=user, item=item)
    state = ComposeState()
    if params.get("to"):
        with contextlib.suppress(ValueError):
            state.to = format_address_list(parse_address_list(params["to"]))
    return state


def _default_account(accounts: list[MailAccount], user, wanted: int | None) -> int | None:
    ids = [a.pk for a in accounts]
    if wanted in ids:
        return wanted
    own_ids = own_account_ids(user)
    primary = next((a for a in accounts if a.pk in own_ids and a.is_primary), None)
    own = next((a for a in accounts if a.pk in own_ids), None)
    chosen = primary or own or (accounts[0] if accounts else None)
    return chosen.pk if chosen else None


def _local_input(value: datetime | None, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%dT%H:%M") if value else ""


def _page(request, state: ComposeState, *, errors: dict | None = None, status: int = 200):
    user = request.user
    accounts = _sender_choices(user)
    zone = user_zone(user)
    account_id = _default_account(accounts, user, state.account_id)
    signed = {a.pk for a in accounts if signature_for(user=user, account=a)[0].strip()}
    return render(request, "messages_app/compose.html", {
        "state": state, "accounts": accounts, "account_id": account_id, "errors": errors or {},
        "signed": signed, "signature_shown": account_id in signed,
        "draft_id": state.draft_id or new_draft_id(),
        "send_at_local": _local_input(state.send_at, zone),
        "min_send_at": _local_input(timezone.now(), zone), "zone_name": str(zone),
        "max_bytes": max_attachment_bytes(), "max_mb": settings.MAIL_MAX_ATTACHMENT_MB,
        "undo_seconds": settings.MAIL_UNDO_SEND_SECONDS,
        "quote_preview": signature_text(state.quote_html)[:3000] if state.quote_html else "",
        "original": Message.objects.filter(pk=state.original_id).first() if state.original_id else None,
    }, status=status)


# --- reading the form ---------------------------------------------------------------------------


def _int_or_none(value: str) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 18 else None


def parse_send_at(value: str, zone: ZoneInfo) -> datetime | None:
    """A datetime-local value ("2026-12-01T18:30") in the user's time zone, as an aware datetime."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        naive = datetime.strptime(value[:16], "%Y-%m-%dT%H:%M")
    except ValueError:
        raise ValidationError(_("Enter a valid date and time."), code="bad_send_at") from None
    return naive.replace(tzinfo=zone)


def _form_data(request) -> tuple[ComposeData | None, dict, dict]:
    """The posted form as ComposeData, the field errors, and the other values (send_at, draft
    bookkeeping)."""
    post, user = request.POST, request.user
    errors: dict[str, str] = {}
    account_pk = _int_or_none(post.get("account", ""))
    account = MailAccount.objects.filter(pk=account_pk).first() if account_pk else None
    if account is None:
        errors["account"] = _("Choose the account to send from.")
    addresses = {}
    for name in ("to", "cc", "bcc"):
        try:
            addresses[name] = parse_address_list(post.get(name, ""))
        except ValueError as exc:
            errors[name] = _("“%(value)s” is not an e-mail address.") % {"value": str(exc)[:100]}
            addresses[name] = []
    original = None
    original_pk = _int_or_none(post.get("original", ""))
    if original_pk:
        original = Message.objects.filter(pk=original_pk).first()
    kind = post.get("kind", "")
    if kind not in (OutgoingContext.Kind.REPLY, OutgoingContext.Kind.FORWARD):
        kind = ""
    upload_ids = [i for i in (_int_or_none(v) for v in post.getlist("uploads")) if i][:MAX_UPLOADS]
    extra = {"send_at": None, "replaces": _int_or_none(post.get("replaces", "")),
             "draft_message": _int_or_none(post.get("draft_message", "")),
             "draft_account": _int_or_none(post.get("draft_account", ""))}
    try:
        extra["send_at"] = parse_send_at(post.get("send_at", ""), user_zone(user))
    except ValidationError as exc:
        errors["send_at"] = exc.messages[0]
    if account is None:
        return None, errors, extra
    data = ComposeData(
        account=account, to=addresses["to"], cc=addresses["cc"], bcc=addresses["bcc"],
        subject=post.get("subject", "")[:900], body_html=post.get("body_html", "")[:2_000_000],
        quote_html=post.get("quote_html", "")[:5_000_000], upload_ids=upload_ids, original=original, kind=kind,
        draft_id=valid_draft_id(post.get("draft_id", "")))
    return data, errors, extra


def _wants_json(request) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _failed(request, errors: dict, status: int = 400):
    if _wants_json(request):
        return JsonResponse({"errors": errors}, status=status)
    state = ComposeState(to=request.POST.get("to", ""), cc=request.POST.get("cc", ""), bcc=request.POST.get("bcc", ""),
                         subject=request.POST.get("subject", ""), body_html=request.POST.get("body_html", ""),
                         quote_html=request.POST.get("quote_html", ""),
                         uploads=list(own_uploads(request.user, request.POST.getlist("uploads"))),
                         draft_id=valid_draft_id(request.POST.get("draft_id", "")))
    return _page(request, state, errors=errors, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def compose(request):
    if request.method == "GET":
        try:
            state = _initial_state(request)
        except ValidationError as exc:
            return render(request, "messages_app/compose_error.html", {"error": exc.messages[0]}, status=502)
        return _page(request, state)
    data, errors, extra = _form_data(request)
    if data is not None and not (data.to or data.cc or data.bcc):
        errors["to"] = _("A message needs at least one recipient.")
    send_at = extra["send_at"]
    if send_at is not None and send_at < timezone.now() - timedelta(minutes=1):
        errors["send_at"] = _("The time to send it has already passed.")
    if errors:
        return _failed(request, errors)
    if not extra["draft_account"]:
        data.draft_id = ""  # never saved: no draft to remove once sent
    try:
        item = compose_send(user=request.user, data=data, send_at=send_at, replaces=extra["replaces"])
    except SenderNotAllowed:
        return _failed(request, {"account": _("You may not send from this account.")}, status=403)
    except ValidationError as exc:
        return _failed(request, {"general": " ".join(exc.messages)})
    _discard_foreign_draft(request.user, extra["draft_message"])
    request.session["postino_sent"] = item.pk
    if send_at is not None:
        target = reverse("messages_app:special", args=[SpecialFolder.SCHEDULED.value])
    else:
        target = reverse("messages_app:index")
    if _wants_json(request):
        return JsonResponse({"redirect": target, "outbox": item.pk})
    return redirect(target)


@login_required
@require_POST
def compose_draft(request):
    """Autosave: the draft into the Drafts folder of the From account, replacing its last copy."""
    data, errors, extra = _form_data(request)
    if data is None or not data.draft_id:
        return JsonResponse({"errors": errors or {"draft_id": "bad draft id"}}, status=400)
    previous = None
    if extra["draft_account"]:
        previous = own_accounts(request.user).filter(pk=extra["draft_account"]).first()
    try:
        store = draft_save(user=request.user, data=data, previous_account=previous)
    except SenderNotAllowed:
        return JsonResponse({"errors": {"account": _("You may not send from this account.")}}, status=403)
    except ValidationError as exc:
        return JsonResponse({"errors": {"general": " ".join(exc.messages)}}, status=400)
    except MailError as exc:
        return JsonResponse({"errors": {"general": exc.user_message()}}, status=502)
    _discard_foreign_draft(request.user, extra["draft_message"])
    saved = formats.time_format(timezone.localtime(timezone.now(), user_zone(request.user)), "H:i")
    return JsonResponse({"draft_account": store.pk, "draft_message_cleared": True,
                         "status": _("Draft saved at %(time)s") % {"time": saved}})


def _discard_foreign_draft(user, message_id: int | None) -> None:
    if not message_id:
        return
    try:
        draft_discard_message(user=user, message_id=message_id)
    except MailError as exc:
        logger.info("compose: the draft %s being continued was not removed: %s", message_id, exc)


@login_required
@require_POST
def compose_upload(request):
    """One attachment; answered with its id for the form, or 413 with the reason in words."""
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"error": _("No file was received.")}, status=400)
    limit = max_attachment_bytes()
    already = sum(own_uploads(request.user, request.POST.getlist("uploads")).values_list("size", flat=True))
    if upload.size > limit or upload.size + already > limit:
        return JsonResponse({"error": _("“%(name)s” is too large: attachments may add up to %(limit)s MB.") % {
            "name": upload.name, "limit": settings.MAIL_MAX_ATTACHMENT_MB}}, status=413)
    # Uploads of a message never sent are kept a day (a draft reopened makes new ones).
    compose_uploads_expire(user=request.user, before=timezone.now() - UPLOAD_KEEP)
    item = compose_upload_add(user=request.user, filename=upload.name, content_type=upload.content_type,
                              data=upload.read())
    return JsonResponse({"id": item.pk, "filename": item.filename, "size": item.size})


@login_required
@require_GET
def compose_addresses(request):
    """Suggestions for an address field: {"results": [{"name", "address"}]}."""
    query = request.GET.get("q", "").strip()[:100]
    if len(query) < 1:
        return JsonResponse({"results": []})
    return JsonResponse({"results": address_suggestions(request.user, query)})


@never_cache
@login_required
@require_GET
def compose_signature(request, pk: int):
    """The signature an account's mail carries, as a small document for the compose page's frame."""
    account = next((a for a in _sender_choices(request.user) if a.pk == pk), None)
    if account is None:
        raise Http404
    html, _text = signature_for(user=request.user, account=account)
    response = render(request, "messages_app/body.html", {"html": clean_html(html).html})
    response["Content-Security-Policy"] = ("default-src 'none'; img-src data: https:; style-src 'unsafe-inline'; "
                                           "frame-ancestors 'self'; sandbox")
    response["X-Frame-Options"] = "SAMEORIGIN"
    return response


# --- after Invia, and Programmati ---------------------------------------------------------------


@login_required
@require_POST
def outbox_undo(request, pk: int):
    """Annulla: take the message back within the undo window and open it again to edit."""
    if outbox_cancel(user=request.user, outbox_id=pk):
        return redirect(f"{reverse('messages_app:compose')}?outbox={pk}")
    request.session["postino_notice"] = _("Too late: the message has already been sent.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = reverse("messages_app:index")
    return redirect(target)


def scheduled_items(user):
    return own_scheduled(user)


# How long a message that did not leave (failed, or uncertain after a dead worker) stays listed
# in Programmati, with the server's reason and what the user can do about it.
UNSENT_SHOWN_DAYS = 7


def unsent_items(user):
    return own_unsent(user, since=timezone.now() - timedelta(days=UNSENT_SHOWN_DAYS))[:50]


def _scheduled_url() -> str:
    return reverse("messages_app:special", args=[SpecialFolder.SCHEDULED.value])


@login_required
@require_POST
def scheduled_action(request, pk: int):
    """Programmati: send now, reschedule or delete one scheduled message of the user's, or send
    again one whose sending was interrupted (uncertain)."""
    item = get_object_or_404(own_outgoing(request.user), pk=pk)
    action = request.POST.get("action", "")
    if action == "resend":
        done = outbox_resend(user=request.user, outbox_id=pk)  # beat's poll sends it within seconds
        request.session["postino_notice"] = _("Sending again.") if done else _(
            "“%(subject)s” is no longer waiting for your choice.") % {"subject": item.subject}
        return redirect(_scheduled_url())
    if action == "send_now":
        done = outbox_reschedule(user=request.user, outbox_id=pk, send_at=timezone.now())
        notice = _("Sending now.") if done else ""
    elif action == "reschedule":
        try:
            when = parse_send_at(request.POST.get("send_at", ""), user_zone(request.user))
        except ValidationError as exc:
            when, notice = None, exc.messages[0]
        if when is None:
            request.session["postino_notice"] = notice if request.POST.get("send_at") else _("Choose a time.")
            return redirect(_scheduled_url())
        done = outbox_reschedule(user=request.user, outbox_id=pk, send_at=when)
        notice = _("Rescheduled for %(when)s.") % {
            "when": formats.date_format(when.astimezone(user_zone(request.user)), "DATETIME_FORMAT")}
    elif action == "delete":
        done = outbox_cancel(user=request.user, outbox_id=pk)
        notice = _("Scheduled message deleted.")
    else:
        return HttpResponse("unknown action", status=400)
    if not done:
        notice = _("Too late: “%(subject)s” is no longer scheduled.") % {"subject": item.subject}
    request.session["postino_notice"] = notice
    if action == "send_now" and done:
        request.session["postino_send_now"] = pk
    return redirect(_scheduled_url())


def sent_toast(request) -> dict:
    """For the mailbox page after Invia: the item to offer Annulla for, or a notice."""
    pk = request.session.pop("postino_sent", None)
    notice = request.session.pop("postino_notice", "")
    request.session.pop("postino_send_now", None)
    item = None
    if pk:
        item = own_scheduled(request.user).filter(pk=pk).first()
    if item is None:
        return {"notice": notice} if notice else {}
    seconds = max(0, int((item.send_at - timezone.now()).total_seconds()))
    scheduled = seconds > settings.MAIL_UNDO_SEND_SECONDS + 5
    return {"item": item, "seconds": seconds, "scheduled": scheduled, "notice": notice,
            "when": timezone.localtime(item.send_at, user_zone(request.user))}
