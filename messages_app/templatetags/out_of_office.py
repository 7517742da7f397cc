"""{% ooo_banner %}: the bar every page shows while the user's out-of-office is on."""

from django import template

register = template.Library()


@register.inclusion_tag("components/ooo_banner.html", takes_context=True)
def ooo_banner(context):
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"current": []}
    # The mailbox pages read whether it is on with the preferences (preferences_for_page): no
    # query while it is off, the usual case.
    if getattr(context.get("preferences"), "ooo_on", None) is False:
        return {"current": []}
    from messages_app.services.ooo import ooo_current

    return {"current": ooo_current(user)}
