"""A category's cases of a region counted from one index (issue 16, deliverable 3).

The routing suggestions on a case page weigh each department by its share of the category's
routed cases in the region over two years (``cases.routing_suggestions._routed_counts``, kept for
the day per region and category). Counted from the cases — the category's and the region's
indexes combined, then some 9,000 case rows read — that took 30–50 ms at a million cases, the
first time each region and category was asked on a day: the case page's slow views.
``case_category_region_idx`` (category, region, received_at; the department carried) counts them
from the index alone. It begins with the category, so the category's own index (the foreign
key's) is dropped (``ledger.schema_ops.DropFieldIndexes``: no table remade on SQLite): the number
of indexes a case insert updates stays as it was.
"""

import django.db.models.deletion
from django.db import migrations, models

from ledger.schema_ops import DropFieldIndexes


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0023_department_case_satisfaction"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                fields=["category", "region", "received_at"], include=("department",), name="case_category_region_idx"
            ),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[DropFieldIndexes("case", [("category", "")])],
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="category",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="cases.category",
                        verbose_name="category",
                    ),
                ),
            ],
        ),
    ]
