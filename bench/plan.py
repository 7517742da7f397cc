"""What a run measures and with how many samples: the full run and the quick (CI) run."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Plan:
    quick: bool
    tenk: int = 10_000
    main_inbox: int = 100_000
    main_sent: int = 10_000
    # 17 folders of the user's own + Drafts, Junk and Trash (which Dovecot creates): with INBOX and
    # Sent, the 22 folders of the resync figure. "Clienti" first: a parent made implicitly would be
    # \Noselect.
    small_folders: list[tuple[str, int]] = field(default_factory=lambda: [
        ("Drafts", 15), ("Junk", 40), ("Trash", 60), ("Clienti", 30), ("Clienti.Rossi", 120),
        ("Clienti.Bianchi", 80), ("Clienti.Città di Milano", 45), ("Fornitori", 70), ("Fornitori.Acme", 55),
        ("Preventivi 2025", 90), ("Fatture", 150), ("Fatture.2024", 110), ("Fatture.2025", 130),
        ("Progetti", 25), ("Progetti.Ristrutturazione", 65), ("Newsletter", 140), ("Archivio", 35),
        ("Archivio.2023", 100), ("Personale", 20), ("Da leggere", 10)])
    unified_accounts: int = 4
    unified_size: int = 30_000
    bulk_size: int = 1_000_000
    insert_floor_rows: int = 50_000
    orm_floor_rows: int = 10_000
    resync_samples: int = 30
    change_rounds: int = 3
    idle_samples: int = 40
    open_warmup: int = 20
    open_samples: int = 200
    page_warmup: int = 20
    page_samples: int = 200
    deep_pages: int = 50
    backfill_open_sample: int = 50
    backfill_limit: int | None = None
    send_messages: int = 200  # through the outbox, and as many through the bare aiosmtplib loop
    idle_floor_samples: int = 10
    open_floor_samples: int = 15
    sync_timeout_s: float = 540
    # Time budgets that keep `make bench` under 15 minutes however slow a run is (a run that
    # hits one is marked "truncated"; its figure then misses its target by far anyway).
    no_condstore_rounds: int = 2
    page_budget_s: float = 26  # 200 samples of a page up to about 120 ms
    open_budget_s: float = 40
    idle_budget_s: float = 30
    backfill_budget_s: float = 20
    # The scale section (issue 17): accounts on push with two listeners, and sync throughput.
    scale_push_accounts: int = 1_000
    scale_burst_accounts: int = 100  # new mail at this many accounts within one second
    scale_lease_s: int = 30  # MAIL_IDLE_LEASE_SECONDS / MAIL_IDLE_RENEW_SECONDS for the listeners
    scale_renew_s: int = 5
    scale_push_budget_s: float = 180  # until every account is held and caught up
    scale_sync_accounts: int = 200
    scale_sync_messages: int = 500
    scale_sync_workers: tuple[int, ...] = (1, 2, 4)

    @classmethod
    def for_mode(cls, quick: bool) -> Plan:
        if not quick:
            return cls(quick=False)
        return cls(quick=True, main_inbox=0, main_sent=0, small_folders=[], unified_accounts=0, bulk_size=0,
                   insert_floor_rows=10_000, orm_floor_rows=5_000, resync_samples=20, change_rounds=2,
                   idle_samples=10, open_warmup=3, open_samples=15, page_warmup=5, page_samples=30,
                   backfill_open_sample=10, backfill_limit=2_000, idle_floor_samples=5, open_floor_samples=10,
                   sync_timeout_s=240, page_budget_s=5, open_budget_s=10, idle_budget_s=10, backfill_budget_s=10,
                   send_messages=40, scale_push_accounts=50, scale_burst_accounts=10, scale_lease_s=3,
                   scale_renew_s=1, scale_push_budget_s=60, scale_sync_accounts=10, scale_sync_messages=100)
