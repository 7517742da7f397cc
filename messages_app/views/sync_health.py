"""Sync health per account (folder by folder, with a verify button) and first-sync progress."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from messages_app.arrival.pipeline import failures as arrival_failures
from messages_app.exceptions import MailError
from messages_app.models import Folder, SyncLock
from messages_app.selectors import folder_status_rows, mail_account_get
from messages_app.services.sync import folder_verify
from messages_app.sync.lock import SyncBusy


@login_required
def sync_health(request, pk: int):
    account = mail_account_get(request.user, pk)
    return render(request, "messages_app/settings/sync_health.html", {
        "account": account,
        "rows": folder_status_rows(account_id=account.pk),
        "folders": {f.name: f for f in Folder.objects.filter(account=account)},
        "arrival_failures": arrival_failures([account.pk]),
    })


@login_required
@require_POST
def sync_verify(request, pk: int, folder_id: int):
    account = mail_account_get(request.user, pk)
    folder = get_object_or_404(Folder, pk=folder_id, account=account)
    try:
        fetched, removed = folder_verify(account=account, folder=folder)
    except SyncBusy:
        messages.info(request, _("A sync of this account is running: try again in a moment."))
    except MailError as exc:
        messages.error(request, exc.user_message())
    else:
        messages.success(request, _("%(folder)s verified: %(fetched)s missing messages fetched, %(removed)s removed.")
                         % {"folder": folder.name, "fetched": fetched, "removed": removed})
    return redirect("messages_app:sync_health", pk=account.pk)


@login_required
def sync_progress(request, pk: int):
    """htmx fragment polled every few seconds while the first sync runs."""
    account = mail_account_get(request.user, pk)
    lock = SyncLock.objects.filter(pk=account.pk).first()
    running = bool(lock and lock.holder)
    percent = 0
    if lock and lock.messages_total:
        percent = min(100, round(100 * lock.messages_done / lock.messages_total))
    response = render(request, "messages_app/settings/_sync_progress.html", {
        "account": account, "lock": lock, "running": running, "percent": percent,
    })
    if not running and account.initial_sync_done:
        response.status_code = 286  # tells htmx to stop polling
    return response
