"""Filters and out-of-office installed on the server as one Sieve script (ManageSieve), so they
act while the CRM is down.

Invariants:
- The script is generated from the same rules and settings (rules/sieve.py) and named "postino";
  it starts with a marker line. A script the CRM did not write (no marker) is never replaced
  unless the user confirmed (`replace_foreign`): `ForeignScript` says which one is there.
- While the rules are on the server the CRM does not apply them a second time (the rules step
  skips the account); while the server answers out-of-office the CRM does not either.
- Every change to the rules or to out-of-office regenerates the script (`sieve_refresh`); turning
  both off removes it.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from messages_app.enums import FolderRole
from messages_app.exceptions import MailError
from messages_app.mime.html_text import html_to_text
from messages_app.models import Folder, MailAccount, OutOfOffice, RuleServerState
from messages_app.rules import sieve as sieve_logic
from messages_app.services.connections import sieve_connect


class ForeignScript(MailError):
    permanent = True

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name

    def user_message(self) -> str:
        return _("The server already runs the Sieve script “%(name)s”, which Postino did not write. Confirm to "
                 "replace it.") % {"name": self.name}


class SieveMissing(MailError):
    permanent = True

    def user_message(self) -> str:
        return _("The server's Sieve lacks %(what)s.") % {"what": self.detail}


def server_state(account: MailAccount) -> RuleServerState:
    return RuleServerState.objects.get_or_create(account=account)[0]


def _vacation(account: MailAccount) -> sieve_logic.Vacation | None:
    ooo = OutOfOffice.objects.filter(account=account, is_active=True).first()
    if ooo is None:
        return None
    return sieve_logic.Vacation(subject=ooo.subject, text=html_to_text(ooo.body_html).strip(), days=ooo.days,
                                addresses=[account.email], start=ooo.start, end=ooo.end)


def account_script(account: MailAccount, state: RuleServerState) -> str:
    from messages_app.services.rules import account_rules

    trash = Folder.objects.filter(account=account, role=FolderRole.TRASH).values_list("name", flat=True).first()
    return sieve_logic.script(account_rules(account) if state.on_server else [], trash=trash or "Trash",
                              vacation=_vacation(account) if state.vacation_on_server else None)


def sieve_install(*, account: MailAccount, rules: bool | None = None, vacation: bool | None = None,
                  port: int | None = None, replace_foreign: bool = False) -> RuleServerState:
    """Install (or regenerate) the account's script with the rules and/or the vacation answer."""
    state = server_state(account)
    wanted_rules = state.on_server if rules is None else rules
    wanted_vacation = state.vacation_on_server if vacation is None else vacation
    if port:
        state.port = port
    if not (wanted_rules or wanted_vacation):
        return sieve_remove(account=account)
    try:
        with sieve_connect(account, port=state.port) as conn:
            extensions = conn.extensions()
            if wanted_vacation and "vacation" not in extensions:
                raise SieveMissing("vacation")
            if wanted_rules and "fileinto" not in extensions:
                raise SieveMissing("fileinto")
            active, others = conn.scripts()
            for name in {n for n in (active, *others) if n and (n == active or n == state.script_name)}:
                if not sieve_logic.is_ours(conn.get(name)) and not replace_foreign:
                    raise ForeignScript(name)
            state.on_server, state.vacation_on_server = wanted_rules, wanted_vacation
            conn.put_and_activate(state.script_name, account_script(account, state))
    except MailError as exc:
        RuleServerState.objects.filter(pk=state.pk).update(error=exc.user_message())
        raise
    state.installed_at, state.error = timezone.now(), ""
    state.save()
    return state


def sieve_remove(*, account: MailAccount) -> RuleServerState:
    """Remove our script from the server; the CRM applies the rules and answers again."""
    state = server_state(account)
    with sieve_connect(account, port=state.port) as conn:
        conn.deactivate_and_delete(state.script_name)
    state.on_server = state.vacation_on_server = False
    state.installed_at, state.error = None, ""
    state.save()
    return state


def sieve_refresh(*, account: MailAccount) -> None:
    """After a change to the rules or to out-of-office: the server's copy follows."""
    state = RuleServerState.objects.filter(account=account).first()
    if state is not None and (state.on_server or state.vacation_on_server):
        sieve_install(account=account)
