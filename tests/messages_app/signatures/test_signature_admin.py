"""Admin: Firma centralizzata with a preview for a chosen user and a warning for unknown placeholders."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from messages_app.models import CompanySignature
from messages_app.services.signatures import company_signature_save

ADD = "admin:messages_app_companysignature_add"
PREVIEW = "admin:messages_app_companysignature_preview"


@pytest.fixture
def admin_client_(db):
    admin_user = get_user_model().objects.create_superuser("root", "root@crm.test", "root-pass-1",
                                                           first_name="Anna", last_name="Admin")
    client = Client()
    client.force_login(admin_user)
    return client


def test_saving_warns_naming_every_unknown_placeholder_and_stores_the_template(admin_client_):
    response = admin_client_.post(reverse(ADD), {
        "html": "<p>$Users||first_name$ $Users||shoe_size$ $Contacts||firstname$<script>x()</script></p>",
        "_continue": "1"}, follow=True)
    assert response.status_code == 200
    warnings = [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]
    assert warnings == ["Segnaposto sconosciuti, inviati così come sono: $Users||shoe_size$, $Contacts||firstname$"]
    assert CompanySignature.objects.get().html == "<p>$Users||first_name$ $Users||shoe_size$ $Contacts||firstname$</p>"


def test_a_template_with_known_placeholders_only_gets_no_warning(admin_client_):
    company_signature_save(html="<p>old</p>")
    url = reverse("admin:messages_app_companysignature_change", args=[CompanySignature.SINGLETON_PK])
    response = admin_client_.post(url, {"html": "<p>$Users||first_name$ · $Users||phone_work$</p>"}, follow=True)
    assert response.status_code == 200
    assert not [m for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]
    assert CompanySignature.objects.get().html == "<p>$Users||first_name$ · $Users||phone_work$</p>"


def test_the_preview_renders_for_the_chosen_user(admin_client_, owner, colleague):
    company_signature_save(html="<p>$Users||first_name$ $Users||last_name$ · $Users||roleid$</p>")
    get_user_model().objects.filter(pk=colleague.pk).update(first_name="Carlo", last_name="Bianchi",
                                                            role="support", language="en")
    for user, expected in ((owner, "<p>Olga Owner · Vendite</p>"), (colleague, "<p>Carlo Bianchi · Support</p>")):
        response = admin_client_.get(reverse(PREVIEW) + f"?preview_user={user.pk}")
        assert expected in response.content.decode()
        assert "default-src 'none'" in response["Content-Security-Policy"]


def test_the_change_page_frames_the_preview_for_the_chosen_user_and_keeps_the_choice(admin_client_, colleague):
    company_signature_save(html="<p>$Users||first_name$</p>")
    url = reverse("admin:messages_app_companysignature_change", args=[CompanySignature.SINGLETON_PK])
    page = admin_client_.get(url + f"?preview_user={colleague.pk}").content.decode()
    assert f'{reverse(PREVIEW)}?preview_user={colleague.pk}' in page and "<iframe" in page
    assert f'<option value="{colleague.pk}" selected>' in page
    saved = admin_client_.post(url, {"html": "<p>$Users||last_name$</p>", "preview_user": colleague.pk,
                                     "_continue": "1"})
    assert saved["Location"].endswith(f"?preview_user={colleague.pk}")
    assert admin_client_.get(reverse("admin:messages_app_companysignature_changelist"))["Location"] == url


def test_only_administrators_may_see_or_change_it(client, owner, staff):
    company_signature_save(html="<p>ACME</p>")
    change = reverse("admin:messages_app_companysignature_change", args=[CompanySignature.SINGLETON_PK])
    client.force_login(owner)  # not staff: the admin site sends them to its login
    for url in (change, reverse(PREVIEW)):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(staff)  # staff without the permission
    assert client.get(reverse(PREVIEW)).status_code == 403
    assert client.get(change).status_code == 403
    assert client.post(change, {"html": "<p>hijacked</p>"}).status_code == 403
    assert CompanySignature.objects.get().html == "<p>ACME</p>"
