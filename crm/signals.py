"""What the CRM tells the rest of the project (which it never imports)."""

from django.dispatch import Signal

# A record got new e-mail addresses: record=, addresses= (normalised). messages_app links the
# mail already stored from them.
record_addresses_added = Signal()
