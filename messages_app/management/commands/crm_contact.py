"""crm_contact create --owner USERNAME --first-name F --last-name L --email E [--email E ...]
[--company NAME] | show ID [--json] (contract in DESIGN.md)."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from crm.models import Contact
from crm.services import contact_create
from messages_app.management.base import MailCommand, positive_int
from messages_app.selectors.crm import record_timeline


def contact_row(contact: Contact) -> dict:
    """The `crm_contact show` object: the record, its addresses, and the linked messages its
    owner may see (folder "Imported" for mail no longer on any server)."""
    messages = []
    for link in _timeline_links(contact):
        message = link.message
        messages.append({
            "id": message.pk, "message_id": message.message_id, "subject": message.subject,
            "date": message.date.isoformat(),
            "folder": message.folder.name if message.folder_id else "Imported",
            "account": message.account_id, "reason": link.reason, "confidence": link.confidence,
        })
    return {
        "id": contact.pk, "owner": contact.owner.get_username(), "first_name": contact.first_name,
        "last_name": contact.last_name, "company": contact.company.name if contact.company_id else None,
        "role": contact.role, "emails": list(contact.emails.order_by("id").values_list("address", flat=True)),
        "messages": messages,
    }


def _timeline_links(contact: Contact):
    """Every page of the contact's timeline, in order."""
    cursor = None
    while True:
        page = record_timeline(contact.owner, "contact", contact, cursor=cursor, limit=500)
        for thread in page.threads:
            yield from thread.links
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


class Command(MailCommand):
    help = "Create a CRM contact, or show one with its linked mail."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("--owner", required=True)
        create.add_argument("--first-name", dest="first_name", default="")
        create.add_argument("--last-name", dest="last_name", default="")
        create.add_argument("--email", action="append", default=[])
        create.add_argument("--company", default="")
        show = sub.add_parser("show")
        show.add_argument("id", type=positive_int)
        show.add_argument("--json", action="store_true")

    def handle(self, *args, action, **o):
        if action == "create":
            owner = get_user_model().objects.filter(username=o["owner"]).first()
            if owner is None:
                raise CommandError(f"no user named {o['owner']!r}")
            if not (o["first_name"] or o["last_name"]):
                raise CommandError("a contact needs --first-name or --last-name")
            contact = contact_create(owner=owner, first_name=o["first_name"], last_name=o["last_name"],
                                     emails=o["email"], company_name=o["company"])
            self.stdout.write(str(contact.pk))
            return
        contact = Contact.objects.select_related("owner", "company").filter(pk=o["id"]).first()
        if contact is None:
            raise CommandError(f"no contact with id {o['id']}")
        row = contact_row(contact)
        if o["json"]:
            self.stdout.write(json.dumps(row, default=str))
            return
        self.stdout.write(f"{row['id']}\t{row['first_name']} {row['last_name']}\t{row['company'] or ''}\t"
                          f"{', '.join(row['emails'])}")
        for message in row["messages"]:
            self.stdout.write(f"  {message['date']}\t{message['folder']}\t{message['reason']}\t{message['subject']}")
