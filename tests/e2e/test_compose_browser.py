"""Writing mail in Chromium at 1440×900 and 390×844: compose with an attachment, schedule it two
minutes ahead, find it in Programmati, send it now, find it in Inviata; reply from the reading
pane with the undo toast. No CSP violation on the way (the editor is vendored Quill)."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from messages_app.models import Message, OutgoingMessage
from messages_app.services.outbox import outbox_send_due
from tests.e2e.conftest import log_in
from tests.e2e.test_mailbox_ux_browser import SIZES, open_tab, shot
from tests.e2e.test_signature_browser import csp_violations
from tests.messages_app.compose.test_compose import drafts_on_server
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import make_mailbox, server_flags

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(params=list(SIZES))
def size(request):
    return request.param


@pytest.fixture
def inbox(owner, mail_user):
    return make_mailbox(owner, mail_user, [
        ("INBOX", mails.plain("Offerta rinnovo", "Buongiorno,\nconfermo l'offerta.", minutes=0,
                              message_id="<offerta@cliente.test>"), ()),
        ("INBOX", mails.plain("Verbale riunione", "Presenti: Olga, Mario.", minutes=20,
                              sender="Luigi Verdi <luigi@cliente.test>"), ("\\Seen",)),
    ])


@pytest.mark.slow
def test_compose_with_an_attachment_schedule_send_now_and_find_it_in_sent(browser, size, live_server, owner,
                                                                         inbox, smtp_server, tmp_path):
    context, tab = open_tab(browser, size)
    violations = csp_violations(tab)
    try:
        log_in(tab, live_server, "owner", "owner-pass-1")
        tab.keyboard.press("c")
        expect(tab.locator("form#compose")).to_be_visible()
        expect(tab.locator(".ql-editor")).to_be_visible()
        tab.fill("#id_to", "lui")
        suggestion = tab.locator("#suggestions li", has_text="luigi@cliente.test")
        expect(suggestion).to_be_visible()
        suggestion.dispatch_event("mousedown")
        expect(tab.locator("#id_to")).to_have_value("Luigi Verdi <luigi@cliente.test>, ")
        tab.fill("#id_subject", "Preventivo è pronto")
        tab.locator(".ql-editor").click()
        tab.keyboard.type("Buongiorno Luigi, in allegato il preventivo.")
        attachment = tmp_path / "preventivo.pdf"
        attachment.write_bytes(b"%PDF-1.4 " + b"x" * 200_000)
        tab.set_input_files("#file-input", str(attachment))
        expect(tab.locator("#upload-list li.upload.done")).to_contain_text("preventivo.pdf")
        tab.locator("details.schedule > summary").click()
        # The field takes whole minutes: 3 minutes ahead, cut to the minute, is still 2 or more ahead.
        when = (timezone.now() + timedelta(minutes=3)).astimezone(ZoneInfo("Europe/Rome"))
        when = when.replace(second=0, microsecond=0)
        tab.fill("#id_send_at", when.strftime("%Y-%m-%dT%H:%M"))
        shot(tab, "compose-new", size)
        tab.click("#send-button")

        tab.wait_for_url("**/messages/special/scheduled/")
        item = tab.locator("#scheduled li.scheduled-item", has_text="Preventivo è pronto")
        expect(item).to_be_visible()
        expect(tab.locator("#toast .toast")).to_contain_text("Programmato per")
        shot(tab, "scheduled", size)
        outgoing = OutgoingMessage.objects.get()
        assert outgoing.state == "scheduled" and outgoing.send_at == when
        assert outgoing.send_at > timezone.now() + timedelta(seconds=60)

        item.locator("button[value=send_now]").click()
        expect(tab.locator("#toast .toast")).to_contain_text("Invio in corso")
        assert outbox_send_due().ids == [outgoing.pk]
        inbox.sync()
        tab.goto(f"{live_server.url}/messages/unified/sent/")
        expect(tab.locator("#rows li", has_text="Preventivo è pronto")).to_be_visible()
        sent = Message.objects.get(folder__role="sent", subject="Preventivo è pronto")
        assert sent.has_attachments
        shot(tab, "sent-after-send-now", size)
        assert not violations, violations
    finally:
        context.close()


@pytest.mark.slow
def test_reply_from_the_reading_pane(browser, size, live_server, owner, inbox, smtp_server, settings):
    settings.MAIL_UNDO_SEND_SECONDS = 10
    context, tab = open_tab(browser, size)
    violations = csp_violations(tab)
    try:
        log_in(tab, live_server, "owner", "owner-pass-1")
        tab.locator("#rows a.open", has_text="Offerta rinnovo").click()
        reading = tab.locator("#reading")
        expect(reading.locator("h2.subject")).to_have_text("Offerta rinnovo")
        expect(reading.locator("#reply")).to_be_visible()
        shot(tab, "reading-with-reply", size)
        reading.locator("#reply").click()
        expect(tab.locator("#id_subject")).to_have_value("Re: Offerta rinnovo")
        expect(tab.locator("#id_to")).to_have_value("Mario Rossi <mario@cliente.test>")
        expect(tab.locator(".compose-quote")).to_contain_text("confermo l'offerta")
        tab.locator(".ql-editor").click()
        tab.keyboard.type("Grazie, procediamo.")
        expect(tab.locator("#draft-status")).to_contain_text("Bozza salvata", timeout=12_000)  # autosaved
        draft_id = tab.locator("input[name=draft_id]").input_value()
        assert len(drafts_on_server(inbox.mail_user, draft_id)) == 1
        shot(tab, "compose-reply", size)
        tab.click("#send-button")
        tab.wait_for_url(f"{live_server.url}/messages/")
        toast = tab.locator("#toast .sent-toast")
        expect(toast).to_contain_text("Invio in corso")
        expect(toast.locator("button.undo")).to_have_text("Annulla")
        shot(tab, "sent-toast", size)
        item = OutgoingMessage.objects.get()
        assert outbox_send_due(now=item.send_at).ids == [item.pk]
        assert "\\Answered" in server_flags(inbox.mail_user, "INBOX")[inbox.uids["Offerta rinnovo"]]
        assert drafts_on_server(inbox.mail_user, draft_id) == []  # sending removed the draft
        assert not violations, violations
    finally:
        context.close()


@pytest.mark.slow
def test_programmati_shows_what_did_not_leave_and_sends_an_interrupted_one_again(browser, size, live_server, owner,
                                                                               inbox, smtp_server):
    from messages_app.services.outbox import outbox_queue

    account = inbox.account
    smtp_server.refuse_data_from(account.email, "554 5.6.0 Message rejected as spam")
    try:
        outbox_queue(user=owner, account=account, to=["luigi@cliente.test"], subject="Offerta respinta",
                     text="Buongiorno", undo_seconds=0)
        assert outbox_send_due().failed == 1
    finally:
        del smtp_server.data_replies[account.email.lower()]
    interrupted = outbox_queue(user=owner, account=account, to=[("Mario Rossi", "mario@cliente.test")],
                               subject="Verbale forse partito", text="In allegato il verbale.", undo_seconds=0)
    OutgoingMessage.objects.filter(pk=interrupted.pk).update(state="sending", claim_token="dead",
                                                             claimed_until=timezone.now() - timedelta(seconds=1))
    assert outbox_send_due().uncertain == 1  # a worker died mid-send: not found in Sent
    context, tab = open_tab(browser, size)
    violations = csp_violations(tab)
    try:
        log_in(tab, live_server, "owner", "owner-pass-1")
        tab.goto(f"{live_server.url}/messages/special/scheduled/")
        failed = tab.locator("#unsent li[data-state=failed]", has_text="Offerta respinta")
        expect(failed).to_contain_text("554 Message rejected as spam")
        expect(failed.locator("a", has_text="Modifica e invia di nuovo")).to_be_visible()
        uncertain = tab.locator("#unsent li[data-state=uncertain]", has_text="Verbale forse partito")
        expect(uncertain).to_contain_text("Invio interrotto")
        shot(tab, "programmati-not-sent", size)
        uncertain.locator("button[value=resend]").click()
        expect(tab.locator("#toast .toast")).to_contain_text("Nuovo invio in corso")
        expect(tab.locator("#unsent li[data-state=uncertain]")).to_have_count(0)
        assert outbox_send_due().ids == [interrupted.pk]
        assert len(smtp_server.wait_for(1, login=inbox.mail_user.login)) == 1
        assert not violations, violations
    finally:
        context.close()


@pytest.mark.slow
def test_an_upload_shows_its_progress_and_one_over_the_limit_a_clear_error(browser, live_server, owner, inbox,
                                                                         settings, tmp_path):
    settings.MAIL_MAX_ATTACHMENT_MB = 1
    context, tab = open_tab(browser, "desktop")
    try:
        log_in(tab, live_server, "owner", "owner-pass-1")
        tab.goto(f"{live_server.url}/messages/compose/")
        big = tmp_path / "listino completo.pdf"
        big.write_bytes(b"%PDF-1.4 " + b"x" * 1_200_000)
        tab.set_input_files("#file-input", str(big))
        expect(tab.locator("#upload-error")).to_contain_text("listino completo.pdf")
        expect(tab.locator("#upload-error")).to_contain_text("1 MB")
        expect(tab.locator("#upload-list li")).to_have_count(0)
        # A slow line, so the bar is seen moving before the upload is done.
        cdp = context.new_cdp_session(tab)
        cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20,
                                                      "downloadThroughput": 1_000_000, "uploadThroughput": 200_000})
        small = tmp_path / "offerta.pdf"
        small.write_bytes(b"%PDF-1.4 " + b"y" * 500_000)
        tab.set_input_files("#file-input", str(small))
        bar = tab.locator("#upload-list li.upload progress")
        expect(bar).to_be_visible()
        tab.wait_for_function("() => { const p = document.querySelector('#upload-list progress');"
                              " return !p || p.value > 0; }")
        shot(tab, "compose-upload-progress", "desktop")
        expect(tab.locator("#upload-list li.upload.done")).to_contain_text("offerta.pdf", timeout=20_000)
        expect(tab.locator("#upload-error")).to_be_hidden()
    finally:
        context.close()


@pytest.mark.slow
def test_leaving_the_page_before_the_autosave_still_keeps_the_draft(browser, live_server, owner, inbox):
    import time

    context, tab = open_tab(browser, "desktop")
    try:
        log_in(tab, live_server, "owner", "owner-pass-1")
        tab.goto(f"{live_server.url}/messages/compose/")
        tab.fill("#id_subject", "Appunti da finire")
        tab.locator(".ql-editor").click()
        tab.keyboard.type("Prima bozza")
        draft_id = tab.locator("input[name=draft_id]").input_value()
        assert drafts_on_server(inbox.mail_user, draft_id) == []  # the timer has not saved it yet
        tab.goto(f"{live_server.url}/messages/")  # well before the 5 s autosave: the page's beacon saves it
        deadline = time.monotonic() + 8
        while not drafts_on_server(inbox.mail_user, draft_id) and time.monotonic() < deadline:
            time.sleep(0.2)
        copies = drafts_on_server(inbox.mail_user, draft_id)
        assert len(copies) == 1 and b"Appunti da finire" in copies[0]
    finally:
        context.close()
