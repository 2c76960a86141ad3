from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotations.models import Project
from annotations.services.imports import FORMATS, import_file
from annotations.services.projects import create_project


class Command(BaseCommand):
    help = "Import a .txt, .jsonl (interchange format) or .csv file into a project, all or nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--project", required=True, help="The project's slug.")
        parser.add_argument(
            "--create", action="store_true", help="Create the project with the news claims preset."
        )
        parser.add_argument("--format", choices=FORMATS, help="Default: from the file's name.")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        slug: str = options["project"]
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: {exc.strerror}") from None
        project = Project.objects.filter(slug=slug).first()
        try:
            if project is None:
                if not options["create"]:
                    raise CommandError(f"no project {slug!r}: pass --create to make it")
                project = create_project(name=slug, slug=slug)
            summary = import_file(
                project=project, filename=str(path), data=data, file_format=options["format"]
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(
            f"Imported {summary.documents} documents, {summary.spans} spans and "
            f"{summary.relations} relations into {project.slug!r}."
        )
        if summary.created_users:
            self.stdout.write(f"New annotator accounts: {', '.join(summary.created_users)}.")
