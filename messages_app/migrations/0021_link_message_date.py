# A link carries its message's date, so that a record's timeline walks one index newest first and
# stops after a page (selectors/crm.py record_timeline) instead of joining and sorting every
# linked message. The column is added nullable, filled from the messages, then made required.

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def _fill_message_dates(apps, schema_editor):
    MessageLink = apps.get_model("messages_app", "MessageLink")
    Message = apps.get_model("messages_app", "Message")
    date = Subquery(Message.objects.filter(pk=OuterRef("message_id")).values("date")[:1])
    MessageLink.objects.using(schema_editor.connection.alias).update(message_date=date)


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0002_records'),
        ('messages_app', '0020_sync_schedule'),
    ]

    operations = [
        migrations.AddField(
            model_name='messagelink',
            name='message_date',
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(_fill_message_dates, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='messagelink',
            name='message_date',
            field=models.DateTimeField(),
        ),
        migrations.RemoveIndex(
            model_name='messagelink',
            name='link_contact_state',
        ),
        migrations.RemoveIndex(
            model_name='messagelink',
            name='link_company_state',
        ),
        migrations.RemoveIndex(
            model_name='messagelink',
            name='link_lead_state',
        ),
        migrations.AddIndex(
            model_name='messagelink',
            index=models.Index(condition=models.Q(('contact__isnull', False)), fields=['contact', 'state', '-message_date', '-message'], name='link_contact_timeline'),
        ),
        migrations.AddIndex(
            model_name='messagelink',
            index=models.Index(condition=models.Q(('company__isnull', False)), fields=['company', 'state', '-message_date', '-message'], name='link_company_timeline'),
        ),
        migrations.AddIndex(
            model_name='messagelink',
            index=models.Index(condition=models.Q(('lead__isnull', False)), fields=['lead', 'state', '-message_date', '-message'], name='link_lead_timeline'),
        ),
    ]
