"""signature_for and the stored settings: what mail from an account carries, for whom."""

from django.contrib.auth import get_user_model

from messages_app.models import AccountSignature, CompanySignature
from messages_app.services.signatures import (
    account_signature_update,
    company_signature_save,
    signature_for,
)
from tests.messages_app.signatures.conftest import plain_account

COMPANY = ("<p><b>$Users||first_name$ $Users||last_name$</b> · $Users||roleid$<br>"
           "Tel. $Users||phone_work$ · $Users||email1$</p><p>ACME S.p.A.</p>")


def test_the_company_signature_renders_for_two_users_with_their_own_values(owner, colleague):
    """Each with their own name, role (in their own language), phone and e-mail."""
    User = get_user_model()
    User.objects.filter(pk=owner.pk).update(role=User.Role.SALES, phone="+39 02 111")
    User.objects.filter(pk=colleague.pk).update(first_name="Carlo", last_name="Bianchi", role=User.Role.SUPPORT,
                                                language="en", phone="+39 02 222", email="carlo@crm.test")
    owner.refresh_from_db()
    colleague.refresh_from_db()
    company_signature_save(html=COMPANY)
    olga_account = plain_account(owner, "olga@acme.example")
    carlo_account = plain_account(colleague, "carlo@acme.example")
    for account in (olga_account, carlo_account):
        account_signature_update(account=account, choice="company", personal_html="")

    olga_html, olga_text = signature_for(user=owner, account=olga_account)
    carlo_html, carlo_text = signature_for(user=colleague, account=carlo_account)

    assert "<b>Olga Owner</b> · Vendite<br>Tel. +39 02 111 · olga@crm.test" in olga_html
    assert "<b>Carlo Bianchi</b> · Support<br>Tel. +39 02 222 · carlo@crm.test" in carlo_html
    assert olga_text == "Olga Owner · Vendite\nTel. +39 02 111 · olga@crm.test\n\nACME S.p.A."
    assert carlo_text.startswith("Carlo Bianchi · Support\n")


def test_a_shared_sender_signs_with_the_values_of_whoever_sends(owner, colleague):
    company_signature_save(html="<p>$Users||first_name$</p>")
    shared = plain_account(owner, "info@acme.example", is_shared_sender=True)
    account_signature_update(account=shared, choice="company", personal_html="")
    get_user_model().objects.filter(pk=colleague.pk).update(first_name="Carlo")
    colleague.refresh_from_db()
    assert signature_for(user=colleague, account=shared) == ("<p>Carlo</p>", "Carlo")


def test_the_personal_signature_is_stored_sanitized_and_sent_as_stored(owner, owner_account):
    account_signature_update(account=owner_account, choice="personal",
                             personal_html='<p onmouseover="x()">Olga<script>steal()</script> '
                                           '<a href="https://acme.example">ACME</a></p>')
    stored = AccountSignature.objects.get(account=owner_account).personal_html
    assert "script" not in stored and "steal" not in stored and "onmouseover" not in stored
    assert 'href="https://acme.example"' in stored
    html, text = signature_for(user=owner, account=owner_account)
    assert html == stored and text == "Olga ACME <https://acme.example>"


def test_no_signature_by_default_and_when_chosen(owner, owner_account):
    assert signature_for(user=owner, account=owner_account) == ("", "")
    company_signature_save(html="<p>ACME</p>")
    account_signature_update(account=owner_account, choice="none", personal_html="<p>kept for later</p>")
    assert signature_for(user=owner, account=owner_account) == ("", "")


def test_the_company_template_is_stored_sanitized_and_its_unknown_placeholders_named(db):
    signature, unknown = company_signature_save(
        html="<p>$Users||first_name$ $Users||shoe_size$<script>x()</script></p>")
    assert unknown == ["$Users||shoe_size$"]
    assert CompanySignature.objects.get().html == "<p>$Users||first_name$ $Users||shoe_size$</p>" == signature.html
