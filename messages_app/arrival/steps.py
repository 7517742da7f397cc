"""The registry of steps that follow new mail, in the order they run.

A step is a plain function taking the ids of genuinely new messages (of one account, in one
call) and returning nothing; it raises a MailError (transient or permanent) when it cannot finish.
Every step must be idempotent: a worker killed inside it runs it again. A step whose writes are
all in the database can ask to be `atomic`: its writes and its completion record then commit
together, so even a kill inside it leaves it either done once or not at all.
"""

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module


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
    from messages_app.arrival.prefetch import prefetch_bodies_step
    from messages_app.services.pec import pec_receipts_step

    _registry.insert(0, Step("prefetch_body", prefetch_bodies_step))
    _registry.insert(1, Step("pec_receipts", pec_receipts_step))
    _registry.insert(2, Step("dsn_reports", import_module("messages_app.services.delivery").dsn_reports_step))
    _registry.append(Step("rules", import_module("messages_app.arrival.rules_step").run))
    _registry.append(Step("ooo", import_module("messages_app.arrival.ooo_step").run, atomic=True))
    _registry.append(Step("crm_links", __import__("messages_app.arrival.crm_links", fromlist=["_"]).crm_links_step))
