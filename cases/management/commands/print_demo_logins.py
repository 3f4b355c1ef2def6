from django.core.management.base import BaseCommand

from cases.demo import DEMO_PASSWORD
from cases.models import Profile


class Command(BaseCommand):
    help = "Print the demo users and their password."

    def handle(self, *args, **options):
        profiles = Profile.objects.select_related("user", "region", "department").order_by("role", "user__username")
        shown = 0
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for profile in profiles:
            if profile.role == "department" and not profile.user.username.endswith(("_01", "_02")):
                continue
            where = profile.department.name if profile.department else (profile.region.name if profile.region else "")
            self.stdout.write(f"  {profile.user.username:<20} {profile.role:<14} {where}")
            shown += 1
        if not shown:
            self.stdout.write("  (none: run `python manage.py seed_demo`)")
