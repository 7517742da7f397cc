"""Issue 11's figures: the CRM linking backfill over the 100k mailbox with 10k contacts (aim at least
5k messages/s), and a contact's timeline page at 1M messages (aim p95 at most 30 ms).

A mixin of bench.suite.Bench. The backfill is measured without downloading the linked messages'
sources (`keep_sources=False`: that is IMAP body download, measured by the body backfill step); the
timeline is the htmx fragment the record page loads, from the same gunicorn as the other pages.
"""

from __future__ import annotations

import time

CONTACTS = 10_000
TIMELINE_LINKS = 5_000


class CrmSteps:
    def crm(self) -> None:
        self.report["crm"] = {"backfill": self._crm_backfill(), "timeline": self._crm_timeline()}

    def _crm_backfill(self) -> dict:
        from crm.addresses import domain_of, normalise
        from crm.models import Contact, EmailAddress
        from messages_app.models import Message, MessageLink
        from messages_app.services.crm_links import links_backfill

        key = self.main_key
        user, account = self.users[key], self.accounts[key]
        if not Message.objects.filter(account=account).exists():  # --only without initial_syncs
            return {"skipped": f"no mail in the {key} account: run initial_syncs first"}
        senders = [normalise(a) for a in Message.objects.filter(account=account).exclude(from_addr="")
                   .values_list("from_addr", flat=True).distinct()[:CONTACTS // 2]]
        senders = [a for a in dict.fromkeys(senders) if a]
        addresses = senders + [f"contatto{i}@cliente{i % 500}.bench" for i in range(CONTACTS - len(senders))]
        contacts = Contact.objects.bulk_create([Contact(owner=user, first_name="Contatto", last_name=str(i))
                                                for i in range(len(addresses))], batch_size=2000)
        EmailAddress.objects.bulk_create([EmailAddress(owner=user, contact=c, address=a, domain=domain_of(a))
                                          for c, a in zip(contacts, addresses, strict=True)], batch_size=2000)
        started = time.perf_counter()
        seen, made = links_backfill(account_ids=[account.pk], keep_sources=False)
        seconds = time.perf_counter() - started
        return {"messages": seen, "contacts": len(contacts), "known_senders": len(senders), "links": made,
                "linked_messages": MessageLink.objects.filter(message__account=account).values("message_id")
                .distinct().count(),
                "s": round(seconds, 2), "messages_per_s": round(seen / seconds) if seconds else None,
                "aim_messages_per_s": 5000,
                "what": "services.crm_links.links_backfill, keep_sources=False, on the "
                        f"{'10k' if self.plan.quick else '100k'} mailbox"}

    def _crm_timeline(self) -> dict:
        from django.db import connection
        from django.db.models import Count

        from bench.pages import HTMX, PageSpec, run_pages, start_gunicorn
        from crm.addresses import domain_of, normalise
        from crm.models import EmailAddress
        from crm.services import contact_create
        from messages_app.models import Message

        key = "bulk" if "bulk" in self.users else self.main_key
        user, account = self.users[key], self.accounts[key]
        top = (Message.objects.filter(account=account).exclude(from_addr="").values("from_addr")
               .order_by().annotate(n=Count("id"))
               .order_by("-n").first())
        if top is None:
            return {"error": f"no mail in the {key} account"}
        # The address is stored directly, not through contact_create's emails: that would link
        # the sender's recent mail at once (and download those sources), and in quick mode the
        # backfill's contact for the same address would make every match ambiguous, so pending.
        contact = contact_create(owner=user, first_name="Cliente", last_name="Frequente")
        address = normalise(top["from_addr"])
        EmailAddress.objects.create(owner=user, contact=contact, address=address, domain=domain_of(address))
        # Link its mail directly (the backfill is measured above): one INSERT ... SELECT.
        table = "messages_app_messagelink"
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (message_id, message_date, owner_id, contact_id, reason, detail, "  # noqa: S608
                "confidence, state, created_at) SELECT id, date, %s, %s, 'address', '', 100, 'linked', now() "
                "FROM messages_app_message "
                "WHERE account_id = %s AND from_addr = %s ORDER BY date DESC LIMIT %s ON CONFLICT DO NOTHING",
                [user.pk, contact.pk, account.pk, top["from_addr"], TIMELINE_LINKS])
            linked = cursor.rowcount
        if connection.vendor == "postgresql":
            with connection.cursor() as analyze:
                analyze.execute(f"ANALYZE {table}")
        port = self.web_port or start_gunicorn(self.processes, self.work / "gunicorn-crm.log")
        path = f"/messages/records/contact/{contact.pk}/timeline/"
        result = run_pages(port, [PageSpec("crm_timeline", path, HTMX, note="htmx timeline fragment")],
                           {"default": user}, warmup=self.plan.page_warmup, samples=self.plan.page_samples,
                           threaded_keys=set(), budget_s=self.plan.page_budget_s)["crm_timeline"]
        result.update(messages_in_account=Message.objects.filter(account=account).count(), linked=linked,
                      aim_p95_ms=30, what=f"a contact with {linked} linked messages in the {key} account")
        return result
