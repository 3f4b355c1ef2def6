"""The department's scope as a table: DepartmentCase (department, case, received_at).

A department sees every case any of its routings names. Written as a semi-join over the routings,
PostgreSQL found a department's newest page by walking every county's receipt index for the
department's 1 % of cases and misjudged how rare a filter's matches were (the category filter
1.9 s at a million cases). One row per department and case, carrying the case's receipt: the
scope is a join on it and the department's list is ordered by the row's received_at
(CaseQuerySet.order_by), one range of department_case_received_idx read backwards
(tests/benchmarks/bench_pages.py, the department's pages, with EXPLAIN).

Existing routings are copied in one set-based INSERT … SELECT DISTINCT (969,803 rows from
1,003,776 routings at a million cases: 7 s; the indexes are built after it).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0013_case_first_assigned_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="DepartmentCase",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("received_at", models.DateTimeField()),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        related_query_name="department_rows",
                        to="cases.case",
                    ),
                ),
                (
                    "department",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="cases.department",
                    ),
                ),
            ],
        ),
        migrations.RunSQL(
            """
            INSERT INTO cases_departmentcase (department_id, case_id, received_at)
            SELECT routed.department_id, routed.case_id, cases_case.received_at
              FROM (SELECT DISTINCT department_id, case_id FROM cases_caseassignment) AS routed
              JOIN cases_case ON cases_case.id = routed.case_id
            """,
            "DELETE FROM cases_departmentcase",
        ),
        migrations.AddConstraint(
            model_name="departmentcase",
            constraint=models.UniqueConstraint(fields=("department", "case"), name="department_case_unique"),
        ),
        migrations.AddIndex(
            model_name="departmentcase",
            index=models.Index(fields=["department", "received_at", "case"], name="department_case_received_idx"),
        ),
    ]
