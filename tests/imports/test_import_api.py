"""POST /api/v1/imports/: the same summary as the command; 400 when a real run has errors."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from cases.models import Case

pytestmark = pytest.mark.django_db


def client_for(user):
    client = APIClient()
    client.force_login(user)
    return client


def upload(path):
    return SimpleUploadedFile(path.name, path.read_bytes())


def test_dry_run_then_real_import_then_unchanged(examples, city_user):
    client = client_for(city_user)
    path = examples / "ledger-example.xlsx"
    response = client.post("/api/v1/imports/", {"file": upload(path), "dry_run": "true"}, format="multipart")
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 30 and Case.objects.count() == 0
    response = client.post("/api/v1/imports/", {"file": upload(path)}, format="multipart")
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("created", "unchanged", "errors")} == {"created": 30, "unchanged": 0, "errors": []}
    assert body["departments_created"] and Case.objects.count() == 30
    again = client.post("/api/v1/imports/", {"file": upload(path), "dry_run": "false"}, format="multipart").json()
    assert (again["created"], again["unchanged"]) == (0, 30)


def test_errors_are_400_on_a_real_run_and_200_on_a_dry_run(write_csv, county_a):
    from .conftest import row

    path = write_csv([row(统一社会信用代码="914115683BJ1XG612A")])
    client = client_for(county_a)
    response = client.post("/api/v1/imports/", {"file": upload(path)}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "sheet": None,
        "row": 2,
        "column": "统一社会信用代码",
        "message": response.json()["errors"][0]["message"],
    }
    response = client.post("/api/v1/imports/", {"file": upload(path), "dry_run": "true"}, format="multipart")
    assert response.status_code == 200 and len(response.json()["errors"]) == 1
    assert Case.objects.count() == 0


def test_import_needs_a_file_and_an_office(county_a, dept_x_user, assessor, examples):
    response = client_for(county_a).post("/api/v1/imports/", {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()
    for user in (dept_x_user, assessor):
        path = examples / "ledger-example.csv"
        assert client_for(user).post("/api/v1/imports/", {"file": upload(path)}, format="multipart").status_code == 403
