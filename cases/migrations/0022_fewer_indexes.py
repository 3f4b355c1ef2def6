"""Four indexes fewer on the tables a bulk import fills (issue 16, deliverable 1).

Every case inserted updated 33 indexes of ``cases_case``. Three of them no query needs: the LIKE
index Django adds beside a unique text column on PostgreSQL (``number`` is only looked up whole),
and the single-column indexes of ``region`` and ``department``, which a dozen indexes begin with.
The same for the enterprises' credit codes (LIKE) and the routings' department (indexed by
(department, case)). Measured on the rows of a 30,000-row import copied into a table with the
same indexes: 1.55 s with them, 1.27 s without the three.

The uniqueness stays as it is in the database, under the same names (``cases_case_number_key``,
``cases_enterprise_credit_code_key``); the models now say it as constraints (a ``UniqueConstraint``
makes no LIKE index). Only the indexes are dropped (``ledger.schema_ops.DropFieldIndexes``): no
table is remade or index rebuilt, on either database.
"""

import django.db.models.deletion
from django.db import migrations, models

import cases.credit_code
from ledger.schema_ops import LIKE, DropFieldIndexes


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0021_department_case_state"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                DropFieldIndexes("case", [("number", LIKE), ("region", ""), ("department", "")]),
                DropFieldIndexes("caseassignment", [("department", "")]),
                DropFieldIndexes("enterprise", [("credit_code", LIKE)]),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="department",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="cases.department",
                        verbose_name="department",
                    ),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="number",
                    field=models.CharField(max_length=40, verbose_name="number"),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="region",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="cases",
                        to="cases.region",
                        verbose_name="region",
                    ),
                ),
                migrations.AlterField(
                    model_name="caseassignment",
                    name="department",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="assignments",
                        to="cases.department",
                    ),
                ),
                migrations.AlterField(
                    model_name="enterprise",
                    name="credit_code",
                    field=models.CharField(
                        max_length=18,
                        validators=[cases.credit_code.validate_credit_code],
                        verbose_name="unified social credit code",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="case",
                    constraint=models.UniqueConstraint(fields=("number",), name="cases_case_number_key"),
                ),
                migrations.AddConstraint(
                    model_name="enterprise",
                    constraint=models.UniqueConstraint(
                        fields=("credit_code",), name="cases_enterprise_credit_code_key"
                    ),
                ),
            ],
        ),
    ]
