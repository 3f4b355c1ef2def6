"""A department's 台帐 of one state counted and paged in its own rows (issue 16, deliverable 3).

The state filter on a department's scope (some 11,000 cases at a million) counted its capped
total, and read a page's ids, by probing every one of those cases for its state (p95 84–110 ms).
DepartmentCase.state is the case's state, copied: kept by every transition (a case's state is a
django-fsm field only the transitions write, all through services._steps.Act.transition, which
already kept ``open``), written with the row by CaseAssignment.record, the bulk import and
generate_load. department_case_state_idx (department, state, received_at, case) then holds a
state's cases of a department in the list's order: the count and a page's ids are a range of it.

Existing rows: their case's state, one UPDATE … FROM (PostgreSQL and SQLite 3.33+), the column
added with a constant default first (no rewrite on PostgreSQL; the default is dropped at once,
the model has none). At a million cases (970,000 rows) 20 s (a shared machine, load 2.8),
blocking transitions and routings meanwhile; the update leaves a dead version of every row, so
VACUUM (ANALYZE) the table afterwards (1.4 s). Plain CREATE INDEX, as the project's other migrations (they also run on SQLite).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0020_department_case_category"),
    ]

    operations = [
        migrations.AddField(
            model_name="departmentcase",
            name="state",
            field=models.CharField(
                choices=[
                    ("received", "Received"),
                    ("assigned", "Assigned"),
                    ("resolved", "Resolved"),
                    ("explained", "Explained"),
                ],
                default="received",
                max_length=20,
            ),
            preserve_default=False,
        ),
        migrations.RunSQL(
            """
            UPDATE cases_departmentcase SET state = cases_case.state
              FROM cases_case
             WHERE cases_case.id = cases_departmentcase.case_id
            """,
            migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="departmentcase",
            index=models.Index(fields=["department", "state", "received_at", "case"], name="department_case_state_idx"),
        ),
    ]
