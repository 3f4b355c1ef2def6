"""Item 13's verdicts already kept for whole chains become the verdicts of those chains' heads."""
from django.db import migrations


def copy_verdicts(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        sql = """
            UPDATE ledger_ledgerhead h SET complete = v.complete, missing = v.missing
            FROM scoring_ledgerverdict v
            WHERE v.case_id = h.case_id AND v.through_seq = h.seq AND h.complete IS NULL
        """
    else:
        sql = """
            UPDATE ledger_ledgerhead SET (complete, missing) = (
                SELECT v.complete, v.missing FROM scoring_ledgerverdict v
                WHERE v.case_id = ledger_ledgerhead.case_id AND v.through_seq = ledger_ledgerhead.seq)
            WHERE complete IS NULL AND EXISTS (
                SELECT 1 FROM scoring_ledgerverdict v
                WHERE v.case_id = ledger_ledgerhead.case_id AND v.through_seq = ledger_ledgerhead.seq)
        """
    with connection.cursor() as cursor:
        cursor.execute(sql)
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE ledger_ledgerhead")


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0004_head_completeness"),
        ("scoring", "0003_verdict_per_prefix"),
    ]
    operations = [migrations.RunPython(copy_verdicts, migrations.RunPython.noop)]
