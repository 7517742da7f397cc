"""`manage.py migrate` on an empty var/ is the whole install: nothing else must be run by hand."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def _manage(var_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "MAIL_ENCRYPTION_KEYS", "DJANGO_SECRET_KEY"}}
    env["POSTINO_VAR_DIR"] = str(var_dir)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=180)


def test_migrate_alone_creates_the_cache_table(tmp_path):
    migrated = _manage(tmp_path, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr

    used = _manage(tmp_path, "shell", "-c",
                   "from django.core.cache import cache; cache.set('probe', 'kept', 60); print(cache.get('probe'))")

    assert used.returncode == 0, used.stderr
    assert used.stdout.strip().splitlines()[-1] == "kept"
