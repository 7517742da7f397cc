from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from crm.addresses import normalise
from crm.models import Company, Contact, Lead, RecordKind

COMMON = ["phones", "address", "notes"]


class RecordForm(forms.ModelForm):
    emails = forms.CharField(label=_("E-mail addresses"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("One per line."))

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        if self.instance.pk:
            self.fields["emails"].initial = "\n".join(self.instance.emails.order_by("id")
                                                      .values_list("address", flat=True))
        if "company" in self.fields:
            self.fields["company"].queryset = Company.objects.filter(owner=owner).order_by("name")

    def clean_emails(self) -> list[str]:
        addresses = []
        for raw in self.cleaned_data["emails"].replace(",", "\n").replace(";", "\n").splitlines():
            if not raw.strip():
                continue
            try:
                validate_email(normalise(raw))
            except ValidationError:
                raise ValidationError(_("%(address)s is not an e-mail address.") % {"address": raw.strip()}) from None
            addresses.append(raw)
        return addresses


class ContactForm(RecordForm):
    class Meta:
        model = Contact
        fields = ["first_name", "last_name", "company", "role", *COMMON]


class CompanyForm(RecordForm):
    class Meta:
        model = Company
        fields = ["name", "website", *COMMON]


class LeadForm(RecordForm):
    class Meta:
        model = Lead
        fields = ["name", "company_name", "role", *COMMON]


FORMS = {RecordKind.CONTACT: ContactForm, RecordKind.COMPANY: CompanyForm, RecordKind.LEAD: LeadForm}
