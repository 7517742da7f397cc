"""Create the first administrator with a generated password, printed once.

Does nothing when a superuser already exists, so `make run` can call it on every start.
"""

import secrets

from django.contrib.auth import get_user_model

from messages_app.management.base import MailCommand


class Command(MailCommand):
    help = "Create an 'admin' superuser with a generated password if there is no superuser yet."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            self.stdout.write("admin user already exists")
            return
        password = secrets.token_urlsafe(12)
        users.create_superuser(username=username, email="", password=password)
        self.stdout.write(f"Created administrator '{username}' with password: {password}")
        self.stdout.write("This password is shown only once: note it now.")
