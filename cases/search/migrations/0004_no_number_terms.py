from django.db import migrations

# The routing model no longer learns numbers (``routing_model.telling``): the rows it kept for
# them are never asked again. Removed here rather than left to the next rebuild; ASCII and
# full-width digits, as the model's own check (``routing_model.NUMBER``) takes them.
NUMBER = r"^[0-9０-９]+$"


def drop_number_terms(apps, schema_editor):
    for name in ("RoutingWeight", "RoutingTerm"):
        apps.get_model("case_search", name).objects.filter(term__regex=NUMBER).delete()


class Migration(migrations.Migration):
    dependencies = [("case_search", "0003_routing_model")]

    operations = [migrations.RunPython(drop_number_terms, migrations.RunPython.noop, elidable=True)]
