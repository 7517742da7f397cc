"""The hostile corpus in Chromium: opening each message runs nothing (no dialog, no injected
element) and fetches nothing from the sender's server until "show images"."""

import pytest
from playwright.sync_api import expect

from messages_app.models import Message
from tests.e2e.conftest import log_in
from tests.messages_app.views import hostile
from tests.messages_app.views.conftest import make_mailbox

pytestmark = pytest.mark.django_db(transaction=True)

INJECTED = "script, iframe, frame, object, embed, form, svg, math, base[href], meta[http-equiv], link, input, button"


def test_no_hostile_message_runs_code_or_fetches_before_show_images(page, live_server, owner, mail_user, remote_log):
    box = make_mailbox(owner, mail_user, [("INBOX", hostile.load(name, remote_log.host), ()) for name in hostile.NAMES])
    messages = list(Message.objects.filter(account=box.account).order_by("uid"))
    assert len(messages) == len(hostile.NAMES)
    log_in(page, live_server, "owner", "owner-pass-1")
    own_scripts = page.evaluate("document.scripts.length")

    for message in messages:
        page.goto(f"{live_server.url}/messages/m/{message.pk}/")
        expect(page.locator("#reading article.message")).to_be_visible()
        frame_element = page.locator("iframe.body-frame")
        if frame_element.count():
            frame = frame_element.element_handle().content_frame()
            frame.wait_for_load_state("load")
            assert frame.evaluate(f"document.querySelectorAll({INJECTED!r}).length") == 0, message.subject
            assert frame.evaluate("[...document.querySelectorAll('*')].filter(e => [...e.attributes]"
                                  ".some(a => a.name.startsWith('on'))).length") == 0, message.subject
        assert page.evaluate("document.scripts.length") == own_scripts, message.subject
        page.mouse.move(400, 400)  # hover handlers, had any survived
    page.wait_for_load_state("networkidle")
    assert page.dialogs == []
    assert remote_log.requests == []

    # The log does see what the browser fetches: showing the tracking pixel's images reaches it.
    tracking = next(m for m in messages if m.subject == "Remote tracking")
    page.goto(f"{live_server.url}/messages/m/{tracking.pk}/")
    page.locator(".images-bar .show-images").click()
    pixel = page.frame_locator("iframe.body-frame").locator("img[width='1']")
    expect(pixel).to_have_js_property("naturalWidth", 1)
    assert "/pixel.gif" in remote_log.requests
    assert page.dialogs == []
