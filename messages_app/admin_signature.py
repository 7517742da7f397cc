"""Admin: Firma centralizzata, the one company signature template, with a preview rendered for a
chosen user and a warning naming every placeholder no user field fills.

Only staff reach the admin site, and Django's model permissions decide who may view or change the
template; the preview URL checks the same permission (it is no public page)."""

import copy

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messages_app.models import CompanySignature
from messages_app.services.signatures import company_signature_get, company_signature_save, signature_render
from messages_app.signatures import PLACEHOLDER_FIELDS
from messages_app.views.settings_signature import signature_preview_response

PREVIEW_USER_PARAM = "preview_user"


class _UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        full_name = user.get_full_name()
        return f"{full_name} ({user.username})" if full_name else user.username


class CompanySignatureForm(forms.ModelForm):
    # Not stored: whose values the preview below the form shows after saving.
    preview_user = _UserChoiceField(
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"), required=False,
        label=gettext_lazy("Preview for"))

    class Meta:
        model = CompanySignature
        fields = ["html"]
        widgets = {"html": forms.Textarea(attrs={"rows": 14, "cols": 100, "spellcheck": "false"})}
        help_texts = {"html": gettext_lazy("HTML with vtenext placeholders, e.g. $Users||first_name$. "
                                           "Scripts and forms are removed when saved.")}


@admin.register(CompanySignature)
class CompanySignatureAdmin(admin.ModelAdmin):
    form = CompanySignatureForm
    change_form_template = "admin/messages_app/companysignature/change_form.html"

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not CompanySignature.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False  # one template, emptied rather than deleted

    def changelist_view(self, request, extra_context=None):
        # A list of one row says nothing: straight to the template (or to creating it).
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if CompanySignature.objects.filter(pk=CompanySignature.SINGLETON_PK).exists():
            return redirect("admin:messages_app_companysignature_change", CompanySignature.SINGLETON_PK)
        return redirect("admin:messages_app_companysignature_add")

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview_view)
        return [path("preview/", preview, name="messages_app_companysignature_preview"), *super().get_urls()]

    def _preview_user_id(self, request) -> str:
        value = request.GET.get(PREVIEW_USER_PARAM, "")
        return value if value.isdigit() else str(request.user.pk)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        # A copy per request: base fields are shared by every form class the admin builds.
        form.base_fields = {**form.base_fields}
        form.base_fields["preview_user"] = copy.deepcopy(form.base_fields["preview_user"])
        form.base_fields["preview_user"].initial = self._preview_user_id(request)
        return form

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "signature_preview_url": reverse("admin:messages_app_companysignature_preview")
            + f"?{PREVIEW_USER_PARAM}={self._preview_user_id(request)}",
            "signature_placeholders": sorted(f"$Users||{name}$" for name in PLACEHOLDER_FIELDS),
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        saved, unknown = company_signature_save(html=form.cleaned_data["html"])
        obj.pk, obj.html, obj.updated_at = saved.pk, saved.html, saved.updated_at
        if unknown:
            messages.warning(request, _("Unknown placeholders, sent as they are: %(names)s")
                             % {"names": ", ".join(unknown)})

    def _with_preview_user(self, request, response):
        chosen = request.POST.get(PREVIEW_USER_PARAM, "")
        if chosen.isdigit() and response.status_code == 302 and "_continue" in request.POST:
            separator = "&" if "?" in response["Location"] else "?"
            response["Location"] += f"{separator}{PREVIEW_USER_PARAM}={chosen}"
        return response

    def response_change(self, request, obj):
        return self._with_preview_user(request, super().response_change(request, obj))

    def response_add(self, request, obj, post_url_continue=None):
        return self._with_preview_user(request, super().response_add(request, obj, post_url_continue))

    def preview_view(self, request):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        user = get_object_or_404(get_user_model(), pk=self._preview_user_id(request))
        html, _text = signature_render(template_html=company_signature_get().html, user=user)
        return signature_preview_response(request, html)
