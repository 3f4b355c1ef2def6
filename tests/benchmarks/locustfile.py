"""Load test: county offices, departments and assessors doing what they do, with /healthz as the floor.

Prepare the accounts with ``tests/benchmarks/load_setup.py`` (it writes the JSON this file reads,
``LOAD_USERS``), start the app as ``deploy/`` runs it (gunicorn + PostgreSQL + Redis + Celery),
then run headless — the README's "Load test" section has the whole command:

    LOAD_USERS=/tmp/caseledger_load_users.json .venv/bin/locust -f tests/benchmarks/locustfile.py \\
        --headless -u 50 -r 5 -t 60s --host http://127.0.0.1:8100 --only-summary

Each simulated user works as its own account (a web session that ``load_setup.py`` signed in, or
with ``LOAD_LOGIN=form`` the login form itself; its API token for the API) and waits 1–3 s
between actions (``between(1, 3)``). Weights follow who is online: county
offices (5) list, open, route (交办), export and draft notices; departments (4) list, open, sign
for (签收) and export; assessors (1) read scoreboards, scoresheets and item 15, and export; one
probe user per ten reads ``/healthz``, the floor. Any status but the expected is a failure.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import re
import time
from pathlib import Path

from locust import HttpUser, between, task

LOAD = json.loads(Path(os.environ.get("LOAD_USERS", "/tmp/caseledger_load_users.json")).read_text())
YEAR = LOAD["year"]
BY_ROLE = {
    role: [u for u in LOAD["users"] if u["role"] == role] for role in ("county_office", "department", "assessor")
}
NEXT = {role: itertools.cycle(accounts) for role, accounts in BY_ROLE.items() if accounts}
# LOAD_LOGIN=form: every simulated user signs in through the login form (the password hash) first.
FORM_LOGIN = os.environ.get("LOAD_LOGIN", "session") == "form"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Member(HttpUser):
    abstract = True
    wait_time = between(1, 3)
    role = ""

    def on_start(self):
        self.account = next(NEXT[self.role])
        self.api = {"Authorization": f"Token {self.account['token']}"}
        page = self._patiently("/login/", "login page")  # it sets the CSRF cookie
        if self.account.get("session") and not FORM_LOGIN:
            # Signed in already (load_setup.py made the session as the login form does): the run
            # measures users at work, not 50 password hashes at once (PBKDF2, ~0.5 s of CPU each).
            self.client.cookies.set(LOAD.get("session_cookie", "sessionid"), self.account["session"])
            check = self._patiently("/notifications/", "session check", allow_redirects=False)
            if check.status_code != 200:
                raise RuntimeError(
                    f"the session of {self.account['username']} is not signed in ({check.status_code}): "
                    "run load_setup.py with the server's SECRET_KEY (run_load.sh does)"
                )
            self.case_ids = self._case_ids()
            return
        token = CSRF.search(page.text).group(1)
        response = self.client.post(
            "/login/",
            {"username": self.account["username"], "password": LOAD["password"], "csrfmiddlewaretoken": token},
            name="login",
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise RuntimeError(f"login of {self.account['username']} failed: {response.status_code}")
        self.case_ids = self._case_ids()

    def _patiently(self, path: str, name: str, **kwargs):
        """GET at the start of a session: a 503 "busy" is waited out (Retry-After) as a person would."""
        for _attempt in range(10):
            page = self.client.get(path, name=name, **kwargs)
            if page.status_code != 503:
                return page
            time.sleep(float(page.headers.get("Retry-After", 5)))
        return page

    def _case_ids(self, **filters) -> list[dict]:
        params = {"page_size": 100, **filters}
        response = self.client.get("/api/v1/cases/", params=params, headers=self.api, name="API case list")
        return response.json().get("results", []) if response.status_code == 200 else []

    def _csrf(self) -> dict:
        return {"X-CSRFToken": self.client.cookies.get("csrftoken", ""), "Referer": self.host + "/"}

    def open_case(self):
        if self.case_ids:
            self.client.get(f"/cases/{random.choice(self.case_ids)['id']}/", name="case page")

    def ledger(self):
        self.client.get("/ledger/", name="台帐 first page")

    def ledger_filtered(self):
        self.client.get(
            "/ledger/", params={"state": random.choice(["received", "assigned", "resolved"])}, name="台帐 filtered"
        )

    def api_list(self):
        self.client.get("/api/v1/cases/", params={"page": random.randint(1, 3)}, headers=self.api, name="API case list")

    def export(self):
        start = dt.date(YEAR, random.randint(1, 10), 1)
        params = {"received_from": start.isoformat(), "received_to": (start + dt.timedelta(days=13)).isoformat()}
        with self.client.get(
            "/ledger/export.csv", params=params, name="export CSV (two weeks)", stream=True, catch_response=True
        ) as response:
            size = sum(len(chunk) for chunk in response.iter_content(65536))
            if response.status_code != 200 or size == 0:
                response.failure(f"export: {response.status_code}, {size} bytes")


class CountyOffice(Member):
    weight = 5
    role = "county_office"

    @task(4)
    def list_ledger(self):
        self.ledger()

    @task(2)
    def list_filtered(self):
        self.ledger_filtered()

    @task(4)
    def open(self):
        self.open_case()

    @task(2)
    def list_api(self):
        self.api_list()

    @task(1)
    def route(self):
        """交办: a received case of the county to one of its departments."""
        received = self._case_ids(state="received", region=self.account["region"])
        departments = self.client.get("/api/v1/departments/", headers=self.api, name="API departments").json()
        departments = departments.get("results", departments) if isinstance(departments, dict) else departments
        own = [d["id"] for d in departments if d.get("region") in (self.account["region"], self.account["region_id"])]
        if not received or not own:
            return
        case = random.choice(received)
        with self.client.post(
            f"/api/v1/cases/{case['id']}/assign/",
            json={"department": random.choice(own)},
            headers=self.api,
            name="route (交办)",
            catch_response=True,
        ) as response:
            if response.status_code == 409:  # another office user routed it a moment earlier: the app's answer
                response.success()

    @task(1)
    def export_csv(self):
        self.export()

    @task(1)
    def draft_notice(self):
        month = random.randint(1, 10)
        self.client.post(
            f"/notices/regions/{self.account['region']}/draft/",
            {"period": f"{YEAR}-{month:02d}"},
            headers=self._csrf(),
            name="draft notice (one county-month)",
        )


class Department(Member):
    weight = 4
    role = "department"

    @task(4)
    def list_ledger(self):
        self.ledger()

    @task(4)
    def open(self):
        self.open_case()

    @task(2)
    def list_api(self):
        self.api_list()

    @task(1)
    def sign_for(self):
        """签收: an assigned case of the department not signed for yet."""
        waiting = [
            c
            for c in self._case_ids(state="assigned", department=self.account["department_id"])
            if not c.get("acknowledged_at")
        ]
        if not waiting:
            return
        with self.client.post(
            f"/api/v1/cases/{random.choice(waiting)['id']}/acknowledge/",
            headers=self.api,
            name="sign for (签收)",
            catch_response=True,
        ) as response:
            if response.status_code == 409:  # signed for by a colleague a moment ago
                response.success()

    @task(1)
    def export_csv(self):
        self.export()


class Assessor(Member):
    weight = 1
    role = "assessor"

    @task(3)
    def scoreboard(self):
        self.client.get(f"/scoring/{YEAR}/", name="scoreboard")

    @task(2)
    def scoresheet(self):
        self.client.get(f"/scoring/{YEAR}/{random.choice(BY_ROLE['county_office'])['region']}/", name="scoresheet")

    @task(1)
    def item_15(self):
        code = random.choice(BY_ROLE["county_office"])["region"]
        self.client.get(f"/scoring/{YEAR}/{code}/items/15/", name="item 15 drill-down")

    @task(1)
    def scoreboard_xlsx(self):
        self.client.get(f"/scoring/{YEAR}/scores.xlsx", name="scoreboard XLSX")


class Probe(HttpUser):
    """The floor: what a request costs when it does nothing but ask the database and Redis."""

    weight = 1
    wait_time = between(1, 3)

    @task
    def healthz(self):
        self.client.get("/healthz", name="/healthz (floor)")
