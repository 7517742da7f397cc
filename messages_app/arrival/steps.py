"""The registry of steps that follow new mail, in the order they run.

A step is a plain function taking the ids of genuinely new messages (of one account, in one
call) and returning nothing; it raises a MailError (transient or permanent) when it cannot finish.
Every step must be idempotent: a worker killed inside it runs it again. A step whose writes are
all in the database can ask to be `atomic`: its writes and its completion record then commit
together, so even a kill inside it leaves it either done once or not at all.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[list[int]], None]
    atomic: bool = False


_registry: list[Step] = []
_defaults_loaded = False


def register(step: Step) -> Step:
    """Add a step at the end of the order (once: registering a name again replaces it in place)."""
    _load_defaults()
    for index, existing in enumerate(_registry):
        if existing.name == step.name:
            _registry[index] = step
            return step
    _registry.append(step)
    return step


def unregister(name: str) -> None:
    _registry[:] = [step for step in _registry if step.name != name]


def registered() -> list[Step]:
    _load_defaults()
    return list(_registry)


def _load_defaults() -> None:
    global _defaults_loaded
    if _defaults_loaded:
        return
    _defaults_loaded = True
    # Imported here: the steps' own modules use services/, which must not load with the models.
    from messages_app.arrival import crm_links, ooo_step, rules_step
    from messages_app.arrival.prefetch import prefetch_bodies_step
    from messages_app.services.delivery import dsn_reports_step
    from messages_app.services.pec import pec_receipts_step

    # The fixed order: bodies first (the others read them), then what the message is (a PEC
    # receipt, a bounce), then what the user asked for (filters, out of office), then CRM links.
    _registry[:0] = [
        Step("prefetch_body", prefetch_bodies_step),
        Step("pec_receipts", pec_receipts_step),
        Step("dsn_reports", dsn_reports_step),
        Step("rules", rules_step.run),
        Step("ooo", ooo_step.run, atomic=True),
        Step("crm_links", crm_links.crm_links_step),
    ]
