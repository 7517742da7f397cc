"""Importata: linked mail outlives the server (deleted, expunged, UIDVALIDITY reset), and
`mail_import` brings .eml, mbox and Maildir mail in, once."""

import json
import mailbox
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from crm.services import contact_create
from messages_app.models import Folder, LinkReason, Message, MessageLink
from messages_app.selectors import local_messages
from messages_app.services.message_body import attachment_payload
from messages_app.services.sync import account_sync
from tests.messages_app.views import mails
from tests.messages_app.views.conftest import make_mailbox

PDF = b"%PDF-1.4 preventivo firmato\n" * 50


def show(contact) -> dict:
    out = StringIO()
    call_command("crm_contact", "show", str(contact.pk), "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def mario(owner):
    return contact_create(owner=owner, first_name="Mario", last_name="Rossi", emails=["mario@cliente.test"])


@pytest.fixture
def box(owner, mail_user, mario):
    box = make_mailbox(owner, mail_user, [])
    for i in range(3):
        mail_user.dovecot.append(mail_user.login, "INBOX", mails.plain(
            f"Pratica {i}", "Buongiorno,\nla pratica.", minutes=i, message_id=f"<pratica{i}@cliente.test>",
            attachments=[("preventivo.pdf", "application/pdf", PDF)] if i == 0 else []))
    mail_user.dovecot.append(mail_user.login, "INBOX", mails.plain("Altro", sender="x@altro.test", minutes=9))
    box.sync()
    for i in range(3):  # new mail after the first sync: linked by the arrival step
        assert MessageLink.objects.filter(message=box.message(f"Pratica {i}"), contact=mario).exists()
    return box


def test_a_linked_message_deleted_on_the_server_moves_to_importata_with_body_and_attachments(owner, box, mario,
                                                                                              owner_client):
    message = box.message("Pratica 0")
    box.mail_user.dovecot.expunge(box.mail_user.login, "INBOX", message.uid)
    other = box.message("Altro")
    box.mail_user.dovecot.expunge(box.mail_user.login, "INBOX", other.uid)
    account_sync(box.account.pk)
    local = Message.objects.get(pk=message.pk)
    assert (local.account_id, local.folder_id, local.local_owner_id) == (None, None, owner.pk)
    assert not Message.objects.filter(pk=other.pk).exists()  # unlinked: gone with the server's copy
    assert list(local_messages(owner).values_list("subject", flat=True)) == ["Pratica 0"]
    attachment = local.attachments.get(is_inline=False)
    assert attachment_payload(attachment=attachment) == PDF
    page = owner_client.get(f"/messages/m/{local.pk}/").content.decode()
    assert "la pratica" in page and "preventivo.pdf" in page
    row = show(mario)
    assert {m["subject"]: m["folder"] for m in row["messages"]} == {
        "Pratica 0": "Imported", "Pratica 1": "INBOX", "Pratica 2": "INBOX"}
    timeline = owner_client.get(f"/messages/records/contact/{mario.pk}/timeline/").content.decode()
    assert "Pratica 0" in timeline


def test_a_linked_message_the_user_deletes_for_good_stays_on_its_record(owner, box, mario, owner_client):
    from messages_app.services.message_actions import message_delete

    message = box.message("Pratica 1")
    Folder.objects.filter(account=box.account, role="trash").update(role="")  # no Trash: deleted for good
    message_delete(user=owner, message_ids=[message.pk])
    local = Message.objects.get(pk=message.pk)
    assert local.account_id is None and local.local_owner_id == owner.pk
    assert "Pratica 1" in [m["subject"] for m in show(mario)["messages"]]


def test_after_a_uidvalidity_reset_the_record_shows_each_message_once_and_importata_none(owner, box, mario):
    ids = {box.message(f"Pratica {i}").pk for i in range(3)}
    box.mail_user.dovecot.recreate_folder(box.mail_user.login, "INBOX")
    account_sync(box.account.pk)
    row = show(mario)
    assert sorted(m["subject"] for m in row["messages"]) == ["Pratica 0", "Pratica 1", "Pratica 2"]
    assert {m["id"] for m in row["messages"]} == ids  # the same rows, with their links
    assert {m["folder"] for m in row["messages"]} == {"INBOX"}
    assert not local_messages(owner).exists()
    assert MessageLink.objects.filter(contact=mario).count() == 3


def _mbox(path, count: int) -> None:
    box = mailbox.mbox(str(path))
    for i in range(count):
        sender = "Mario Rossi <mario@cliente.test>" if i % 10 == 0 else f"Persona {i} <p{i}@altrove.test>"
        box.add(mails.plain(f"Archivio {i:04d}", f"Messaggio numero {i}.", sender=sender, minutes=i,
                            message_id=f"<archivio{i}@cliente.test>"))
    box.close()


def test_mail_import_of_an_mbox_of_1000_messages_imports_them_once_even_when_run_twice(owner, mario, tmp_path):
    path = tmp_path / "archivio.mbox"
    _mbox(path, 1000)
    out = StringIO()
    call_command("mail_import", "--user", "owner", str(path), stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "imported 1000, already present 0"
    out = StringIO()
    call_command("mail_import", "--user", "owner", str(path), stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "imported 0, already present 1000"
    assert local_messages(owner).count() == 1000
    assert MessageLink.objects.filter(contact=mario, reason=LinkReason.ADDRESS).count() == 100


def test_mail_import_reads_eml_and_maildir_and_links_to_the_record_given(owner, mario, tmp_path):
    eml = tmp_path / "offerta.eml"
    offer_raw = mails.plain("Offerta firmata", sender="ufficio@nessuno.test", message_id="<firmata@x.test>",
                            attachments=[("offerta.pdf", "application/pdf", PDF)])
    eml.write_bytes(offer_raw)
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"))
    maildir.add(mails.plain("Dal Maildir", sender="altro@nessuno.test", message_id="<maildir@x.test>"))
    maildir.add(offer_raw)  # the same message as the .eml
    out = StringIO()
    call_command("mail_import", "--user", "owner", "--link-to", "MARIO@cliente.test", str(eml),
                 str(tmp_path / "Maildir"), stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "imported 2, already present 1"
    imported = local_messages(owner)
    assert sorted(imported.values_list("subject", flat=True)) == ["Dal Maildir", "Offerta firmata"]
    offer = imported.get(subject="Offerta firmata")
    assert attachment_payload(attachment=offer.attachments.get(is_inline=False)) == PDF
    assert set(MessageLink.objects.filter(contact=mario).values_list("reason", flat=True)) == {LinkReason.IMPORT}
    assert {m["folder"] for m in show(mario)["messages"]} == {"Imported"}


def test_mail_import_fails_with_a_one_line_reason(owner, tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("mail_import", "--user", "owner", str(tmp_path / "missing.mbox"))
    with pytest.raises(CommandError, match="no record of owner has the address"):
        call_command("mail_import", "--user", "owner", "--link-to", "nobody@x.test", str(tmp_path))
    with pytest.raises(CommandError, match="not a Maildir"):
        call_command("mail_import", "--user", "owner", str(tmp_path))
