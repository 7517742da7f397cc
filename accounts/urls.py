from django.urls import path

from accounts import views

urlpatterns = [
    path("preferences/", views.preferences, name="preferences"),
]
