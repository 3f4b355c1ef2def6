"""Prepare a database for the locust load test (tests/benchmarks/locustfile.py); prints nothing secret.

Migrates, loads a synthetic year with ``generate_load`` up to ``--cases``, then creates the load
accounts — every county office, the first three departments of each county, two assessors — all
with the password ``--password``, and writes them (username, role, region, department, API
token) to ``--out`` for the locust process, which does not load Django itself.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scale_load \\
        .venv/bin/python tests/benchmarks/load_setup.py --cases 10000 --out /tmp/caseledger_load_users.json
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# With DEBUG off the settings refuse a missing key; a benchmark signs nothing that outlives it.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(64))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--year", type=int, default=None, help="default: this year")
    parser.add_argument("--password", default="load-test-2026")
    parser.add_argument("--out", default="/tmp/caseledger_load_users.json")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from cases.models import Case, Department, Region
    from cases.users import create_user

    year = args.year or timezone.localdate().year
    call_command("migrate", verbosity=0)
    have = Case.objects.filter(year=year).count()
    if have < args.cases:
        call_command("generate_load", cases=args.cases - have, year=year, seed=7, stdout=open(os.devnull, "w"))
    users = []

    def add(username, role, region=None, department=None):
        user, _created = create_user(username, role=role, region=region, department=department, password=args.password)
        token, _created = Token.objects.get_or_create(user=user)
        # A signed-in web session, made by the session engine as the login form makes it, so that
        # the load test's users start at work (LOAD_LOGIN=form signs in through the form instead).
        browser = Client()
        browser.force_login(user)
        users.append(
            {
                "username": username,
                "role": role,
                "region": region.code if region else None,
                "region_id": region.pk if region else None,
                "department_id": department.pk if department else None,
                "token": token.key,
                "session": browser.cookies[settings.SESSION_COOKIE_NAME].value,
            }
        )

    for region in Region.objects.filter(level="county").order_by("code"):
        add(f"load_office_{region.code}", "county_office", region=region)
        for index, department in enumerate(Department.objects.filter(region=region, active=True).order_by("pk")[:3]):
            add(f"load_dept_{region.code}_{index + 1}", "department", department=department)
    for n in (1, 2):
        add(f"load_assessor_{n}", "assessor")
    Path(args.out).write_text(
        json.dumps(
            {"year": year, "password": args.password, "session_cookie": settings.SESSION_COOKIE_NAME, "users": users},
            indent=1,
        )
    )
    vacuum()
    print(f"{Case.objects.filter(year=year).count()} cases in {year}; {len(users)} load accounts in {args.out}")


def vacuum() -> None:
    """VACUUM (ANALYZE) on PostgreSQL, as autovacuum keeps a live database: a generated one (or one the
    last run wrote to) on a server with autovacuum off — this machine's CI configuration — has no
    visibility map, and every capped count of the 台帐 and the API read ~4,000 heap pages instead
    of the index alone (19 ms instead of 2 ms for a county of 9,000 cases)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")


if __name__ == "__main__":
    main()
