from django.core.management.base import BaseCommand, CommandError

from cases.roles import Role
from cases.users import UserSetupError, create_user


class Command(BaseCommand):
    help = "Create (or update) a user with a role, tied to a region or a department."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--region", help="GB/T 2260 code or name (county office)")
        parser.add_argument("--department", type=int, help="department id (department role)")
        parser.add_argument("--password", help="password; a random one is printed when omitted")
        parser.add_argument("--email", default="")

    def handle(self, *args, **o):
        try:
            user, password = create_user(
                o["username"],
                role=o["role"],
                region=o["region"],
                department=o["department"],
                password=o["password"],
                email=o["email"],
            )
        except UserSetupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"{user.username} ({o['role']})"))
        if not o["password"]:
            self.stdout.write(f"password: {password}")
