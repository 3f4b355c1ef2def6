from django.db import migrations, models


def drop_snapshots(apps, schema_editor):
    # The stored scores are a cache of the scoring: the rows computed before this field have no
    # facts for the scoresheet, drill-downs and exports. Dropped, they are computed again (by the
    # next refresh, or once on the first page view).
    apps.get_model("scoring", "ScoreSnapshot").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0005_score_snapshot"),
    ]

    operations = [
        migrations.AddField(
            model_name="scoresnapshot",
            name="facts",
            field=models.JSONField(default=dict, verbose_name="facts"),
        ),
        migrations.RunPython(drop_snapshots, migrations.RunPython.noop),
    ]
