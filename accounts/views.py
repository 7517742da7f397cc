from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.forms import PreferencesForm


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request):
    form = PreferencesForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        translation.activate(request.user.language)
        messages.success(request, _("Preferences saved."))
        return redirect("preferences")
    return render(request, "accounts/preferences.html", {"form": form})


def login_locked_out(request, original_response=None, credentials=None):
    """What django-axes shows once a username has had too many wrong passwords from one address:
    the sign-in page again, saying in words why it refuses and for how long."""
    return render(request, "registration/login.html",
                  {"locked_out_minutes": settings.LOGIN_LOCKOUT_MINUTES}, status=429)
