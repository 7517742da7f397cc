"""Routes of the mailbox screens, appended to messages_app/urls.py (under /messages/)."""

from django.urls import path

from messages_app.views import actions, compose, crm, mailbox, pec, reading, settings_mailbox

urlpatterns = [
    path("unified/<str:role>/", mailbox.unified, name="unified"),
    path("special/<str:name>/", mailbox.special, name="special"),
    path("folder/<int:folder_id>/", mailbox.folder, name="folder"),
    path("thread/<int:thread_id>/", mailbox.thread, name="thread"),
    path("counts/", mailbox.counts, name="counts"),
    path("changes/", mailbox.changes, name="changes"),
    path("m/<int:pk>/", reading.message_read, name="message"),
    path("m/<int:pk>/body/", reading.message_body, name="message_body"),
    path("m/<int:pk>/cid/", reading.message_cid_base, name="message_cid_base"),
    path("m/<int:pk>/cid/<int:part_pk>/", reading.message_cid, name="message_cid"),
    path("m/<int:pk>/attachments/<int:part_pk>/", reading.attachment, name="attachment"),
    path("m/<int:pk>/attachments.zip", reading.attachments_all, name="attachments_zip"),
    path("m/<int:pk>/trust-sender/", reading.trust_sender, name="trust_sender"),
    path("m/<int:pk>/pec/envelope.eml", pec.pec_envelope, name="pec_envelope"),
    path("pec/receipts/", pec.pec_receipts, name="pec_receipts"),
    path("m/<int:pk>/links/", crm.links_panel, name="crm_links"),
    path("m/<int:pk>/links/search/", crm.link_search, name="crm_link_search"),
    path("m/<int:pk>/links/add/", crm.link_create, name="crm_link_add"),
    path("links/<int:link_id>/", crm.link_state, name="crm_link_state"),
    path("links/pending/", crm.pending, name="crm_pending"),
    path("records/<str:kind>/<int:pk>/timeline/", crm.record_timeline_view, name="record_timeline"),
    path("m/<int:pk>/share/add/", crm.share, name="share"),
    path("m/<int:pk>/share/revoke/", crm.share_remove, name="share_revoke"),
    path("m/<int:pk>/share/comment/", crm.share_comment, name="share_comment"),
    path("actions/", actions.actions, name="actions"),
    path("compose/", compose.compose, name="compose"),
    path("compose/draft/", compose.compose_draft, name="compose_draft"),
    path("compose/upload/", compose.compose_upload, name="compose_upload"),
    path("compose/addresses/", compose.compose_addresses, name="compose_addresses"),
    path("compose/signature/<int:pk>/", compose.compose_signature, name="compose_signature"),
    path("outbox/<int:pk>/undo/", compose.outbox_undo, name="outbox_undo"),
    path("outbox/<int:pk>/scheduled/", compose.scheduled_action, name="scheduled_action"),
    path("settings/layout/", settings_mailbox.layout, name="settings_layout"),
    path("settings/folders/", settings_mailbox.folder_roles, name="settings_folders"),
    path("settings/folders/<int:pk>/", settings_mailbox.folder_roles_save, name="settings_folders_save"),
]
