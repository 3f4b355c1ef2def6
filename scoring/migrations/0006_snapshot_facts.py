import django.db.models.deletion
from django.db import migrations, models


def drop_snapshots(apps, schema_editor):
    # The stored scores are a cache of the scoring: the rows computed before this table have no
    # facts for the scoresheet, drill-downs and exports. Dropped, they are computed again (by the
    # next refresh, or once on the first page view).
    apps.get_model("scoring", "ScoreSnapshot").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0005_score_snapshot"),
    ]

    operations = [
        migrations.CreateModel(
            name="SnapshotFacts",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("region_code", models.CharField(max_length=12, verbose_name="region code")),
                ("part", models.CharField(max_length=24, verbose_name="part")),
                ("data", models.JSONField(verbose_name="facts")),
                (
                    "snapshot",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="facts",
                        to="scoring.scoresnapshot",
                        verbose_name="score snapshot",
                    ),
                ),
            ],
            options={
                "verbose_name": "score snapshot facts",
                "verbose_name_plural": "score snapshot facts",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("snapshot", "region_code", "part"), name="scoring_snapshot_facts_unique"
                    )
                ],
            },
        ),
        migrations.RunPython(drop_snapshots, migrations.RunPython.noop),
    ]
