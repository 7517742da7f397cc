from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from accounts.models import User


@admin.register(User)
class PostinoUserAdmin(UserAdmin):
    fieldsets = (
        *UserAdmin.fieldsets,
        ("CRM", {"fields": ("role", "title", "department", "phone", "mobile", "fax", "address",
                            "language", "time_zone")}),
    )
    list_display = ("username", "email", "first_name", "last_name", "role", "is_staff")
