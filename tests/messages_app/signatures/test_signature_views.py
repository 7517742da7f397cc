"""Impostazioni > Account > Firma: only the owner; saved sanitized; a preview in its own locked frame."""

from django.urls import reverse

from messages_app.models import AccountSignature
from messages_app.services.signatures import company_signature_save


def test_the_owner_sees_the_page_with_the_choice_and_the_preview_frame(owner_client, owner_account):
    page = owner_client.get(reverse("messages_app:account_signature", args=[owner_account.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="choice" value="none"' in html and 'value="personal"' in html and 'value="company"' in html
    assert 'name="personal_html"' in html
    preview = reverse("messages_app:account_signature_preview", args=[owner_account.pk])
    assert f'src="{preview}"' in html and "sandbox=" in html
    assert reverse("messages_app:account_signature", args=[owner_account.pk]) in owner_client.get(
        reverse("messages_app:account_list")).content.decode()


def test_saving_a_personal_signature_strips_the_script(owner_client, owner_account):
    url = reverse("messages_app:account_signature", args=[owner_account.pk])
    response = owner_client.post(url, {"choice": "personal", "action": "save",
                                       "personal_html": '<p>Olga <img src="x" onerror="alert(1)">'
                                                        "<script>alert(2)</script></p>"})
    assert response.status_code == 302
    stored = AccountSignature.objects.get(account=owner_account)
    assert stored.choice == "personal"
    assert "<script" not in stored.personal_html and "onerror" not in stored.personal_html
    assert stored.personal_html.startswith("<p>Olga")


def test_the_preview_is_its_own_document_with_a_policy_that_runs_no_script(owner_client, owner, owner_account):
    company_signature_save(html="<p>$Users||first_name$ $Users||last_name$</p>")
    url = reverse("messages_app:account_signature", args=[owner_account.pk])
    owner_client.post(url, {"choice": "company", "personal_html": "", "action": "save"})
    response = owner_client.get(reverse("messages_app:account_signature_preview", args=[owner_account.pk]))
    assert "<p>Olga Owner</p>" in response.content.decode()
    policy = response["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "sandbox" in policy


def test_preview_shows_the_unsaved_draft_and_saves_nothing(owner_client, owner_account):
    url = reverse("messages_app:account_signature", args=[owner_account.pk])
    page = owner_client.post(url, {"choice": "personal", "action": "preview",
                                   "personal_html": "<p>Bozza<script>x()</script></p>"})
    assert page.status_code == 200 and "?draft=1" in page.content.decode()
    assert not AccountSignature.objects.filter(account=owner_account).exists()
    frame = owner_client.get(reverse("messages_app:account_signature_preview", args=[owner_account.pk]) + "?draft=1")
    body = frame.content.decode()
    assert "<p>Bozza</p>" in body and "x()" not in body


def test_another_user_gets_404_for_the_page_the_save_and_the_preview(colleague_client, owner_account):
    page = reverse("messages_app:account_signature", args=[owner_account.pk])
    preview = reverse("messages_app:account_signature_preview", args=[owner_account.pk])
    assert colleague_client.get(page).status_code == 404
    assert colleague_client.post(page, {"choice": "personal", "personal_html": "<p>hijack</p>",
                                        "action": "save"}).status_code == 404
    assert colleague_client.get(preview).status_code == 404
    assert not AccountSignature.objects.filter(account=owner_account).exists()


def test_signing_in_is_required(client, owner_account):
    response = client.get(reverse("messages_app:account_signature", args=[owner_account.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
