import pytest
from django.core.exceptions import ImproperlyConfigured

from crm.env import env_bool, env_int, env_list, generated_secret


def test_env_bool_is_strict(monkeypatch):
    monkeypatch.setenv("X_FLAG", "yes")
    assert env_bool("X_FLAG") is True
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured):
        env_bool("X_FLAG")


def test_env_int_rejects_nonsense_and_too_small(monkeypatch):
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ImproperlyConfigured):
        env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "3")
    with pytest.raises(ImproperlyConfigured):
        env_int("X_INT", 1, minimum=10)


def test_env_list_splits_on_commas(monkeypatch):
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert env_list("X_LIST") == ["a", "b", "c"]


def test_generated_secrets_are_written_once_with_mode_600(tmp_path):
    path = tmp_path / "var" / "key"
    first = generated_secret(path, lambda: "one")
    second = generated_secret(path, lambda: "two")
    assert first == second == "one"
    assert path.stat().st_mode & 0o777 == 0o600
