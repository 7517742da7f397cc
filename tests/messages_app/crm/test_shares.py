"""Condivisa: a conversation shared with a colleague, read-only, commented on, revoked; and every
new view of issue 11 is a 404 for another user."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from crm.services import contact_create
from messages_app.models import Message, MessageShare, ShareComment
from messages_app.selectors import special_folder_rows
from messages_app.services.crm_links import links_backfill
from messages_app.services.shares import share_create
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import deliver, make_mailbox, server_flags

HTMX_LIST = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "list"}
SHARED = "/messages/special/shared/"


@pytest.fixture
def colleague_client(colleague):
    client = Client()
    client.force_login(colleague)
    return client


@pytest.fixture
def stranger_client(db):
    stranger = get_user_model().objects.create_user("stranger", password="stranger-pass-1")
    client = Client()
    client.force_login(stranger)
    return client


@pytest.fixture
def box(owner, mail_user):
    return make_mailbox(owner, mail_user, [
        ("INBOX", mails.plain("Cantiere Milano", "Serve un sopralluogo.", minutes=0,
                              message_id="<cantiere@cliente.test>",
                              attachments=[("pianta.pdf", "application/pdf", b"%PDF-1.4 pianta")]), ()),
        ("INBOX", mails.plain("Re: Cantiere Milano", "Confermo giovedì.", minutes=10,
                              in_reply_to="<cantiere@cliente.test>"), ()),
        ("INBOX", mails.plain("Privato", "Non condividere.", minutes=20), ()),
    ])


def listed(client) -> list[str]:
    return sorted(m.subject for m in client.get(SHARED, **HTMX_LIST).context["page"].rows)


def test_share_a_conversation_and_the_colleague_sees_it_in_condivisa_read_only(owner, colleague, box, owner_client,
                                                                              colleague_client):
    first = box.message("Cantiere Milano")
    response = owner_client.post(f"/messages/m/{first.pk}/share/add/",
                                 {"recipients": [colleague.pk], "comment": "Puoi seguirlo tu?"})
    assert response.status_code == 302
    share = MessageShare.objects.get()
    assert (share.sharer, share.recipient, share.comment) == (owner, colleague, "Puoi seguirlo tu?")
    assert listed(colleague_client) == ["Cantiere Milano", "Re: Cantiere Milano"]
    page = colleague_client.get(f"/messages/m/{first.pk}/").content.decode()
    assert "Serve un sopralluogo" in page and "Puoi seguirlo tu?" in page and "Olga Owner" in page
    assert 'id="reading-actions"' not in page  # no toolbar: read-only
    attachment = first.attachments.get(is_inline=False)
    assert colleague_client.get(f"/messages/m/{first.pk}/attachments/{attachment.pk}/").content == b"%PDF-1.4 pianta"
    # Read-only: the colleague's actions do not touch the sharer's mail.
    colleague_client.post("/messages/actions/", {"ids": str(first.pk), "action": "flag", "scope": "special:shared"})
    assert not Message.objects.get(pk=first.pk).is_flagged
    assert colleague_client.get(f"/messages/m/{box.message('Privato').pk}/").status_code == 404
    assert listed(owner_client) == []  # Condivisa lists what others shared with you
    shared_row = next(r for r in special_folder_rows(colleague) if r["folder"] == "Shared")
    assert shared_row["messages"] == 2  # mail_status --user counts it


def test_later_messages_of_the_thread_are_shared_too(owner, colleague, box, colleague_client):
    share_create(user=owner, message=box.message("Cantiere Milano"), recipients=[colleague])
    deliver(box.mail_user, "INBOX", mails.plain("Re: Re: Cantiere Milano", "Fatto.", minutes=30,
                                                in_reply_to="<cantiere@cliente.test>"))
    box.sync()
    assert "Re: Re: Cantiere Milano" in listed(colleague_client)


def test_both_sides_comment_on_the_shared_conversation(owner, colleague, box, owner_client, colleague_client):
    first = box.message("Cantiere Milano")
    share_create(user=owner, message=first, recipients=[colleague], comment="Guarda qui")
    reply = box.message("Re: Cantiere Milano")
    colleague_client.post(f"/messages/m/{reply.pk}/share/comment/", {"text": "Ci penso io."})
    owner_client.post(f"/messages/m/{first.pk}/share/comment/", {"text": "Grazie!"})
    assert list(ShareComment.objects.values_list("author__username", "text")) == [
        ("owner", "Guarda qui"), ("colleague", "Ci penso io."), ("owner", "Grazie!")]
    assert "Ci penso io." in owner_client.get(f"/messages/m/{first.pk}/").content.decode()


def test_the_sharer_revokes_and_the_colleague_sees_nothing_any_more(owner, colleague, box, owner_client,
                                                                   colleague_client):
    first = box.message("Cantiere Milano")
    share_create(user=owner, message=first, recipients=[colleague])
    assert colleague_client.get(f"/messages/m/{first.pk}/").status_code == 200
    assert colleague_client.post(f"/messages/m/{first.pk}/share/revoke/",
                                 {"recipient": colleague.pk}).status_code == 404  # only the sharer revokes
    owner_client.post(f"/messages/m/{first.pk}/share/revoke/", {"recipient": colleague.pk})
    assert not MessageShare.objects.exists()
    assert listed(colleague_client) == []
    for url in (f"/messages/m/{first.pk}/", f"/messages/m/{first.pk}/body/", f"/messages/thread/{first.thread_id}/"):
        assert colleague_client.get(url).status_code == 404, url
    assert colleague_client.post(f"/messages/m/{first.pk}/share/comment/", {"text": "x"}).status_code == 404


def test_a_shared_message_deleted_on_the_server_is_kept_for_the_colleague(owner, colleague, box, colleague_client):
    first = box.message("Cantiere Milano")
    share_create(user=owner, message=first, recipients=[colleague])
    box.mail_user.dovecot.expunge(box.mail_user.login, "INBOX", first.uid)
    box.sync()
    kept = Message.objects.get(pk=first.pk)
    assert kept.account_id is None and kept.local_owner_id == owner.pk
    assert "Cantiere Milano" in listed(colleague_client)


def test_every_new_view_is_404_for_another_user(owner, colleague, box, owner_client, stranger_client):
    contact = contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])
    links_backfill(owner_ids=[owner.pk])
    first = box.message("Cantiere Milano")
    share_create(user=owner, message=first, recipients=[colleague])
    link = first.crm_links.get()
    gets = [f"/messages/m/{first.pk}/", f"/messages/m/{first.pk}/links/", f"/messages/m/{first.pk}/links/search/?q=M",
            f"/messages/records/contact/{contact.pk}/timeline/", f"/crm/contact/{contact.pk}/",
            f"/crm/contact/{contact.pk}/edit/"]
    for url in gets:
        assert stranger_client.get(url).status_code == 404, url
    posts = [(f"/messages/m/{first.pk}/links/add/", {"kind": "contact", "record": contact.pk}),
             (f"/messages/links/{link.pk}/", {"action": "remove"}),
             (f"/messages/m/{first.pk}/share/add/", {"recipients": [colleague.pk]}),
             (f"/messages/m/{first.pk}/share/revoke/", {}),
             (f"/messages/m/{first.pk}/share/comment/", {"text": "x"})]
    for url, data in posts:
        assert stranger_client.post(url, data).status_code == 404, url
    assert "Cantiere" not in stranger_client.get("/messages/links/pending/").content.decode()
    assert first.crm_links.get().state == "linked" and MessageShare.objects.count() == 1


def test_a_shared_conversation_folded_into_another_stays_shared_with_its_comments(owner, colleague, db):
    from messages_app.models import Thread
    from messages_app.sync.threads import _merge_threads

    older, younger = Thread.objects.create(owner=owner), Thread.objects.create(owner=owner)
    MessageShare.objects.create(thread=younger, sharer=owner, recipient=colleague)
    ShareComment.objects.create(thread=younger, author=colleague, text="Visto")
    _merge_threads({younger.pk: older.pk})
    assert MessageShare.objects.get().thread_id == older.pk
    assert ShareComment.objects.get().thread_id == older.pk


def test_a_colleague_replies_to_a_shared_message_from_their_own_account(owner, colleague, box, colleague_client,
                                                                        smtp_server, settings):
    from email import policy
    from email.parser import BytesParser

    from django.urls import reverse
    from django.utils import translation

    from messages_app.models import OutgoingMessage
    from messages_app.services.outbox import outbox_send_due
    from tests.conftest import account_on
    from tests.servers.fixtures import new_mail_user

    settings.MAIL_UNDO_SEND_SECONDS = 0
    theirs = account_on(colleague, new_mail_user(box.mail_user.dovecot, smtp_server))
    first = box.message("Cantiere Milano")
    share_create(user=owner, message=first, recipients=[colleague], comment="Rispondi tu")
    colleague.language = "en"
    colleague.save(update_fields=["language"])
    with translation.override("en"):
        page = colleague_client.get(f"/messages/m/{first.pk}/").content.decode()
    assert f"/messages/compose/?reply={first.pk}" in page and f"/messages/compose/?reply_all={first.pk}" in page
    assert 'id="reading-actions"' not in page  # still read-only: no flag, move or delete

    form = colleague_client.get(reverse("messages_app:compose"), {"reply": first.pk})
    assert form.status_code == 200
    assert [a.pk for a in form.context["accounts"]] == [theirs.pk]  # From: only their own accounts
    assert form.context["account_id"] == theirs.pk
    state = form.context["state"]
    assert (state.to, state.subject, state.original_id) == ("Mario Rossi <mario@cliente.test>",
                                                            "Re: Cantiere Milano", first.pk)
    assert "Serve un sopralluogo" in state.quote_html  # the original quoted
    # Sending from the sharer's account is refused.
    refused = colleague_client.post(reverse("messages_app:compose"), {
        "account": box.account.pk, "to": state.to, "subject": state.subject, "body_html": "<p>No</p>",
        "original": first.pk, "kind": "reply"}, HTTP_X_REQUESTED_WITH="fetch")
    assert refused.status_code == 403
    sent = colleague_client.post(reverse("messages_app:compose"), {
        "account": theirs.pk, "to": state.to, "subject": state.subject, "body_html": "<p>Vado io giovedì.</p>",
        "quote_html": state.quote_html, "original": first.pk, "kind": "reply"}, HTTP_X_REQUESTED_WITH="fetch")
    assert sent.status_code == 200, sent.content
    outbox_send_due()
    item = OutgoingMessage.objects.get(owner=colleague)
    assert (item.account_id, item.state) == (theirs.pk, "sent")
    raw = next(m for m in smtp_server.messages if b"Vado io" in m.data)
    parsed = BytesParser(policy=policy.default).parsebytes(raw.data)
    assert parsed["From"].addresses[0].addr_spec == theirs.email
    assert parsed["In-Reply-To"] == "<cantiere@cliente.test>"  # it threads with the conversation
    # The original is the sharer's and stays as it was: not marked answered, here or on the server.
    first.refresh_from_db()
    assert not first.is_answered
    assert "\\Answered" not in server_flags(box.mail_user, "INBOX")[first.uid]
