"""The synced mailbox of the view tests, for the compose tests too."""

from tests.messages_app.views.conftest import mailbox  # noqa: F401 - a fixture
