"""CRM record pages: list, detail, create and edit, for the signed-in user's own records only.

The detail page's mail timeline and links are served by messages_app (which may read CRM records;
crm never reads mail) and loaded into the page by htmx."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from crm.forms import FORMS
from crm.models import RecordKind
from crm.selectors import record_model, record_or_404, records_of
from crm.services import record_emails_set

PAGE_SIZE = 50
TITLES = {RecordKind.CONTACT: _("Contacts"), RecordKind.COMPANY: _("Companies"), RecordKind.LEAD: _("Leads")}
SEARCH_FIELDS = {RecordKind.CONTACT: ("first_name", "last_name"), RecordKind.COMPANY: ("name",),
                 RecordKind.LEAD: ("name", "company_name")}
ORDER = {RecordKind.CONTACT: ("last_name", "first_name", "id"), RecordKind.COMPANY: ("name", "id"),
         RecordKind.LEAD: ("name", "id")}


def _kind(kind: str) -> RecordKind:
    record_model(kind)  # 404 for an unknown kind
    return RecordKind(kind)


@login_required
def record_list(request, kind: str):
    kind = _kind(kind)
    records = records_of(request.user, kind).prefetch_related("emails")
    query = request.GET.get("q", "").strip()
    if query:
        condition = Q(emails__address__icontains=query)
        for field in SEARCH_FIELDS[kind]:
            condition |= Q(**{f"{field}__icontains": query})
        records = records.filter(condition).distinct()
    if kind == RecordKind.CONTACT:
        records = records.select_related("company")
    page = Paginator(records.order_by(*ORDER[kind]), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "crm/record_list.html", {"kind": kind, "page": page, "query": query,
                                                    "kinds": RecordKind, "title": TITLES[kind]})


@login_required
def record_detail(request, kind: str, pk: int):
    kind = _kind(kind)
    record = record_or_404(request.user, kind, pk)
    return render(request, "crm/record_detail.html", {"kind": kind, "record": record, "kinds": RecordKind,
                                                      "emails": record.emails.order_by("id"), "title": TITLES[kind]})


@login_required
@require_http_methods(["GET", "POST"])
def record_edit(request, kind: str, pk: int | None = None):
    kind = _kind(kind)
    record = record_or_404(request.user, kind, pk) if pk is not None else None
    form_class = FORMS[kind]
    initial = {}
    if record is None:  # "create a contact from the sender": prefilled from the query string
        initial = {name: request.GET[name] for name in ("first_name", "last_name", "name", "emails")
                   if name in request.GET}
    form = form_class(request.POST or None, instance=record, owner=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = form.save(commit=False)
            saved.owner = request.user if record is None else record.owner
            saved.save()
            record_emails_set(record=saved, addresses=form.cleaned_data["emails"])
        return redirect(saved.get_absolute_url())
    return render(request, "crm/record_form.html", {"kind": kind, "record": record, "form": form,
                                                    "kinds": RecordKind, "title": TITLES[kind]})
