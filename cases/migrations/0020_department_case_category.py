"""A department's 台帐 of one category counted and paged in its own rows (issue 16, deliverable 3).

The category filter on a department's scope (some 11,000 cases at a million) counted its capped
total by probing every one of those cases for its category (90–110 ms). DepartmentCase.category
is the case's category, copied as its receipt is (set at intake, never changed);
department_case_category_idx (department, category, received_at, case) then holds a category's
cases of a department in the list's order: the count and a page's ids are a range of it.

Existing rows: their case's category, one UPDATE … FROM (PostgreSQL and SQLite 3.33+), with the
column added without its foreign-key constraint, which is added after the update: checked by
one join, not by a trigger queued per updated row. At a million cases (970,000 rows) the
migration took 22 s on this 2-core machine under load, blocking routings meanwhile; the update
leaves a dead version of every row, so VACUUM (ANALYZE) afterwards (7 s). Plain CREATE INDEX, as
the project's other migrations (they also run on SQLite).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0019_open_department_due_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="departmentcase",
            name="category",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="cases.category",
            ),
        ),
        migrations.RunSQL(
            """
            UPDATE cases_departmentcase SET category_id = cases_case.category_id
              FROM cases_case
             WHERE cases_case.id = cases_departmentcase.case_id
            """,
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="departmentcase",
            name="category",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="cases.category",
            ),
        ),
        migrations.AddIndex(
            model_name="departmentcase",
            index=models.Index(
                fields=["department", "category", "received_at", "case"], name="department_case_category_idx"
            ),
        ),
    ]
