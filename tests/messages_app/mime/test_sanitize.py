"""The sanitiser on its own: strict allowlist, remote content blocked until allowed, own URLs only."""

from messages_app.mime.sanitize import clean_html, text_to_html


def test_links_open_in_a_new_tab_without_opener_or_referrer():
    html = clean_html('<a href="https://cliente.test/x" target="_self" rel="opener">x</a>').html
    assert html == '<a href="https://cliente.test/x" target="_blank" rel="noopener noreferrer">x</a>'


def test_only_web_mail_and_phone_links_survive():
    html = clean_html('<a href="javascript:alert(1)">a</a><a href="mailto:a@b.it">b</a><a href="tel:+39">c</a>'
                      '<a href="data:text/html,x">d</a><a href="/relative">e</a>').html
    assert 'href="mailto:a@b.it"' in html and 'href="tel:+39"' in html
    assert "javascript" not in html and "data:" not in html and "/relative" not in html


def test_remote_images_are_left_out_and_counted_until_allowed():
    source = '<img src="https://tracker.test/p.gif" alt="pixel"><img src="http://x.test/b.png">'
    blocked = clean_html(source)
    assert blocked.blocked_remote == 2 and "tracker.test" not in blocked.html and 'alt="pixel"' in blocked.html
    allowed = clean_html(source, allow_remote=True)
    assert allowed.blocked_remote == 0 and 'src="https://tracker.test/p.gif"' in allowed.html


def test_css_keeps_safe_properties_and_drops_what_fetches_or_runs():
    html = clean_html('<p style="color: red; position: fixed; background: url(https://x.test/a.png); '
                      'width: expression(alert(1)); font-weight: bold">x</p>').html
    assert html == '<p style="color:red;font-weight:bold">x</p>'


def test_css_backgrounds_return_with_show_images():
    source = '<table><tr><td style="background-image: url(https://x.test/a.png); color: blue">x</td></tr></table>'
    assert clean_html(source).blocked_remote == 1 and "url(" not in clean_html(source).html
    assert "url(" in clean_html(source, allow_remote=True).html


def test_cid_images_point_at_our_url_and_unknown_ones_vanish():
    html = clean_html('<img src="cid:logo@x"><img src="cid:missing@x">',
                      cid_url=lambda cid: "/messages/m/1/cid/2/?t=t" if cid == "logo@x" else None).html
    assert html == '<img src="/messages/m/1/cid/2/?t=t"><img>'


def test_a_relative_url_like_ours_is_still_refused():
    assert clean_html('<img src="/messages/m/1/cid/2/?t=forged">').html == "<img>"


def test_inline_raster_data_images_stay_and_svg_data_goes():
    png = "data:image/png;base64,iVBORw0KGgo="
    html = clean_html(f'<img src="{png}"><img src="data:image/svg+xml;base64,PHN2Zz4=">').html
    assert html == f'<img src="{png}"><img>'


def test_style_and_script_contents_disappear_with_their_tags():
    assert clean_html("<style>p{color:red}</style><script>alert(1)</script><p>ok</p>").html == "<p>ok</p>"


def test_plain_text_is_escaped_and_links_become_safe_anchors():
    html = text_to_html("<b>ciao</b> www.cliente.test e mario@cliente.test, non javascript:alert(1)")
    assert html.startswith("&lt;b&gt;ciao&lt;/b&gt; ")
    assert '<a href="https://www.cliente.test" target="_blank" rel="noopener noreferrer">www.cliente.test</a>' in html
    assert '<a href="mailto:mario@cliente.test">mario@cliente.test</a>' in html
    assert "javascript:alert(1)" in html and 'href="javascript' not in html


def test_a_link_stops_before_trailing_punctuation_and_quotes():
    html = text_to_html('Vedi https://x.test/a?b=1&c=2. Oppure "https://y.test/q"')
    assert 'href="https://x.test/a?b=1&amp;c=2"' in html and 'href="https://y.test/q"' in html
