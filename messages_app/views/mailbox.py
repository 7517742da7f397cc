from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from messages_app.selectors import folders_of, mail_accounts_of


@login_required
def index(request):
    """The Messages module shell: folder column on the left, message list on the right."""
    return render(request, "messages_app/index.html", {
        "accounts": mail_accounts_of(request.user),
        "folders": folders_of(request.user),
    })
