"""The filters step: the account's rules on each genuinely new Inbox message (services/rules.py)."""


def run(message_ids: list[int]) -> None:
    from messages_app.services.rules import rules_arrival_step

    rules_arrival_step(message_ids)
