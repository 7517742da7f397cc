"""The CRM links step: new mail is matched to its owner's CRM records (services.crm_links)."""


def crm_links_step(message_ids: list[int]) -> None:
    from messages_app.services.crm_links import links_match

    links_match(message_ids=message_ids)
