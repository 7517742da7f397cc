"""Signature rendering, text version, sanitizing and placement: pure logic, no database."""

from types import SimpleNamespace

from messages_app.signatures import (
    SignatureValues,
    clean_signature_html,
    render,
    signature_text,
    unknown_placeholders,
    values_of,
    with_signature,
)

TEMPLATE = ("<p><b>$Users||first_name$ $Users||last_name$</b><br>$Users||roleid$ · $Users||title$, "
            "$Users||department$<br>Tel. $Users||phone_work$ · Cell. $Users||phone_mobile$ · "
            "Fax $Users||phone_fax$<br>$Users||address_street$<br>"
            '<a href="mailto:$Users||email1$">$Users||email1$</a></p>')


def test_every_vtenext_user_field_is_filled_with_the_users_value():
    values = SignatureValues(first_name="Olga", last_name="Rossi", role="Vendite", title="Account manager",
                             department="Nord", phone="+39 02 1", mobile="+39 333 2", fax="+39 02 3",
                             address="Via Roma 1, Milano", email="olga@example.it")
    html = render(TEMPLATE, values)
    assert "$" not in html
    for value in ("Olga", "Rossi", "Vendite", "Account manager", "Nord", "+39 02 1", "+39 333 2", "+39 02 3",
                  "Via Roma 1, Milano", 'href="mailto:olga@example.it"'):
        assert value in html


def test_values_are_html_escaped_in_text_and_in_attributes():
    values = SignatureValues(first_name="<script>alert(1)</script>", email='a"onmouseover="x@example.it')
    html = render(TEMPLATE, values)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'a"onmouseover' not in html and "a&quot;onmouseover" in html


def test_values_of_a_user_gives_the_role_display_name_and_our_own_aliases_work():
    user = SimpleNamespace(username="olga", first_name="Olga", last_name="Rossi", email="o@example.it",
                           role="sales", get_role_display=lambda: "Vendite", title="", department="",
                           phone="02 1", mobile="", fax="", address="")
    values = values_of(user)
    assert values.role == "Vendite"
    assert render("$Users||roleid$/$Users||role$/$Users||phone$/$Users||user_name$/$Users||full_name$",
                  values) == "Vendite/Vendite/02 1/olga/Olga Rossi"


def test_unknown_placeholders_are_named_once_each_in_order_and_left_in_place():
    template = "$Users||shoe_size$ $Users||first_name$ $Contacts||firstname$ $Users||shoe_size$"
    assert unknown_placeholders(template) == ["$Users||shoe_size$", "$Contacts||firstname$"]
    assert unknown_placeholders(TEMPLATE) == []
    assert render(template, SignatureValues(first_name="Olga")) == (
        "$Users||shoe_size$ Olga $Contacts||firstname$ $Users||shoe_size$")


def test_the_text_version_keeps_lines_links_and_alt_text():
    html = ('<p><b>Olga Rossi</b><br>Vendite</p><p><img src="https://x.example/logo.png" alt="ACME">'
            '<a href="https://acme.example">il nostro sito</a> · <a href="mailto:o@acme.example">o@acme.example</a>'
            "</p><style>p{color:red}</style>")
    assert signature_text(html) == "Olga Rossi\nVendite\n\nACME il nostro sito <https://acme.example> · o@acme.example"


def test_sanitizing_strips_scripts_and_handlers_keeps_links_and_https_or_data_images():
    html = clean_signature_html(
        '<p onclick="steal()">Olga<script>alert(1)</script> <a href="https://acme.example">sito</a>'
        '<a href="javascript:alert(1)">x</a><img src="http://acme.example/a.png"><img src="https://acme.example/b.png">'
        '<img src="data:image/png;base64,iVBORw0KGgo="></p><iframe src="https://evil.example"></iframe>')
    assert "script" not in html and "onclick" not in html and "javascript" not in html and "iframe" not in html
    assert 'href="https://acme.example"' in html
    assert 'src="https://acme.example/b.png"' in html and 'src="data:image/png;base64,iVBORw0KGgo="' in html
    assert "http://acme.example/a.png" not in html


def test_a_signature_cannot_carry_the_bodys_block_markers():
    html = clean_signature_html('<div class="postino-quote">ACME</div><div class="postino-signature">x</div>')
    assert "class" not in html and "ACME" in html


def test_sanitizing_keeps_placeholders_even_in_a_mailto_link():
    html = clean_signature_html('<a href="mailto:$Users||email1$">$Users||first_name$</a>')
    assert 'href="mailto:$Users||email1$"' in html and ">$Users||first_name$<" in html


def test_with_signature_goes_once_above_the_quoted_text():
    reply = '<p>Grazie!</p><div class="postino-quote">Il 1 dic, Bob ha scritto:<blockquote>Ciao</blockquote></div>'
    signed = with_signature(reply, "<b>Olga</b>")
    assert signed == ('<p>Grazie!</p><div class="postino-signature"><b>Olga</b></div>'
                      '<div class="postino-quote">Il 1 dic, Bob ha scritto:<blockquote>Ciao</blockquote></div>')
    assert with_signature(signed, "<b>Olga</b>") == signed  # calling it again adds no second one


def test_with_signature_swaps_the_previous_one_nested_divs_included():
    body = with_signature("<p>Testo</p><blockquote>Citato</blockquote>", "<div><b>Olga</b><div>Vendite</div></div>")
    swapped = with_signature(body, "<i>ACME S.p.A.</i>")
    assert swapped == ('<p>Testo</p><div class="postino-signature"><i>ACME S.p.A.</i></div>'
                       "<blockquote>Citato</blockquote>")
    assert swapped.count("postino-signature") == 1
    assert with_signature(swapped, "") == "<p>Testo</p><blockquote>Citato</blockquote>"


def test_with_signature_appends_to_a_new_message_and_leaves_a_quoted_signature_alone():
    assert with_signature("", "<b>Olga</b>") == '<div class="postino-signature"><b>Olga</b></div>'
    quoted = '<p>Ok</p><blockquote><div class="postino-signature">Bob</div></blockquote>'
    assert with_signature(quoted, "<b>Olga</b>") == (
        '<p>Ok</p><div class="postino-signature"><b>Olga</b></div>'
        '<blockquote><div class="postino-signature">Bob</div></blockquote>')
    assert with_signature("<html><body><p>Hi</p></body></html>", "S") == (
        '<html><body><p>Hi</p><div class="postino-signature">S</div></body></html>')


def test_a_sanitized_body_keeps_its_signature_block_so_the_swap_still_replaces_it():
    from messages_app.mime.sanitize import clean_html

    signed = with_signature('<p>Testo</p><div class="postino-quote"><blockquote>Citato</blockquote></div>',
                            "<b>Olga</b>")
    sanitized = clean_html(signed + '<div class="evil-overlay">x</div>').html
    assert 'class="evil-overlay"' not in sanitized
    swapped = with_signature(sanitized, "<i>ACME</i>")
    assert swapped.count("postino-signature") == 1 and "<i>ACME</i>" in swapped and "Olga" not in swapped
    assert swapped.index("ACME") < swapped.index("Citato")
