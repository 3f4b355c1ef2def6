"""Load the default rule set ``xinyang-2012`` (the 2012 county/district 考核表, 21 items, 100 points)."""
from django.db import migrations


def load(apps, schema_editor):
    from scoring import rulesets

    models = {name: apps.get_model("scoring", name) for name in ("RuleSet", "Section", "Item", "Criterion")}
    if models["RuleSet"].objects.filter(code=rulesets.DEFAULT_CODE).exists():
        return
    rulesets.install(rulesets.read(rulesets.DEFAULT_CODE), **models)


def unload(apps, schema_editor):
    RuleSet = apps.get_model("scoring", "RuleSet")
    Assessment = apps.get_model("scoring", "Assessment")
    if not Assessment.objects.filter(rule_set__code="xinyang-2012").exists():
        RuleSet.objects.filter(code="xinyang-2012").delete()


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]
