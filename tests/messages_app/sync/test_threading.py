"""Pure threading helpers: which subjects are replies, which ids to look up, subject keys."""

from __future__ import annotations

import re

import pytest

from messages_app.sync.threading import REPLY_PREFIX_RE, conversation_candidates, normalize_subject, subject_key


@pytest.fixture(autouse=True)
def _loopback_servers_allowed():
    """Overrides the suite-wide Django settings fixture: these tests are pure (run with -p no:django too)."""


@pytest.mark.parametrize(
    ("subject", "base"),
    [
        ("Re: Budget", "Budget"),
        ("RE: Budget", "Budget"),
        ("re:Budget", "Budget"),
        ("Re : Budget", "Budget"),
        ("Re: Re: Fwd: Budget", "Budget"),
        ("Re[2]: Budget", "Budget"),
        ("Re(3): Budget", "Budget"),
        ("Re^2: Budget", "Budget"),
        ("Fw: Re[12]: Budget", "Budget"),
        ("FWD: Budget", "Budget"),
        ("R: I: Rif: Preventivo", "Preventivo"),
        ("AW: WG: Termin", "Termin"),
        ("SV: VS: Antw: Offerte", "Offerte"),
        ("TR : Réf : Devis", "Devis"),
        ("Enc: RES: Orçamento", "Orçamento"),
        ("RV: Presupuesto", "Presupuesto"),
        ("Odp: PD: Oferta", "Oferta"),
        ("YNT: İLT: Teklif", "Teklif"),
        ("ΑΠ: ΣΧΕΤ: Προσφορά", "Προσφορά"),
        ("Ответ: Счёт", "Счёт"),
        ("回复：报价", "报价"),
        ("答复: 报价", "报价"),
        ("転送: 見積", "見積"),
        ("[postino-dev] Re: Release plan", "Release plan"),
        ("Re: [postino-dev] Release plan", "Release plan"),
        ("[Fwd: Old style forward]", "Old style forward"),
        ("Minutes (fwd)", "Minutes"),
        ("Re:   spaced \t out  ", "spaced out"),
    ],
)
def test_it_strips_reply_and_forward_prefixes_in_many_languages(subject: str, base: str):
    assert normalize_subject(subject) == (base, True)


@pytest.mark.parametrize(
    ("subject", "base"),
    [
        ("Budget", "Budget"),
        ("Report: Q1", "Report: Q1"),
        ("Ref: 12345", "Ref: 12345"),
        ("Regarding the budget", "Regarding the budget"),
        ("[postino-dev] Release plan", "Release plan"),
        ("[SPAM]", "[SPAM]"),
        ("", ""),
        ("Re:", ""),
        ("Re: Fwd: ", ""),
    ],
)
def test_it_reports_no_reply_prefix_for_plain_tagged_or_empty_subjects(subject: str, base: str):
    assert normalize_subject(subject) == (base, False)


def test_it_is_idempotent():
    base, _ = normalize_subject("Re: [dev] AW: Fwd: Plan for Q2")

    assert normalize_subject(base) == (base, False)


@pytest.mark.parametrize("prefix", ["Re: ", "RE[2]: ", "Fwd:", "AW : ", "回复："])
def test_the_prefix_pattern_matches_one_prefix_at_the_start(prefix: str):
    match = REPLY_PREFIX_RE.match(prefix + "x")

    assert match is not None and match.end() == len(prefix)


@pytest.mark.parametrize("subject", ["Report: x", "Reply needed", "x Re: y", "Resp"])
def test_the_prefix_pattern_ignores_words_that_merely_start_like_a_prefix(subject: str):
    assert REPLY_PREFIX_RE.match(subject) is None


def test_it_lists_the_direct_parent_first_then_ancestors_nearest_first():
    candidates = conversation_candidates("<me@x>", "<parent@x>", ["<root@x>", "<middle@x>", "<parent@x>"])

    assert candidates == ["<parent@x>", "<middle@x>", "<root@x>"]


def test_it_leaves_out_the_message_itself_empty_ids_and_repeats():
    candidates = conversation_candidates("<me@x>", "", ["<me@x>", "", "<a@x>", "<a@x>"])

    assert candidates == ["<a@x>"]


def test_it_returns_nothing_for_a_message_without_links():
    assert conversation_candidates("<me@x>", "", []) == []


def test_it_caps_the_candidates():
    references = [f"<{n}@x>" for n in range(500)]

    candidates = conversation_candidates("", "", references)

    assert len(candidates) == 100
    assert candidates[0] == "<499@x>"


def test_subject_keys_ignore_case_width_and_whitespace():
    assert subject_key("Plan  for Q2") == subject_key("plan for q2") == subject_key("ＰＬＡＮ for Q2 ")


def test_subject_keys_differ_for_different_subjects_and_fit_the_column():
    key = subject_key("Plan for Q2")

    assert key != subject_key("Plan for Q3")
    assert re.fullmatch(r"[0-9a-f]{32}", key)


def test_an_empty_subject_has_no_key():
    assert subject_key("") == subject_key("   ") == ""
