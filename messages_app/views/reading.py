"""Reading a message: headers, the body (HTML in a sandboxed iframe with its own CSP), inline
images, attachments."""

from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from messages_app.exceptions import MailError
from messages_app.mailbox.scopes import message_scope
from messages_app.mime.parse import PartNotFoundError
from messages_app.mime.sanitize import clean_html, text_to_html
from messages_app.models import Message
from messages_app.selectors import visible_attachment_or_404, visible_message_or_404
from messages_app.selectors.outbox import delivery_of_message
from messages_app.services.message_body import (
    attachment_payload,
    attachments_zip,
    message_body_get,
    message_mark_read_on_open,
)
from messages_app.services.preferences import preferences_of, sender_is_trusted, sender_trust
from messages_app.views.crm import crm_context
from messages_app.views.mailbox import list_context, shell_context

# Inline images are requested by the sandboxed frame, whose opaque origin may not carry the
# session cookie: a signed token names the user, the message and the one inline part instead. It
# opens nothing else (no attachment of the same message) and lives only as long as the body page
# needs: the frame gets fresh tokens each time it is loaded.
CID_SALT = "postino.inline-part"
CID_MAX_AGE = 15 * 60
SAFE_IMAGE_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"}


def owned_message(user, pk: int) -> Message:
    return visible_message_or_404(user, pk)


def _cid_url_maker(request, message: Message):
    signer = signing.TimestampSigner(salt=CID_SALT)
    inline = {}
    for part in message.attachments.all():
        if part.is_inline and part.content_id:
            inline.setdefault(part.content_id.lower(), part)

    def cid_url(content_id: str) -> str | None:
        part = inline.get(content_id.lower())
        if part is None:
            return None
        path = reverse("messages_app:message_cid", args=[message.pk, part.pk])
        token = signer.sign(f"{request.user.pk}:{message.pk}:{part.pk}")
        return request.build_absolute_uri(f"{path}?t={token}")

    return cid_url


def _images_allowed(request, message: Message) -> bool:
    return request.GET.get("images") == "1" or sender_is_trusted(request.user, message.from_addr)


@never_cache  # private mail: no shared or browser cache may keep it
@login_required
@require_GET
def message_read(request, pk: int):
    message = owned_message(request.user, pk)
    preferences = preferences_of(request.user)
    context = {"message": message, "error": "", "body": None,
               "delivery": delivery_of_message(request.user, message), **crm_context(request.user, message)}
    try:
        body = message_body_get(message=message)
    except MailError as exc:
        context["error"] = exc.user_message()
    else:
        if preferences.mark_read_on_open and context["own"]:  # shared mail is read-only
            message_mark_read_on_open(user=request.user, message=message)
        allow_images = _images_allowed(request, message)
        context.update(
            body=body,
            attachments=[a for a in message.attachments.all() if not a.is_inline],
            allow_images=allow_images,
            blocked_remote=0 if allow_images or not body.html else clean_html(body.html).blocked_remote,
            text_html=text_to_html(body.text) if not body.html else "",
        )
        from messages_app.views.pec import pec_context  # imports this module

        context.update(pec_context(request.user, message))
    if request.htmx:
        return render(request, "messages_app/_reading.html", context)
    scope = message_scope(request.user, message)
    listing = list_context(request, scope)
    return render(request, "messages_app/mailbox.html", {
        **shell_context(request, scope, listing["preferences"]), **listing, **context, "reading": True,
    })


def body_csp(request, message: Message, *, allow_images: bool) -> str:
    cid_base = request.build_absolute_uri(reverse("messages_app:message_cid_base", args=[message.pk]))
    images = f"{cid_base} data:" + (" https: http:" if allow_images else "")
    return "; ".join([
        "default-src 'none'",
        f"img-src {images}",
        "style-src 'unsafe-inline'",
        "font-src 'none'",
        "form-action 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
        "sandbox allow-popups allow-popups-to-escape-sandbox",
    ])


@never_cache  # private mail: no shared or browser cache may keep it
@xframe_options_sameorigin  # framed by the reading pane; every other page is DENY
@login_required
@require_GET
def message_body(request, pk: int):
    """The HTML body as its own document, for the sandboxed iframe of the reading pane."""
    message = owned_message(request.user, pk)
    try:
        body = message_body_get(message=message)
    except MailError as exc:
        return HttpResponse(exc.user_message(), content_type="text/plain; charset=utf-8", status=502)
    allow_images = _images_allowed(request, message)
    safe = clean_html(body.html, allow_remote=allow_images, cid_url=_cid_url_maker(request, message))
    response = render(request, "messages_app/body.html", {"html": safe.html})
    response["Content-Security-Policy"] = body_csp(request, message, allow_images=allow_images)
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@require_GET
def message_cid(request, pk: int, part_pk: int):
    """An inline part (`cid:` image) of a message, for the token holder (see CID_SALT)."""
    try:
        owner_pk, message_pk, signed_part_pk = signing.TimestampSigner(salt=CID_SALT).unsign(
            request.GET.get("t", ""), max_age=CID_MAX_AGE).split(":")
    except (signing.BadSignature, ValueError):
        raise Http404 from None
    if (int(message_pk), int(signed_part_pk)) != (pk, part_pk) or (
            request.user.is_authenticated and request.user.pk != int(owner_pk)):
        raise Http404
    part = visible_attachment_or_404(int(owner_pk), part_pk, message_id=pk, is_inline=True)
    try:
        data = attachment_payload(attachment=part)
    except (MailError, PartNotFoundError):
        raise Http404 from None
    content_type = part.content_type.lower() if part.content_type.lower() in SAFE_IMAGE_TYPES else (
        "application/octet-stream")
    response = HttpResponse(data, content_type=content_type)
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _download(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@never_cache  # private mail: no shared or browser cache may keep it
@login_required
@require_GET
def attachment(request, pk: int, part_pk: int):
    message = owned_message(request.user, pk)
    part = visible_attachment_or_404(request.user, part_pk, message=message)
    part.message = message
    try:
        data = attachment_payload(attachment=part)
    except PartNotFoundError:
        raise Http404 from None
    except MailError as exc:
        return HttpResponse(exc.user_message(), content_type="text/plain; charset=utf-8", status=502)
    return _download(data, part.filename or f"attachment-{part.pk}")


@never_cache  # private mail: no shared or browser cache may keep it
@login_required
@require_POST  # costly work: a form with the CSRF token, never a link another site can trigger
def attachments_all(request, pk: int):
    message = owned_message(request.user, pk)
    parts = list(message.attachments.filter(is_inline=False).order_by("id"))
    if not parts:
        raise Http404
    try:
        data = attachments_zip(message=message, attachments=parts)
    except PartNotFoundError:
        raise Http404 from None
    except MailError as exc:
        return HttpResponse(exc.user_message(), content_type="text/plain; charset=utf-8", status=502)
    subject = "".join(c for c in message.subject if c.isalnum() or c in " -_")[:60].strip() or "attachments"
    return _download(data, f"{subject}.zip")


@login_required
@require_POST
def trust_sender(request, pk: int):
    """"Always show images from this sender", then the message again, now with its images."""
    message = owned_message(request.user, pk)
    sender_trust(user=request.user, address=message.from_addr)
    return redirect("messages_app:message", pk=message.pk)


@require_GET
def message_cid_base(request, pk: int):
    """Only the prefix of the inline-part URLs, named in the body's CSP; never serves anything."""
    raise Http404
