"""The steps after the IMAP ones: the database-only sets, the web (uncached open and pages), and
the body backfill beside mbsync.

A mixin of bench.suite.Bench (self.plan, self.report, self.users, self.accounts, ...).
"""

from __future__ import annotations


class WebSteps:
    # ----------------------------------------------------------------- database-only sets
    def database_only(self) -> None:
        from django.utils import timezone

        from bench.bulkload import LoadJob, load_with_index_rebuild, vacuum_analyze
        from bench.runs import ServerUser, create_account, create_user
        from messages_app.models import Folder

        if self.plan.quick:
            vacuum_analyze()
            return

        def folder_for(account, count: int):
            return Folder.objects.create(account=account, name="INBOX", delimiter=".", role="inbox",
                                         role_source=Folder.RoleSource.NAME, uidvalidity=1, last_seen_uid=count,
                                         uidnext=count + 1, server_messages=count, backfill_below_uid=0,
                                         last_synced=timezone.now())

        jobs = []
        olga = self.users["main"]
        for index in range(self.plan.unified_accounts):
            letter = "BCDEFGH"[index]
            account = create_account(olga, ServerUser("127.0.0.1", 9, f"olga.{letter.lower()}@postino.test",
                                                      "unused"), description=f"Olga {letter} (database only)")
            folder = folder_for(account, self.plan.unified_size)
            jobs.append(LoadJob(f"OLGA-{letter}-INBOX", self.plan.unified_size, account.pk, folder.pk, olga.pk))
        self.users["bulk"] = create_user("bulk")
        bulk_account = create_account(self.users["bulk"], ServerUser("127.0.0.1", 9, "bulk@postino.test", "unused"),
                                      description="1M (database only)")
        self.accounts["bulk"] = bulk_account
        half = self.plan.bulk_size // 2
        bulk_folder = folder_for(bulk_account, self.plan.bulk_size)
        jobs.append(LoadJob("BULK-1M-a", half, bulk_account.pk, bulk_folder.pk, self.users["bulk"].pk, uid_start=1))
        jobs.append(LoadJob("BULK-1M-b", self.plan.bulk_size - half, bulk_account.pk, bulk_folder.pk,
                            self.users["bulk"].pk, uid_start=half + 1))
        jobs.sort(key=lambda job: -job.count)
        self.report["meta"]["database_only_load"] = load_with_index_rebuild(jobs)

    # ----------------------------------------------------------------- web: open and pages
    def web(self) -> None:
        from bench.mailgen import SEARCH_TERMS
        from bench.pages import (
            HTMX,
            PageSpec,
            deep_path,
            open_uncached,
            reverse_or_none,
            run_pages,
            session_cookie,
            start_gunicorn,
        )
        from messages_app.models import Folder, Message

        port = start_gunicorn(self.processes, self.work / "gunicorn.log")
        self.web_port = port  # the CRM timeline is measured on the same server
        key = self.main_key
        user = self.users[key]
        cookie = session_cookie(user)
        inbox = Folder.objects.get(account=self.accounts[key], name="INBOX")
        ids = list(Message.objects.filter(folder=inbox, body__isnull=True).order_by("uid").values_list("id", flat=True))
        wanted = self.plan.open_warmup + self.plan.open_samples
        step = max(1, len(ids) // wanted)
        sample = ids[::step][:wanted]
        figure = open_uncached(port, cookie, sample, self.plan.open_warmup, budget_s=self.plan.open_budget_s)
        from bench.floors import fetch_body_kept_floor, open_floor
        from bench.runs import summary_ms

        server = self.server(self.logins[key])
        uids = list(Message.objects.filter(folder=inbox).order_by("-uid")
                    .values_list("uid", flat=True)[:self.plan.open_floor_samples])
        figure["floor"] = summary_ms(open_floor(server.host, server.port, server.login, server.password, uids))
        figure["floor"]["what"] = "new connection, LOGIN, EXAMINE, UID FETCH BODY.PEEK[], LOGOUT (imapclient)"
        # The floor the target is judged against (issue 14): the FETCH alone, on a kept connection.
        kept_uids = list(Message.objects.filter(folder=inbox).order_by("uid")
                         .values_list("uid", flat=True)[:self.plan.open_floor_samples * 4])
        kept = summary_ms(fetch_body_kept_floor(server.host, server.port, server.login, server.password, kept_uids))
        kept["what"] = "UID FETCH BODY.PEEK[] on a logged-in connection with INBOX selected (imapclient)"
        self.report["floors"]["fetch_body_kept"] = kept
        figure["floor_kept"] = kept
        if kept.get("p95_ms") and figure.get("p95_ms"):
            figure["ratio_floor"] = round(figure["p95_ms"] / kept["p95_ms"], 2)
        self.report["open_uncached"] = figure

        pages: dict = {"missing": []}
        specs, users, threaded = [], {"default": user}, set()
        folder_path = reverse_or_none("messages_app:folder", [inbox.pk])
        unified_path = reverse_or_none("messages_app:unified", ["inbox"])
        if folder_path is None:
            pages["missing"].append("messages_app:folder")
        else:
            specs.append(PageSpec("folder_top", folder_path, note="full page"))
            deep, followed = deep_path(port, cookie, folder_path, self.plan.deep_pages)
            if deep:
                specs.append(PageSpec("folder_deep", deep, HTMX,
                                      note=f"htmx rows fragment after {self.plan.deep_pages} pages (infinite scroll)"))
            else:
                pages["missing"].append(f"folder_deep: only {followed} 'older messages' links to follow")
            specs.append(PageSpec("threaded", folder_path, note="full page, threaded layout on"))
            threaded.add("threaded")
        if unified_path is None:
            pages["missing"].append("messages_app:unified")
        else:
            specs.append(PageSpec("unified", unified_path, note="full page, every account's INBOX"))
            for name, term in SEARCH_TERMS:
                specs.append(PageSpec(name, f"{unified_path}?q={term.replace(' ', '+')}&all=1",
                                      note="full page, search every folder"))
        if folder_path is not None:
            for name, term in SEARCH_TERMS:
                specs.append(PageSpec(f"{name}_folder", f"{folder_path}?q={term.replace(' ', '+')}",
                                      note="full page, search the 100k INBOX"))
        compose_path = reverse_or_none("messages_app:compose")
        if compose_path is None:
            pages["missing"].append("messages_app:compose")
        else:
            specs.append(PageSpec("compose", compose_path, note="full page: From accounts, signatures, editor"))
        if "bulk" in self.users and folder_path:
            bulk_inbox = Folder.objects.get(account=self.accounts["bulk"], name="INBOX")
            bulk_path = reverse_or_none("messages_app:folder", [bulk_inbox.pk])
            bulk_cookie = session_cookie(self.users["bulk"])
            specs.append(PageSpec("folder_top_1m", bulk_path, note="full page"))
            deep, _followed = deep_path(port, bulk_cookie, bulk_path, self.plan.deep_pages)
            if deep:
                specs.append(PageSpec("folder_deep_1m", deep, HTMX, note="htmx rows fragment"))
            for name, term in SEARCH_TERMS:
                specs.append(PageSpec(f"{name}_1m", f"{bulk_path}?q={term.replace(' ', '+')}",
                                      note="full page, search the 1M INBOX"))
                users[f"{name}_1m"] = self.users["bulk"]
            for name in ("folder_top_1m", "folder_deep_1m"):
                users[name] = self.users["bulk"]
        pages.update(run_pages(port, specs, users, warmup=self.plan.page_warmup, samples=self.plan.page_samples,
                               threaded_keys=threaded, budget_s=self.plan.page_budget_s))
        if self.profile:
            from bench.env import REPO
            from bench.pages import profile_page, set_threaded

            for spec in specs:
                target = REPO / "bench" / "results" / f"profile_page_{spec.key}.txt"
                page_user = users.get(spec.key, user)
                set_threaded(page_user, spec.key in threaded)
                try:
                    profile_page(page_user, spec, target)
                finally:
                    set_threaded(page_user, False)
                pages.setdefault("profiles", {})[spec.key] = str(target.relative_to(REPO))
        searches = {k: v for k, v in pages.items() if k.startswith("search_") and "p95_ms" in v}
        if searches:
            slowest = max(searches, key=lambda k: searches[k]["p95_ms"])
            pages["search"] = {"p95_ms": searches[slowest]["p95_ms"],
                               "p50_ms": max(v["p50_ms"] for v in searches.values()),
                               "slowest": slowest,
                               "of": "the slowest of search_{rare,common,two_words}, every folder (no suffix), "
                                     "the 100k INBOX (_folder) and the 1M INBOX (_1m)"}
        ratios = [pages[f"{n}_1m"]["p95_ms"] / pages[n]["p95_ms"] for n in ("folder_top", "folder_deep")
                  if f"{n}_1m" in pages and n in pages and pages[n]["p95_ms"]]
        if ratios:
            pages["scaling_1m_vs_100k"] = round(max(ratios), 3)
            pages["scaling_note"] = "max over folder_top and folder_deep of p95(1M folder) / p95(100k folder)"
        counts = {k: v.get("queries") for k, v in pages.items() if isinstance(v, dict) and "queries" in v}
        pages["queries"] = counts
        for name, value in list(pages.items()):
            if isinstance(value, dict) and value.get("error"):
                self.failures.append(f"page {name}: {value['error']}")
        if self.report["open_uncached"].get("error"):
            self.failures.append(f"open_uncached: {self.report['open_uncached']['error']}")
        self.report["pages"] = pages

    # ----------------------------------------------------------------- body backfill vs mbsync
    def backfill(self) -> None:
        from bench.backfill import (
            PRODUCT_CHUNK,
            mbsync_download,
            per_message_open,
            product_backfill,
            reference_backfill,
        )

        account = self.accounts["tenk"]
        login = self.logins["tenk"]
        one_by_one = per_message_open(account, self.plan.backfill_open_sample)
        mbsync = mbsync_download(self.dovecot.host, self.dovecot.imap_port, login, self.dovecot.password(login),
                                 self.work)
        product = product_backfill(account, budget_s=self.plan.backfill_budget_s)
        # The batched reference on what the product left (all of it when the product has none).
        reference = reference_backfill(account, limit=self.plan.backfill_limit, budget_s=self.plan.backfill_budget_s)
        if product is not None:
            figure = product.as_dict()
            figure["implementation"] = ("product: services.message_body.message_bodies_prefetch "
                                        f"(chunks of {PRODUCT_CHUNK})")
        else:
            figure = reference.as_dict()
            figure["implementation"] = "bench reference (the product has no body backfill)"
        figure.update(mbsync=mbsync.as_dict(), per_message_open=one_by_one.as_dict(),
                      batched_reference=reference.as_dict())
        per_s = product.per_s if product is not None else reference.per_s
        figure["ratio_mbsync"] = round(per_s / mbsync.per_s, 3) if mbsync.per_s else None
        if figure.get("messages", 0) < 100:
            self.failures.append(f"backfill stored only {figure.get('messages')} bodies")
        self.report["backfill"] = figure

    def load(self) -> None:
        """20 signed-in clients against the embedded default, alone and beside a big first sync."""
        from bench.load import load_figure
        from bench.seed import MailboxPlan

        self.report["load"] = load_figure(
            self.processes, self.dovecot, quick=self.plan.quick,
            seed_plans=lambda login, count: [MailboxPlan(login, "INBOX", f"LOAD-{login}", count)])
