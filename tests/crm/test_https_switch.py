"""DJANGO_HTTPS=1 is the one switch for a deployment over HTTPS; `check --deploy` is clean with it."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def _manage(tmp_path: Path, *args: str, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           # (the browser tests' DJANGO_ALLOW_ASYNC_UNSAFE must not leak into a deployment check)
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SECRET_KEY", "DJANGO_DEBUG",
                        "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(POSTINO_VAR_DIR=str(tmp_path), DJANGO_ALLOWED_HOSTS="crm.example.com",
               DJANGO_SECRET_KEY=secrets.token_urlsafe(50), **env_overrides)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=120)


def test_check_deploy_is_clean_with_the_https_switch_on(tmp_path):
    checked = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", DJANGO_HTTPS="1")

    assert checked.returncode == 0, checked.stderr + checked.stdout
    assert "no issues" in checked.stdout


def test_the_switch_turns_on_hsts_secure_cookies_and_the_redirect(tmp_path):
    shown = _manage(tmp_path, "shell", "-c",
                    "from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE,"
                    " s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT)", DJANGO_HTTPS="1")
    assert shown.stdout.strip().splitlines()[-1] == "31536000 True True True"


def test_without_the_switch_check_deploy_names_what_is_missing(tmp_path):
    checked = _manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING")

    assert checked.returncode != 0
    assert "security.W004" in checked.stderr and "security.W012" in checked.stderr
