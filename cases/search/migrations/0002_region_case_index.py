"""A county's search and the routing candidates narrow by region and a window of the newest case ids in
one index scan: (region, case) replaces the region index (its first column serves the same lookups).

Plain SQL on both databases: Django would rebuild the table on SQLite to alter the foreign key, and
a rebuilt table loses the FTS5 triggers of migration 0001."""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = [
    "CREATE INDEX case_search_region_case_idx ON case_search_document (region_id, case_id)",
    "DROP INDEX IF EXISTS case_search_document_region_id_e66d471d",
]
BACKWARD = [
    "CREATE INDEX case_search_document_region_id_e66d471d ON case_search_document (region_id)",
    "DROP INDEX IF EXISTS case_search_region_case_idx",
]


class Migration(migrations.Migration):
    dependencies = [
        ("case_search", "0001_initial"),
        ("cases", "0010_chinese_verbose_names"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, BACKWARD)],
            state_operations=[
                migrations.AlterField(
                    model_name="searchdocument",
                    name="region",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="cases.region",
                    ),
                ),
                migrations.AddIndex(
                    model_name="searchdocument",
                    index=models.Index(fields=["region", "case"], name="case_search_region_case_idx"),
                ),
            ],
        ),
    ]
