"""The upload page: dry run, confirm, progress status, template download, and who may use it."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from cases.importing import run_import
from cases.models import Case

pytestmark = pytest.mark.django_db


def upload(path):
    return SimpleUploadedFile(path.name, path.read_bytes())


def test_dry_run_then_confirm_imports_the_checked_file(client, city_user, examples):
    client.force_login(city_user)
    assert client.get("/import/").status_code == 200
    response = client.post("/import/", {"file": upload(examples / "ledger-example.csv"), "dry_run": "on"})
    assert response.status_code == 302
    job_url = response["Location"]
    page = client.get(job_url)
    assert page.status_code == 200 and Case.objects.count() == 0
    assert page.context["summary"]["created"] == 30 and page.context["can_confirm"]
    status = client.get(job_url + "status/").json()
    assert status["status"] == "done" and status["percent"] == 100
    response = client.post(job_url + "confirm/")
    assert response.status_code == 302
    page = client.get(response["Location"])
    assert page.context["summary"]["created"] == 30 and not page.context["job"].dry_run
    assert Case.objects.count() == 30
    assert b'src="/static/js/import.js"' in page.content


def test_a_file_with_errors_lists_them_on_the_page(client, county_a, write_csv):
    from .conftest import row

    client.force_login(county_a)
    path = write_csv([row(统一社会信用代码="914115683BJ1XG612A")])
    response = client.post("/import/", {"file": upload(path)}, follow=True)
    assert response.status_code == 200
    assert response.context["summary"]["errors"][0]["row"] == 2
    assert "统一社会信用代码".encode() in response.content and Case.objects.count() == 0


def test_jobs_are_private_and_only_offices_may_import(client, county_a, county_b, dept_x_user, examples):
    client.force_login(county_a)
    job_url = client.post("/import/", {"file": upload(examples / "ledger-example.csv"), "dry_run": "on"})["Location"]
    client.force_login(county_b)
    assert client.get(job_url).status_code == 404
    assert client.get(job_url + "status/").status_code == 404
    client.force_login(dept_x_user)
    assert client.get("/import/").status_code == 403
    assert client.post("/import/", {"file": upload(examples / "ledger-example.csv")}).status_code == 403


def test_template_has_the_headers_and_an_example_row_that_imports(client, county_a, tmp_path):
    client.force_login(county_a)
    response = client.get("/import/template.xlsx")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "县区代码", "企业名称") and len(rows) == 2
    path = tmp_path / "template.xlsx"
    path.write_bytes(response.content)
    summary = run_import(path, by=county_a, dry_run=False)
    assert summary["errors"] == [] and summary["created"] == 1
