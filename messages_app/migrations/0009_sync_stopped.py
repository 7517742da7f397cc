from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('messages_app', '0008_signatures'),
    ]

    operations = [
        migrations.AddField(
            model_name='mailaccount',
            name='sync_stopped_for',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
    ]
