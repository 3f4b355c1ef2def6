import unicodedata

from django.core.management.base import BaseCommand

from cases.demo import DEMO_PASSWORD
from cases.display_names import display_name
from cases.models import Profile, Region
from cases.roles import Role

PER_LINE = 3  # department logins per printed line


def _pad(text: str, width: int) -> str:
    """Left-align in a terminal, where a Chinese character takes two columns."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


class Command(BaseCommand):
    help = "Print every demo login with its name, the county and city offices and all departments, by region."

    def handle(self, *args, **options):
        profiles = list(
            Profile.objects.filter(user__is_active=True)
            .select_related("user", "region", "department__region")
            .order_by("user__username")
        )
        if not profiles:
            self.stdout.write("No users yet: run `python manage.py seed_demo`.")
            return
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for profile in profiles:
            if profile.role in (Role.CITY_OFFICE, Role.ASSESSOR):
                self.stdout.write(f"  {profile.user.username:<16} {display_name(profile.user)}")
        by_region: dict[int, dict] = {}
        for profile in profiles:
            region = profile.department.region if profile.department else profile.region
            if region is None or profile.role not in (Role.COUNTY_OFFICE, Role.DEPARTMENT):
                continue
            entry = by_region.setdefault(region.pk, {"region": region, "offices": [], "departments": []})
            entry["offices" if profile.role == Role.COUNTY_OFFICE else "departments"].append(profile)
        for entry in sorted(
            by_region.values(), key=lambda e: (e["region"].level != Region.Level.CITY, e["region"].code)
        ):
            region = entry["region"]
            offices = " ".join(p.user.username for p in entry["offices"])
            self.stdout.write(f"{region.name} ({region.code})" + (f"  office: {offices}" if offices else ""))
            cells = [f"{p.user.username} {self._short(p.department.name, region.name)}" for p in entry["departments"]]
            for start in range(0, len(cells), PER_LINE):
                self.stdout.write(
                    "    " + "   ".join(_pad(cell, 30) for cell in cells[start : start + PER_LINE]).rstrip()
                )

    @staticmethod
    def _short(name: str, region_name: str) -> str:
        """A county department without the county's name in front (罗山县人社局 → 人社局)."""
        return name[len(region_name) :] if name.startswith(region_name) and len(name) > len(region_name) else name
