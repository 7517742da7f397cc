"""The send step: messages per second through the outbox beside a bare aiosmtplib loop (bench/send.py)."""

from __future__ import annotations


class SendSteps:
    def send(self) -> None:
        from bench.runs import create_user
        from bench.send import send_figure

        figure = send_figure(self.dovecot, create_user("sender"), count=self.plan.send_messages)
        for key in ("outbox", "outbox_no_sent_copy"):
            if figure[key]["messages"] != self.plan.send_messages:
                self.failures.append(f"send: {key} sent {figure[key]['messages']} of {self.plan.send_messages}")
        self.report["send"] = figure
