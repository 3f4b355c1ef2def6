from django.apps import apps
from django.core.management.base import BaseCommand

from cases import reference


class Command(BaseCommand):
    help = "Load the regions, categories, channels and role groups (idempotent)."

    def handle(self, *args, **options):
        reference.load(apps.get_model)
        self.stdout.write(self.style.SUCCESS("Reference data loaded."))
