"""The out-of-office step: answers genuinely new Inbox mail while out-of-office is on (services/ooo.py).
Atomic: the once-per-interval memory, the outbox row and the step's completion commit together."""


def run(message_ids: list[int]) -> None:
    from messages_app.services.ooo import ooo_arrival_step

    ooo_arrival_step(message_ids)
