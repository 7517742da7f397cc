from django.urls import path

from messages_app.mailbox_urls import urlpatterns as mailbox_urlpatterns
from messages_app.views import (
    mailbox,
    settings_accounts,
    settings_oauth,
    settings_ooo,
    settings_pop3,
    settings_rules,
    settings_signature,
    sync_health,
)

app_name = "messages_app"

urlpatterns = [
    path("", mailbox.index, name="index"),
    path("settings/accounts/", settings_accounts.account_list, name="account_list"),
    path("settings/accounts/new/", settings_accounts.account_create, name="account_create"),
    path("settings/accounts/oauth/<str:provider>/start/", settings_oauth.oauth_start, name="oauth_start"),
    path("settings/accounts/oauth/<str:provider>/callback/", settings_oauth.oauth_callback, name="oauth_callback"),
    path("settings/accounts/<int:pk>/", settings_accounts.account_edit, name="account_edit"),
    path("settings/accounts/<int:pk>/test/", settings_accounts.account_test, name="account_test"),
    path("settings/accounts/<int:pk>/primary/", settings_accounts.account_make_primary, name="account_make_primary"),
    path("settings/accounts/<int:pk>/delete/", settings_accounts.account_delete, name="account_delete"),
    path("settings/accounts/<int:pk>/health/", sync_health.sync_health, name="sync_health"),
    path("settings/accounts/<int:pk>/health/<int:folder_id>/verify/", sync_health.sync_verify, name="sync_verify"),
    path("settings/accounts/<int:pk>/progress/", sync_health.sync_progress, name="sync_progress"),
    path("settings/accounts/<int:pk>/signature/", settings_signature.account_signature, name="account_signature"),
    path("settings/accounts/<int:pk>/signature/preview/", settings_signature.account_signature_preview,
         name="account_signature_preview"),
    path("settings/filters/", settings_rules.rules_index, name="rules_index"),
    path("settings/accounts/<int:pk>/filters/", settings_rules.account_rules, name="account_rules"),
    path("settings/accounts/<int:pk>/filters/apply/", settings_rules.account_rules_apply, name="account_rules_apply"),
    path("settings/accounts/<int:pk>/filters/server/", settings_rules.account_rules_server,
         name="account_rules_server"),
    path("settings/accounts/<int:pk>/filters/jobs/<int:job_id>/", settings_rules.account_rules_progress,
         name="account_rules_progress"),
    path("settings/out-of-office/", settings_ooo.out_of_office, name="out_of_office"),
    path("settings/pop3/", settings_pop3.pop3_index, name="pop3_index"),
    path("settings/accounts/<int:pk>/pop3/", settings_pop3.account_pop3, name="account_pop3"),
]
urlpatterns += mailbox_urlpatterns
