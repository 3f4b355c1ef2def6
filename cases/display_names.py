"""What a person or an office is called on every page: a name, never a login.

One rule for the header, the ledger timeline, the notice's 印发人, the inbox and the scoring
history: the person's full name with the office or department they act for, else that office or
department alone (罗山县企业服务办公室, 罗山县人社局), else the login. The ledger keeps the login it
hashed (``actor_name``); the pages show this name instead.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from .roles import Role

_CJK = re.compile(r"[\u3400-\u9fff]")

# The related rows display_name reads; list pages select them with the user to avoid a query per row.
PROFILE_RELATED = ("profile__region", "profile__department")


def office_name(region) -> str:
    """The enterprise service office of a county or of the city: 罗山县企业服务办公室."""
    return _("%(region)s Enterprise Service Office") % {"region": region.name}


def person_name(user) -> str:
    """The full name as Chinese writes it (family name first, no space), or ''."""
    first, last = (user.first_name or "").strip(), (user.last_name or "").strip()
    if _CJK.search(first + last):
        return f"{last}{first}"
    return " ".join(part for part in (first, last) if part)


def unit_name(user) -> str:
    """The office or department the user acts for, or ''."""
    profile = getattr(user, "profile", None)
    if profile is None:
        return ""
    if profile.role == Role.DEPARTMENT and profile.department is not None:
        return profile.department.name
    if profile.role in (Role.COUNTY_OFFICE, Role.CITY_OFFICE) and profile.region is not None:
        return office_name(profile.region)
    if profile.role == Role.ASSESSOR:
        return _("Assessment group")
    return ""


def display_name(user, *, fallback: str = "") -> str:
    """The name pages show for ``user``; ``fallback`` (e.g. a stored login) when there is no user."""
    if user is None:
        if not fallback or fallback == "system":
            return _("System")
        return fallback
    person, unit = person_name(user), unit_name(user)
    if person and unit:
        return _("%(person)s (%(unit)s)") % {"person": person, "unit": unit}
    return person or unit or user.get_username()
