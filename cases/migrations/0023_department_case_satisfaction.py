"""A department's follow-up queue counted in its own rows (issue 16, deliverable 3).

The follow-up queue (closed, not yet followed up: 待回访) of a department counted its capped
total by probing every case it ever had for its state and satisfaction: at a million cases about
11,000 cases, 57–71 ms a count. DepartmentCase.satisfaction is the case's satisfaction, copied:
written by the follow-up (services._steps.Act.save) and by every transition (a reopening clears
it), with the row by CaseAssignment.record, the bulk import and generate_load. With the row's
copy of the state, department_case_follow_up_idx (department, case; closed and not followed up)
holds exactly the department's follow-up queue: its count is a range of that index.

Existing rows: their case's satisfaction, one UPDATE … FROM for the cases that have one (the
column is added with the empty default, no rewrite on PostgreSQL).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0022_fewer_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="departmentcase",
            name="satisfaction",
            field=models.CharField(
                blank=True,
                choices=[
                    ("satisfied", "Satisfied"),
                    ("basically_satisfied", "Basically satisfied"),
                    ("dissatisfied", "Dissatisfied"),
                ],
                default="",
                max_length=20,
            ),
        ),
        migrations.RunSQL(
            """
            UPDATE cases_departmentcase SET satisfaction = cases_case.satisfaction
              FROM cases_case
             WHERE cases_case.id = cases_departmentcase.case_id AND cases_case.satisfaction <> ''
            """,
            migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="departmentcase",
            index=models.Index(
                condition=models.Q(("satisfaction", ""), ("state__in", ["resolved", "explained"])),
                fields=["department", "case"],
                name="department_case_follow_up_idx",
            ),
        ),
    ]
