"""A department's search narrows the index to its own cases first (issue 16, deliverable 3).

A department's search (``q=`` on its 台帐 and its API) checked the document of every case it
ever had — some 11,000 at a million cases — for the words: 60–75 ms a query, the page over
100 ms. Each document now names the departments of the case (its DepartmentCase rows: any
routing's), space-separated; PostgreSQL keeps them as a generated ``integer[]`` with a GIN index,
which it combines with the words' GIN index (and the window of newest ids) in one bitmap: the
department's matches are found in the index, and only they are read.

Plain SQL on both databases, as 0002: Django would rebuild the table on SQLite to add a column
with a default, and a rebuilt table loses the FTS5 triggers of 0001. Existing rows: their
departments, one UPDATE … FROM; at a million cases about a minute on PostgreSQL (the row is
rewritten, its tsvector computed again), then VACUUM (ANALYZE) the table.
"""

from django.db import migrations, models

ADD = "ALTER TABLE case_search_document ADD COLUMN departments text NOT NULL DEFAULT ''"
POSTGRES = [
    ADD,
    """UPDATE case_search_document SET departments = routed.ids
         FROM (SELECT case_id, string_agg(department_id::text, ' ' ORDER BY department_id) AS ids
                 FROM cases_departmentcase GROUP BY case_id) AS routed
        WHERE routed.case_id = case_search_document.case_id""",
    # No default once the rows have theirs: a writer that left the column out would hide the case
    # from its departments' searches; without a default it fails instead.
    "ALTER TABLE case_search_document ALTER COLUMN departments DROP DEFAULT",
    """ALTER TABLE case_search_document ADD COLUMN department_ids bigint[]
           GENERATED ALWAYS AS (string_to_array(departments, ' ')::bigint[]) STORED""",
    "CREATE INDEX case_search_department_gin ON case_search_document USING gin (department_ids)",
]
# The FTS5 table holds the three text columns only: its update trigger (0001's, on any column)
# now fires on those alone, so a routing's new departments do not rewrite the case's FTS entries.
FTS_UPDATE = """CREATE TRIGGER case_search_fts_update AFTER UPDATE OF {columns} ON case_search_document BEGIN
           INSERT INTO case_search_fts(case_search_fts, rowid, ident, enterprise, body)
           VALUES ('delete', old.case_id, old.ident, old.enterprise, old.body);
           INSERT INTO case_search_fts(rowid, ident, enterprise, body)
           VALUES (new.case_id, new.ident, new.enterprise, new.body);
       END"""
SQLITE = [
    "DROP TRIGGER IF EXISTS case_search_fts_update",
    FTS_UPDATE.format(columns="case_id, ident, enterprise, body"),
    ADD,
    """UPDATE case_search_document SET departments = (
           SELECT group_concat(department_id, ' ') FROM (
               SELECT department_id FROM cases_departmentcase
                WHERE cases_departmentcase.case_id = case_search_document.case_id ORDER BY department_id))
        WHERE case_id IN (SELECT case_id FROM cases_departmentcase)""",
]
POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS case_search_department_gin",
    "ALTER TABLE case_search_document DROP COLUMN IF EXISTS department_ids",
    "ALTER TABLE case_search_document DROP COLUMN IF EXISTS departments",
]
SQLITE_REVERSE = [
    "ALTER TABLE case_search_document DROP COLUMN departments",
    "DROP TRIGGER IF EXISTS case_search_fts_update",
    FTS_UPDATE.replace(" OF {columns}", ""),
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("case_search", "0004_no_number_terms"),
        ("cases", "0023_department_case_satisfaction"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(
                    _run({"postgresql": POSTGRES, "sqlite": SQLITE}),
                    _run({"postgresql": POSTGRES_REVERSE, "sqlite": SQLITE_REVERSE}),
                )
            ],
            state_operations=[
                migrations.AddField(
                    model_name="searchdocument",
                    name="departments",
                    field=models.TextField(blank=True, default=""),
                )
            ],
        ),
    ]
