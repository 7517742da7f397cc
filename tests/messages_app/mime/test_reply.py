"""The pure rules of answering: recipients of reply and reply all, prefixes, quoting, typed
address lists, a saved body split back into its parts."""

import pytest

from messages_app.mime.reply import (
    bare_subject,
    format_address_list,
    forward_block,
    forward_subject,
    parse_address_list,
    quote_block,
    reply_recipients,
    reply_subject,
    split_saved_body,
)

OWN = ["olga@acme.example", "Olga.Owner@Gmail.test"]


@pytest.mark.parametrize(("subject", "expected"), [
    ("Offerta", "Re: Offerta"), ("Re: Offerta", "Re: Offerta"), ("RE: re: Offerta", "Re: Offerta"),
    ("R: Offerta", "Re: Offerta"), ("Re[2]: Offerta", "Re: Offerta"), ("", "Re: "),
    ("Fwd: Offerta", "Re: Fwd: Offerta"),
])
def test_reply_subject_carries_one_prefix(subject, expected):
    assert reply_subject(subject) == expected


@pytest.mark.parametrize(("subject", "expected"), [
    ("Offerta", "Fwd: Offerta"), ("Fwd: Offerta", "Fwd: Offerta"), ("I: Offerta", "Fwd: Offerta"),
    ("Re: Offerta", "Fwd: Re: Offerta"),
])
def test_forward_subject_carries_one_prefix(subject, expected):
    assert forward_subject(subject) == expected
    assert bare_subject(expected) == "Offerta"


def test_reply_goes_to_the_sender_and_reply_to_wins():
    assert reply_recipients(from_pair=("Mario", "mario@cliente.test"), to=[["Olga", "olga@acme.example"]],
                            own_addresses=OWN, reply_all=False) == ([("Mario", "mario@cliente.test")], [])
    assert reply_recipients(from_pair=("Mario", "mario@cliente.test"), reply_to=[["Ufficio", "ufficio@cliente.test"]],
                            to=[["", "olga@acme.example"]], own_addresses=OWN,
                            reply_all=False) == ([("Ufficio", "ufficio@cliente.test")], [])


def test_reply_all_leaves_out_every_address_of_the_user_and_duplicates():
    to, cc = reply_recipients(
        from_pair=("Mario", "mario@cliente.test"),
        to=[["Olga", "OLGA@acme.example"], ["Luigi", "luigi@cliente.test"], ["", "mario@cliente.test"]],
        cc=[["", "olga.owner@gmail.test"], ["Anna", "anna@cliente.test"], ["", "luigi@cliente.test"]],
        own_addresses=OWN, reply_all=True)
    assert to == [("Mario", "mario@cliente.test"), ("Luigi", "luigi@cliente.test")]
    assert cc == [("Anna", "anna@cliente.test")]


def test_reply_all_with_reply_to_keeps_the_other_recipients():
    to, cc = reply_recipients(from_pair=("Lista", "lista@cliente.test"), reply_to=[["", "risposte@cliente.test"]],
                              to=[["", "olga@acme.example"], ["", "team@cliente.test"]], cc=[],
                              own_addresses=OWN, reply_all=True)
    assert to == [("", "risposte@cliente.test"), ("", "team@cliente.test")]
    assert cc == []


def test_replying_to_ones_own_sent_message_goes_to_its_recipients():
    to, cc = reply_recipients(from_pair=("Olga", "olga@acme.example"), to=[["Luigi", "luigi@cliente.test"]],
                              cc=[["", "anna@cliente.test"], ["", "olga.owner@gmail.test"]],
                              own_addresses=OWN, reply_all=True)
    assert to == [("Luigi", "luigi@cliente.test")]
    assert cc == [("", "anna@cliente.test")]


def test_typed_address_lists_parse_and_format_back():
    pairs = parse_address_list('Mario Rossi <mario@cliente.test>; luigi@cliente.test, "Verdi, Anna" <anna@x.test>')
    assert pairs == [("Mario Rossi", "mario@cliente.test"), ("", "luigi@cliente.test"), ("Verdi, Anna", "anna@x.test")]
    assert parse_address_list(format_address_list(pairs)) == pairs
    assert parse_address_list("  ") == []
    with pytest.raises(ValueError, match="nonsense"):
        parse_address_list("mario@cliente.test, nonsense")


def test_a_saved_body_splits_into_what_was_written_and_the_quote():
    quote = quote_block(attribution="Il 1 dic, Mario <m@x.test> ha scritto:", original_html="<p>Ciao</p>")
    assert "&lt;m@x.test&gt;" in quote  # the attribution is text
    saved = '<p>Grazie!</p><div class="postino-signature"><p>Olga</p></div>' + quote
    written, quoted = split_saved_body(saved)
    assert written == "<p>Grazie!</p>"
    assert quoted == quote
    assert split_saved_body("<p>Solo testo</p>") == ("<p>Solo testo</p>", "")
    forward = forward_block(header_lines=[("Da", "Mario <m@x.test>"), ("Cc", "")], original_html="<p>x</p>",
                            title="Messaggio inoltrato")
    assert "Cc" not in forward and "Da:</b> Mario &lt;m@x.test&gt;" in forward
    assert split_saved_body("<p>Vedi sotto</p>" + forward)[0] == "<p>Vedi sotto</p>"
