"""The database cache table (settings.CACHES), so `manage.py migrate` alone gives a working install.

Opening a message keeps its raw source in this cache; without the table that is a 500.
`createcachetable` skips tables that already exist, so installs that ran it before are unaffected.
"""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = []

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
