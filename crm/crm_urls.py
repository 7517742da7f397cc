"""Routes of the CRM record pages (under /crm/)."""

from django.urls import path

from crm import views

app_name = "crm"

urlpatterns = [
    path("<str:kind>/", views.record_list, name="list"),
    path("<str:kind>/new/", views.record_edit, name="create"),
    path("<str:kind>/<int:pk>/", views.record_detail, name="record"),
    path("<str:kind>/<int:pk>/edit/", views.record_edit, name="edit"),
]
