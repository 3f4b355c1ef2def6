"""The head carries the fold of its chain's stages (``LedgerHead.stages``), so that
``ledger.services.append`` judges completeness from the head and the new entry, not the chain.

No data migration: a nullable column without a default is added in constant time (PostgreSQL
writes no row; SQLite rewrites the heads table, one narrow row per case), and the existing heads
keep ``stages`` null. A head without the fold is not wrong, only not yet O(1): the chain's next
``append`` reads and re-hashes its chain once, as before, and stores the fold. At a million cases
that spreads the work over the appends that happen anyway instead of one long migration.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0006_chinese_verbose_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="ledgerhead",
            name="stages",
            field=models.JSONField(blank=True, null=True, verbose_name="completeness state"),
        ),
    ]
