"""The API's cases written by ``QuickRepresentation`` are DRF's own, byte for byte: the list and
the case, for every role, over cases of every kind (each state, routed or not, closed on time or
late, provisional due dates, similar cases, empty and null fields, a clamped year-1 receipt)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from rest_framework import serializers

from cases import services
from cases.models import Case
from cases.serializers import CaseSerializer, QuickRepresentation
from tests.conftest import pdf_file

pytestmark = pytest.mark.django_db


def _drf_own(self, instance):
    return serializers.Serializer.to_representation(self, instance)


@pytest.fixture
def every_kind(make_case, county_a, dept_x, dept_x_user, region_a):
    received = make_case(description="季节性用工缺口约80人，请求协调招聘")
    make_case(description="季节性用工缺口约80人，请求帮助招聘", ref="PLAT-001")  # similar to the first
    routed = services.assign(make_case(enterprise_name="<b>标记</b>企业"), by=county_a, department=dept_x)
    signed = services.acknowledge(services.assign(make_case(), by=county_a, department=dept_x), by=dept_x_user)
    resolved = services.resolve(
        services.assign(make_case(), by=county_a, department=dept_x),
        by=dept_x_user,
        result="已解决 & 已回访",
        evidence=[pdf_file()],
    )
    explained = services.explain(
        services.assign(make_case(), by=county_a, department=dept_x),
        by=dept_x_user,
        result="已解释",
        policy_basis="依据某政策",
        redirect_to="区政务服务中心",
        evidence=[pdf_file()],
    )
    services.record_follow_up(resolved, by=county_a, satisfaction="satisfied")
    Case.objects.filter(pk=routed.pk).update(due_date_provisional=True, supervised=True, complex=True)
    Case.objects.filter(pk=signed.pk).update(due_date=dt.date(2000, 1, 3))  # overdue
    Case.objects.filter(pk=explained.pk).update(closed_at=dt.datetime(2099, 1, 1, tzinfo=dt.UTC))  # late
    Case.objects.filter(pk=received.pk).update(received_at=dt.datetime(1, 1, 1, tzinfo=dt.UTC), ref="")
    return Case.objects.count()


@pytest.mark.parametrize("who", ["county_a", "dept_x_user", "city_user", "assessor"])
def test_the_list_and_the_case_are_drfs_own(api, request, every_kind, monkeypatch, who):
    client = api(request.getfixturevalue(who))
    paths = ["/api/v1/cases/?page_size=100", "/api/v1/cases/?state=assigned"]
    paths += [f"/api/v1/cases/{pk}/" for pk in Case.objects.values_list("pk", flat=True)]
    quick = [client.get(path) for path in paths]
    with monkeypatch.context() as patched:
        patched.setattr(QuickRepresentation, "to_representation", _drf_own)
        own = [client.get(path) for path in paths]
    for path, mine, theirs in zip(paths, quick, own, strict=True):
        assert mine.status_code == theirs.status_code, path
        assert mine.content == theirs.content, path
    listed = json.loads(quick[0].content)
    if who != "dept_x_user":
        assert listed["count"] == every_kind and len(listed["results"]) == every_kind
        assert any(row["similar"] for row in listed["results"]) and any(row["ref"] is None for row in listed["results"])
        assert {row["state"] for row in listed["results"]} == {"received", "assigned", "resolved", "explained"}


def test_fields_of_other_kinds_go_drfs_way(every_kind):
    """A callable source, a missing attribute with a default, a field class it does not know: the
    mixin hands them to DRF's field, and the answer is still DRF's."""

    class Wider(CaseSerializer):
        display = serializers.CharField(source="get_state_display")
        missing = serializers.CharField(source="no_such_attribute", default="缺省")
        decimal = serializers.FloatField(source="extension_days")
        moment = serializers.DateTimeField(source="received_at", format="%Y/%m/%d")

        class Meta(CaseSerializer.Meta):
            fields = [*CaseSerializer.Meta.fields, "display", "missing", "decimal", "moment"]
            read_only_fields = fields

    for case in Case.objects.select_related("region", "enterprise", "category", "channel", "department"):
        serializer = Wider(context={"similar": {case.pk: []}})
        assert serializer.to_representation(case) == _drf_own(serializer, case)
        assert serializer.to_representation(case)["missing"] == "缺省"
