"""The benchmark's private world: a fresh PostgreSQL database, Django configured for it, the
private Dovecot instances, and a registry of every process started so a `finally` stops each
one by its pid.

Django reads its settings from the environment once, at setup, so `configure()` must run before
anything imports Django models; child processes (sync workers, gunicorn) inherit the same
variables.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB_NAME = os.environ.get("BENCH_DB_NAME", "postino_bench")
# A fixed bench-only key: child processes must decrypt the account passwords the parent stored.
BENCH_FERNET_KEY = "cG9zdGluby1iZW5jaC1vbmx5LWtleS0zMi1ieXRlcyE="


def database_url(name: str = DB_NAME) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def configure(var_dir: Path) -> dict[str, str]:
    """Set the environment Django and every child process read. Returns what was set."""
    values = {
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "DATABASE_URL": database_url(),
        "DJANGO_SECRET_KEY": "bench-secret-key-not-for-production-" + "x" * 20,
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "MAIL_ENCRYPTION_KEYS": BENCH_FERNET_KEY,
        "MAIL_ALLOW_PRIVATE_HOSTS": "1",
        "MAIL_SYNC_ON_SAVE": "0",
        "MAIL_CONNECT_TIMEOUT": "30",
        "POSTINO_VAR_DIR": str(var_dir),
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    os.environ.update(values)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    return values


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def drop_database() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


def django_setup(*, migrate: bool) -> None:
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        call_command("createcachetable", verbosity=0)


def postgres_settings() -> dict[str, str]:
    from django.db import connection

    wanted = ("server_version", "shared_buffers", "work_mem", "synchronous_commit", "max_wal_size", "jit")
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, setting, unit FROM pg_settings WHERE name = ANY(%s)", [list(wanted)])
        return {name: f"{setting}{unit or ''}" for name, setting, unit in cursor.fetchall()}


class Processes:
    """Every process the benchmark starts, stopped by its pid (and process group) at the end."""

    def __init__(self) -> None:
        self._popen: list[subprocess.Popen] = []
        self._dovecots: list = []

    def popen(self, args: list[str], **kwargs) -> subprocess.Popen:
        kwargs.setdefault("start_new_session", True)
        proc = subprocess.Popen(args, **kwargs)
        self._popen.append(proc)
        return proc

    def dovecot(self, **kwargs):
        from tests.servers.dovecot import Dovecot

        instance = Dovecot(**kwargs)
        self._dovecots.append(instance)
        instance.start()
        return instance

    @staticmethod
    def stop_popen(proc: subprocess.Popen, grace: float = 5.0) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def stop_all(self) -> None:
        for proc in reversed(self._popen):
            self.stop_popen(proc)
        for instance in reversed(self._dovecots):
            with contextlib.suppress(Exception):
                instance.cleanup()
        self._popen.clear()
        self._dovecots.clear()


def temp_dir(prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def wait_until(predicate, timeout: float, interval: float = 0.001):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(interval)
