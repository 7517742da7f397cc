from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('messages_app', '0009_sync_stopped'),
    ]

    operations = [
        migrations.AddField(
            model_name='mailaccount',
            name='folders_skipped',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
    ]
