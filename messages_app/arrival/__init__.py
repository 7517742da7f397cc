"""What follows new mail, once per genuinely new message, crash-safe.

- `markers`: which stored rows are genuinely new; their marker rows are written by the sync in the
  same transaction as the messages (imported by sync/, so it imports nothing from services/).
- `steps`: the registry of follow-up steps, run in a fixed order (body prefetch today; filters,
  out-of-office, CRM links and PEC receipts register later).
- `pipeline`: the one consumer: claims markers, runs the unfinished steps, retries transient
  failures with backoff, records permanent ones for the sync health page.
"""
