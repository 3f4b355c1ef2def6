"""The search index: its table, each database's text index over it, and every existing case indexed.

PostgreSQL: a generated ``vector`` column (ident weight A, enterprise B, body D; the ``simple``
configuration: the words are already segmented, so no stemming or stop words) and a GIN index.
SQLite: an FTS5 table over the same rows (external content, rowid = case id) kept by triggers.
The ORM never names either: they follow the three text columns on their own.
"""
import django.db.models.deletion
from django.db import migrations, models

POSTGRES = [
    """ALTER TABLE case_search_document ADD COLUMN vector tsvector GENERATED ALWAYS AS (
           setweight(to_tsvector('simple'::regconfig, ident), 'A')
        || setweight(to_tsvector('simple'::regconfig, enterprise), 'B')
        || setweight(to_tsvector('simple'::regconfig, body), 'D')) STORED""",
    "CREATE INDEX case_search_vector_gin ON case_search_document USING gin (vector)",
]
POSTGRES_REVERSE = ["DROP INDEX IF EXISTS case_search_vector_gin",
                    "ALTER TABLE case_search_document DROP COLUMN IF EXISTS vector"]

SQLITE = [
    """CREATE VIRTUAL TABLE case_search_fts USING fts5(
           ident, enterprise, body, content='case_search_document', content_rowid='case_id')""",
    """CREATE TRIGGER case_search_fts_insert AFTER INSERT ON case_search_document BEGIN
           INSERT INTO case_search_fts(rowid, ident, enterprise, body)
           VALUES (new.case_id, new.ident, new.enterprise, new.body);
       END""",
    """CREATE TRIGGER case_search_fts_delete AFTER DELETE ON case_search_document BEGIN
           INSERT INTO case_search_fts(case_search_fts, rowid, ident, enterprise, body)
           VALUES ('delete', old.case_id, old.ident, old.enterprise, old.body);
       END""",
    """CREATE TRIGGER case_search_fts_update AFTER UPDATE ON case_search_document BEGIN
           INSERT INTO case_search_fts(case_search_fts, rowid, ident, enterprise, body)
           VALUES ('delete', old.case_id, old.ident, old.enterprise, old.body);
           INSERT INTO case_search_fts(rowid, ident, enterprise, body)
           VALUES (new.case_id, new.ident, new.enterprise, new.body);
       END""",
]
SQLITE_REVERSE = ["DROP TRIGGER IF EXISTS case_search_fts_insert", "DROP TRIGGER IF EXISTS case_search_fts_delete",
                  "DROP TRIGGER IF EXISTS case_search_fts_update", "DROP TABLE IF EXISTS case_search_fts"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


def index_existing_cases(apps, schema_editor):
    from cases.search.index import index_cases

    index_cases(case_model=apps.get_model("cases", "Case"),
                document_model=apps.get_model("case_search", "SearchDocument"))


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("cases", "0008_case_number_counter"),
    ]

    operations = [
        migrations.CreateModel(
            name="SearchDocument",
            fields=[
                ("case", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                              related_name="search_document", serialize=False, to="cases.case")),
                ("region", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                             to="cases.region")),
                ("ident", models.TextField(blank=True)),
                ("enterprise", models.TextField(blank=True)),
                ("body", models.TextField(blank=True)),
            ],
            options={"db_table": "case_search_document"},
        ),
        migrations.RunPython(_run({"postgresql": POSTGRES, "sqlite": SQLITE}),
                             _run({"postgresql": POSTGRES_REVERSE, "sqlite": SQLITE_REVERSE})),
        migrations.RunPython(index_existing_cases, migrations.RunPython.noop),
    ]
