"""The database refuses UPDATE and DELETE of ledger rows (PostgreSQL and SQLite)."""
from django.db import migrations


def create(apps, schema_editor):
    from ledger import db_triggers

    db_triggers.create(schema_editor.connection)


def drop(apps, schema_editor):
    from ledger import db_triggers

    db_triggers.drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
