"""The sign-in page throttles guessing: past the limit, even the right password is refused, in words."""

import pytest
from django.urls import reverse


def _sign_in(client, password: str, **headers):
    return client.post(reverse("login"), {"username": "owner", "password": password}, **headers)

def _signed_in(client) -> bool:
    return client.get(reverse("messages_app:index")).status_code == 200

@pytest.mark.parametrize(("language", "expected"), [
    ("it", "Troppi tentativi di accesso non riusciti"),
    ("en", "Too many failed sign-in attempts"),
])
def test_it_refuses_the_right_password_after_too_many_wrong_ones(client, owner, settings, language, expected):
    headers = {"HTTP_ACCEPT_LANGUAGE": language}
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        assert _sign_in(client, "wrong-guess", **headers).status_code in (200, 429)

    refused = _sign_in(client, "owner-pass-1", **headers)

    assert refused.status_code == 429
    assert expected in refused.content.decode()
    assert f"{settings.LOGIN_LOCKOUT_MINUTES} " in refused.content.decode()
    assert not _signed_in(client)

def test_a_few_wrong_passwords_then_the_right_one_signs_in(client, owner, settings):
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _sign_in(client, "wrong-guess").status_code == 200

    assert _sign_in(client, "owner-pass-1").status_code == 302
    assert _signed_in(client)

def test_another_users_lockout_does_not_lock_this_one(client, owner, colleague, settings):
    for _attempt in range(settings.AXES_FAILURE_LIMIT + 1):
        client.post(reverse("login"), {"username": "colleague", "password": "wrong-guess"})

    assert _sign_in(client, "owner-pass-1").status_code == 302
