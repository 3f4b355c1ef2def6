"""An office manages its departments' users in the app: add, reset a password, disable and
enable — scoped (a county only its own departments, 404 otherwise), audited, never a 500."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.authtoken.models import Token

from cases.errors import InvalidInput, NotAllowed, NotFound
from cases.models import Profile
from desk import staff
from desk.models import StaffChange

pytestmark = pytest.mark.django_db
User = get_user_model()


def add(client, department, **overrides):
    data = {
        "department": department.pk,
        "username": "dept_new",
        "display_name": "张敏",
        "password": "Xinyang-2026!",
        "password_again": "Xinyang-2026!",
    }
    data.update(overrides)
    return client.post(reverse("desk:user_add"), data)


# -- adding ---------------------------------------------------------------------------------------------


def test_county_office_adds_a_department_user_who_can_log_in(client, county_a, dept_x):
    client.force_login(county_a)
    response = add(client, dept_x)
    assert response.status_code == 302 and response["Location"] == reverse("desk:users")
    user = User.objects.get(username="dept_new")
    assert user.first_name == "张敏" and user.is_active and user.is_staff
    assert Profile.objects.get(user=user).department == dept_x
    assert Profile.objects.get(user=user).role == "department"
    change = StaffChange.objects.get()
    assert (change.action, change.actor, change.user, change.department, change.region) == (
        "created",
        county_a,
        user,
        dept_x,
        dept_x.region,
    )
    assert "Xinyang" not in change.detail  # a password is never recorded
    assert client_login("dept_new", "Xinyang-2026!")


def test_the_form_offers_only_the_offices_own_departments(client, county_a, dept_x, dept_z, city_dept):
    client.force_login(county_a)
    page = client.get(reverse("desk:user_add")).content.decode()
    assert dept_x.name in page and dept_z.name not in page and city_dept.name not in page
    response = add(client, dept_z)  # another county's department, posted by hand
    assert response.status_code == 400 and not User.objects.filter(username="dept_new").exists()
    assert StaffChange.objects.count() == 0


def test_city_office_adds_users_for_any_region(client, city_user, dept_z, city_dept):
    client.force_login(city_user)
    assert add(client, dept_z).status_code == 302
    assert add(client, city_dept, username="dept_city").status_code == 302
    assert set(StaffChange.objects.values_list("region__code", flat=True)) == {"411503", "411500"}


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("username", "", "必填"),
        ("username", "有 空格", "只能"),
        ("display_name", "", "必填"),
        ("display_name", "张\x00敏", "控制字符"),
        ("password", "short", "两次"),  # and with both the same, too short:
        ("password_again", "Another-2026!", "两次"),
    ],
)
def test_bad_input_is_a_form_error(client, county_a, dept_x, field, value, message):
    client.force_login(county_a)
    response = add(client, dept_x, **{field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.filter(username="dept_new").exists() and StaffChange.objects.count() == 0


def test_a_short_password_is_refused(client, county_a, dept_x):
    client.force_login(county_a)
    response = add(client, dept_x, password="short", password_again="short")
    assert response.status_code == 400 and "太短" in response.content.decode()
    assert not User.objects.filter(username="dept_new").exists()


def test_a_taken_username_is_refused_whatever_its_letter_case(client, county_a, dept_x, dept_x_user):
    client.force_login(county_a)
    response = add(client, dept_x, username="DEPT_X")
    assert response.status_code == 400 and "已被占用" in response.content.decode()
    dept_x_user.refresh_from_db()
    assert Profile.objects.get(user=dept_x_user).department == dept_x  # the existing user is untouched


def test_an_inactive_department_takes_no_new_users(county_a, dept_x):
    dept_x.active = False
    dept_x.save()
    with pytest.raises(InvalidInput):
        staff.add_department_user(
            by=county_a, department=dept_x, username="u1", display_name="李", password="Xinyang-2026!"
        )


def test_a_county_office_cannot_add_to_another_county(county_a, dept_z):
    with pytest.raises(NotFound):
        staff.add_department_user(
            by=county_a, department=dept_z, username="u1", display_name="李", password="Xinyang-2026!"
        )


# -- who may --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["dept_x_user", "assessor"])
def test_only_offices_manage_users(request, client, who, dept_x_user):
    client.force_login(request.getfixturevalue(who))
    for url in (
        reverse("desk:users"),
        reverse("desk:user_add"),
        reverse("desk:user_changes"),
        reverse("desk:user_password", args=[dept_x_user.pk]),
    ):
        assert client.get(url).status_code == 403
    assert client.post(reverse("desk:user_active", args=[dept_x_user.pk]), {"active": "0"}).status_code == 403
    with pytest.raises(NotAllowed):
        staff.department_users(request.getfixturevalue(who))


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(reverse("desk:users"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_another_countys_user_is_not_found(client, county_b, dept_x_user, county_a):
    client.force_login(county_b)
    assert client.get(reverse("desk:user_password", args=[dept_x_user.pk])).status_code == 404
    assert client.post(reverse("desk:user_password", args=[dept_x_user.pk]), {}).status_code == 404
    assert client.post(reverse("desk:user_active", args=[dept_x_user.pk]), {"active": "0"}).status_code == 404
    assert dept_x_user.username not in client.get(reverse("desk:users")).content.decode()
    # Offices are not department users: not even a county's own office account is managed here.
    assert client.get(reverse("desk:user_password", args=[county_b.pk])).status_code == 404
    assert client.get(reverse("desk:user_password", args=[999999])).status_code == 404


# -- the list ---------------------------------------------------------------------------------------------


def test_list_shows_the_countys_department_users_by_department(
    client, county_a, dept_x_user, dept_y_user, dept_z_user, django_assert_max_num_queries
):
    client.force_login(county_a)
    client.get(reverse("desk:users"))
    # session, user, profile, unread count; departments for the filter; count, page; recent changes.
    with django_assert_max_num_queries(10):
        page = client.get(reverse("desk:users")).content.decode()
    table = page[page.index('id="users"') :]
    assert "dept_x" in table and "dept_y" in table and "dept_z" not in table
    filtered = client.get(reverse("desk:users"), {"department": dept_x_user.profile.department_id}).content.decode()
    table = filtered[filtered.index('id="users"') :]
    assert "dept_x" in table and "dept_y" not in table


def test_list_queries_do_not_grow_with_the_users(client, county_a, dept_x, django_assert_max_num_queries):
    client.force_login(county_a)
    for n in range(30):
        staff.add_department_user(
            by=county_a, department=dept_x, username=f"u{n}", display_name=f"用户{n}", password="Xinyang-2026!"
        )
    with django_assert_max_num_queries(10):
        page = client.get(reverse("desk:users")).content.decode()
    assert "用户29" in page and "u29" in page


def test_a_department_filter_outside_scope_is_a_form_error(client, county_a, dept_z):
    client.force_login(county_a)
    assert client.get(reverse("desk:users"), {"department": dept_z.pk}).status_code == 400
    assert client.get(reverse("desk:users"), {"department": "abc"}).status_code == 400


# -- resetting a password -------------------------------------------------------------------------------


def test_reset_with_a_chosen_password(client, county_a, dept_x_user):
    Token.objects.create(user=dept_x_user)
    other = client_class_login(dept_x_user)
    client.force_login(county_a)
    response = client.post(
        reverse("desk:user_password", args=[dept_x_user.pk]),
        {"password": "Brand-new-2026", "password_again": "Brand-new-2026"},
    )
    assert response.status_code == 302
    dept_x_user.refresh_from_db()
    assert dept_x_user.check_password("Brand-new-2026")
    assert not Token.objects.filter(user=dept_x_user).exists()
    assert other.get(reverse("home")).status_code == 302  # the user's open session has ended
    change = StaffChange.objects.get()
    assert change.action == "password_reset" and change.actor == county_a and change.detail == ""


def client_class_login(user):
    from django.test import Client

    other = Client()
    other.force_login(user)
    assert other.get(reverse("home")).status_code == 200
    return other


def test_reset_with_a_generated_password_shows_it_once(client, county_a, dept_x_user):
    client.force_login(county_a)
    response = client.post(reverse("desk:user_password", args=[dept_x_user.pk]), {})
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    password = response.context["password"]
    assert len(password) == 12 and password in response.content.decode()
    dept_x_user.refresh_from_db()
    assert dept_x_user.check_password(password)
    change = StaffChange.objects.get()
    assert change.detail == "自动生成" and password not in change.detail


def test_reset_refuses_a_weak_or_mismatched_password(client, county_a, dept_x_user):
    client.force_login(county_a)
    url = reverse("desk:user_password", args=[dept_x_user.pk])
    assert client.post(url, {"password": "short", "password_again": "short"}).status_code == 400
    assert client.post(url, {"password": "Long-enough-1", "password_again": "Long-enough-2"}).status_code == 400
    dept_x_user.refresh_from_db()
    assert dept_x_user.check_password("pass-dept_x") and StaffChange.objects.count() == 0


def test_reset_lifts_a_login_lockout(client, county_a, dept_x_user, settings):
    from axes.models import AccessAttempt

    AccessAttempt.objects.create(
        username="dept_x",
        ip_address="10.0.0.1",
        user_agent="",
        get_data="",
        post_data="",
        http_accept="",
        path_info="/login/",
        failures_since_start=9,
    )
    staff.reset_password(by=county_a, user=dept_x_user, password="Brand-new-2026")
    assert not AccessAttempt.objects.filter(username="dept_x").exists()


# -- disabling and enabling -----------------------------------------------------------------------------


def test_disable_then_enable(client, county_a, dept_x_user):
    Token.objects.create(user=dept_x_user)
    other = client_class_login(dept_x_user)
    client.force_login(county_a)
    url = reverse("desk:user_active", args=[dept_x_user.pk])
    assert client.post(url, {"active": "0"}).status_code == 302
    dept_x_user.refresh_from_db()
    assert not dept_x_user.is_active and not Token.objects.filter(user=dept_x_user).exists()
    assert other.get(reverse("home")).status_code == 302  # logged out at the next request
    assert not client_login(dept_x_user.username, "pass-dept_x")
    assert client.post(url, {"active": "0"}).status_code == 302  # a second click records nothing
    assert client.post(url, {"active": "1"}).status_code == 302
    dept_x_user.refresh_from_db()
    assert dept_x_user.is_active and client_login(dept_x_user.username, "pass-dept_x")
    assert list(StaffChange.objects.order_by("id").values_list("action", flat=True)) == ["disabled", "enabled"]
    page = client.get(reverse("desk:user_changes")).content.decode()
    assert "停用" in page and "启用" in page and "county_a" in page


def client_login(username, password) -> bool:
    """Log in through the login page (django-axes wants the request), then open the dashboard."""
    from django.test import Client

    other = Client()
    response = other.post(reverse("login"), {"username": username, "password": password})
    return response.status_code == 302 and other.get(reverse("home")).status_code == 200


@pytest.mark.parametrize("value", ["", "yes", "2"])
def test_enable_or_disable_must_be_said(client, county_a, dept_x_user, value):
    client.force_login(county_a)
    response = client.post(reverse("desk:user_active", args=[dept_x_user.pk]), {"active": value}, follow=True)
    assert "请说明" in response.content.decode()
    dept_x_user.refresh_from_db()
    assert dept_x_user.is_active and StaffChange.objects.count() == 0


def test_disable_needs_post(client, county_a, dept_x_user):
    client.force_login(county_a)
    assert client.get(reverse("desk:user_active", args=[dept_x_user.pk])).status_code == 405


# -- the record -----------------------------------------------------------------------------------------


def test_each_office_reads_only_its_regions_record(client, county_a, county_b, city_user, dept_x_user, dept_z_user):
    staff.set_active(by=county_a, user=dept_x_user, active=False)
    staff.set_active(by=county_b, user=dept_z_user, active=False)
    client.force_login(county_a)
    page = client.get(reverse("desk:user_changes")).content.decode()
    assert "dept_x" in page and "dept_z" not in page
    client.force_login(city_user)
    page = client.get(reverse("desk:user_changes")).content.decode()
    assert "dept_x" in page and "dept_z" in page


def test_the_record_is_read_only_in_the_admin(client, county_a, dept_x_user):
    staff.set_active(by=county_a, user=dept_x_user, active=False)
    client.force_login(county_a)
    change = StaffChange.objects.get()
    assert client.get(reverse("admin:desk_staffchange_changelist")).status_code == 200
    response = client.post(reverse("admin:desk_staffchange_change", args=[change.pk]), {"action": "enabled"})
    assert response.status_code in (302, 403)
    change.refresh_from_db()
    assert change.action == "disabled"
