from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from annotations.services.seeds import load_demo


class Command(BaseCommand):
    help = "Create the demo project from seeds/, with demo accounts and assignments (k=3)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seeds", type=Path, default=Path(settings.BASE_DIR) / "seeds")
        parser.add_argument(
            "--password",
            nargs="?",
            const="",
            help=(
                "Give the demo accounts, new and existing, this password; without a value, "
                "a new random one each (printed). Not given: existing accounts keep theirs."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project, accounts = load_demo(
            options["seeds"],
            password=options["password"] or None,
            reset_passwords=options["password"] is not None,
        )
        documents = project.documents.count()
        self.stdout.write(f"Project {project.slug!r}: {documents} documents.")
        self.stdout.write("Demo accounts (log in at /accounts/login/):")
        for account in accounts:
            secret = account.password or (
                "(existing account: password unchanged; "
                "`manage.py load_seeds --password` resets it)"
            )
            self.stdout.write(f"  {account.role:<10} {account.username:<11} {secret}")
