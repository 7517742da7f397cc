"""The scale-out topology of docker-compose.yml, run here as plain processes (issue 17).

The commands are read from docker-compose.yml, so the compose file and this test cannot drift:
only the machine-specific parts change (the port web binds, the /app/var volume, a Redis
database of its own). Web, 2 workers, beat and 2 IDLE listeners on PostgreSQL and Redis; then,
end to end: mail arrives by push, beat's periodic sync runs, a send goes out, and killing one
listener moves its accounts to the other. `make topology` runs it.
"""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from messages_app.models import Folder, Message
from tests.conftest import account_on
from tests.messages_app.sync.mailgen import make_message
from tests.messages_app.sync.test_idle_leases import holders, wait_for
from tests.messages_app.sync.test_sync_robustness import ROOT, worker_env
from tests.servers.fixtures import new_mail_user
from tests.servers.ports import free_port
from tests.servers.processes import stop_process_group

APP_SERVICES = ("web", "worker", "beat", "idle")


def compose_services() -> dict[str, tuple[str, int]]:
    """{service: (command, replicas)} of the app services in docker-compose.yml."""
    text = (ROOT / "docker-compose.yml").read_text()
    body = text.split("\nservices:\n", 1)[1].split("\nvolumes:", 1)[0]
    services = {}
    for block in re.split(r"\n(?=  [\w-]+:\n)", "\n" + body):
        name = re.match(r"\s*([\w-]+):", block)
        command = re.search(r"^    command: (.+)$", block, re.M)
        if name and command and name.group(1) in APP_SERVICES:
            replicas = re.search(r"^      replicas: (\d+)$", block, re.M)
            services[name.group(1)] = (command.group(1), int(replicas.group(1)) if replicas else 1)
    return services


def test_the_compose_file_describes_web_two_workers_beat_and_two_listeners():
    services = compose_services()
    assert set(services) == set(APP_SERVICES)
    assert services["worker"][1] == 2 and services["idle"][1] == 2 and services["beat"][1] == 1
    assert services["idle"][0] == "python manage.py mail_idle"


def _start(command: str, env: dict, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        return subprocess.Popen(["sh", "-c", command], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def _stop(process) -> None:
    stop_process_group(process, timeout=20)


def _web_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2) as response:
            return response.status == 200
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_topology_pushes_syncs_sends_and_moves_a_dead_listeners_accounts(owner, dovecot, smtp_server, tmp_path):
    if connection.vendor != "postgresql" or not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        if os.environ.get("CI"):
            pytest.fail("CI must run this with DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://...")
        pytest.skip("needs PostgreSQL and Redis (set DATABASE_URL and CELERY_BROKER_URL, as CI does)")
    users = [new_mail_user(dovecot, smtp_server) for _ in range(4)]
    accounts = [account_on(owner, user) for user in users]
    port = free_port()
    env = worker_env() | {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",  # python, celery, gunicorn of this venv
        # A Redis database of its own, so no other run's worker takes these tasks.
        "CELERY_BROKER_URL": re.sub(r"/\d*$", "", os.environ["CELERY_BROKER_URL"]) + f"/{os.getpid() % 15 + 1}",
        "MAIL_IDLE_LEASE_SECONDS": "3", "MAIL_IDLE_RENEW_SECONDS": "1",
        # Beat every 10 s; accounts on push get their full pass every 10 s too (else: rarely).
        "MAIL_SYNC_INTERVAL_SECONDS": "10", "MAIL_SYNC_PUSH_INTERVAL_SECONDS": "10",
        "MAIL_UNDO_SEND_SECONDS": "0", "MAIL_SYNC_ON_SAVE": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    processes: dict[str, list[subprocess.Popen]] = {}
    for name, (command, replicas) in compose_services().items():
        command = command.replace("0.0.0.0:8000", f"127.0.0.1:{port}").replace("/app/var/", f"{tmp_path}/")
        processes[name] = [_start(command.replace("%h", f"{name}{n}"), env, tmp_path / f"{name}{n}.log")
                           for n in range(replicas)]
    first, second = processes["idle"]
    try:
        assert wait_for(lambda: _web_answers(port), 60, step=0.5), (tmp_path / "web0.log").read_text()[-2000:]
        # The two listeners share the four accounts.
        assert wait_for(lambda: len(holders()) == 4 and len(set(holders().values())) == 2, 60), holders()
        assert wait_for(lambda: Folder.objects.filter(role="inbox").count() == 4, 30)
        time.sleep(1.0)
        # Push.
        dovecot.append(users[0].login, "INBOX", make_message("Push", message_id="<topology-push@test>"))
        assert wait_for(lambda: Message.objects.filter(message_id="<topology-push@test>").exists(), 20, step=0.05)
        # Beat's periodic sync, run by the workers: a folder the listeners do not watch.
        dovecot.create_folder(users[1].login, "Archivio")
        dovecot.append(users[1].login, "Archivio", make_message("Archiviata", message_id="<topology-sync@test>"))
        assert wait_for(lambda: Message.objects.filter(message_id="<topology-sync@test>").exists(), 45, step=0.5), \
            (tmp_path / "beat0.log").read_text()[-2000:]
        # A send goes out through the outbox, by the workers' poll.
        sent = subprocess.run([sys.executable, "manage.py", "mail_send", "--account", str(accounts[2].pk),
                               "--to", "cliente@example.test", "--subject", "Preventivo", "--body", "In allegato."],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert sent.returncode == 0, sent.stderr
        smtp_server.wait_for(1, timeout=30, login=users[2].login)
        # Killing one listener moves its accounts to the other.
        victims = [pk for pk, name in holders().items() if name.endswith(f"pid {_listener_pid(first)}")]
        assert victims, holders()
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        survivor = f"pid {_listener_pid(second)}"
        assert wait_for(lambda: len(holders()) == 4 and all(n.endswith(survivor) for n in holders().values()), 20), \
            holders()
        time.sleep(1.0)  # its catch-up passes, then IDLE
        victim = users[[a.pk for a in accounts].index(victims[0])]
        dovecot.append(victim.login, "INBOX", make_message("Dopo", message_id="<topology-after@test>"))
        assert wait_for(lambda: Message.objects.filter(message_id="<topology-after@test>").exists(), 20, step=0.05)
    finally:
        for group in processes.values():
            for process in group:
                _stop(process)


def _listener_pid(shell: subprocess.Popen) -> int:
    """The mail_idle process under `sh -c` (sh may exec it, then it is the same pid)."""
    children = Path(f"/proc/{shell.pid}/task/{shell.pid}/children")
    pids = children.read_text().split() if children.exists() else []
    return int(pids[0]) if pids else shell.pid
