from django.contrib import admin

from crm.models import Company, Contact, EmailAddress, Lead


class EmailInline(admin.TabularInline):
    model = EmailAddress
    fields = ["address"]
    extra = 1


class RecordAdmin(admin.ModelAdmin):
    inlines = [EmailInline]
    list_filter = ["owner"]
    autocomplete_fields = ["owner"]

    def save_formset(self, request, form, formset, change):
        from crm.addresses import domain_of, normalise

        emails = formset.save(commit=False)
        for email in emails:
            email.address = normalise(email.address)
            email.domain = domain_of(email.address)
            email.owner_id = form.instance.owner_id
            email.save()
        for gone in formset.deleted_objects:
            gone.delete()


@admin.register(Contact)
class ContactAdmin(RecordAdmin):
    list_display = ["__str__", "company", "role", "owner"]
    search_fields = ["first_name", "last_name", "emails__address"]


@admin.register(Company)
class CompanyAdmin(RecordAdmin):
    list_display = ["name", "website", "owner"]
    search_fields = ["name", "emails__address"]


@admin.register(Lead)
class LeadAdmin(RecordAdmin):
    list_display = ["name", "company_name", "owner"]
    search_fields = ["name", "emails__address"]
