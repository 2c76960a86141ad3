from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from annotations.exporters import EXPORTERS
from annotations.models import Project
from annotations.services.export_jobs import parse_options, sha256_of, write_export


class ProgressBar:
    """A one-line bar on a terminal; on anything else, a line every tenth of the way."""

    WIDTH = 30

    def __init__(self, stream: OutputWrapper):
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.last_tenth = -1

    def __call__(self, done: int, total: int) -> None:
        share = done / total if total else 1.0
        filled = round(share * self.WIDTH)
        elapsed = time.monotonic() - self.started
        line = (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {share:6.1%} "
            f"{done}/{total} documents {elapsed:.1f} s"
        )
        if self.tty:
            self.stream.write("\r" + line, ending="")
            self.stream.flush()
        elif int(share * 10) > self.last_tenth:
            self.last_tenth = int(share * 10)
            self.stream.write(line)

    def close(self) -> None:
        if self.tty:
            self.stream.write("")


class Command(BaseCommand):
    help = (
        "Export a project's corpus as a zip archive (the format's files and a dataset card), "
        "as the export job does."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The project's slug.")
        parser.add_argument("--format", required=True, choices=list(EXPORTERS))
        parser.add_argument("--out", required=True, type=Path, help="Where to write the zip.")
        parser.add_argument("--layers", choices=["gold", "annotators", "all"], default="all")
        parser.add_argument("--labels", help="Comma-separated span labels to keep (default all).")
        parser.add_argument("--no-meta", action="store_true", help="Leave document meta out.")
        parser.add_argument(
            "--split",
            metavar="TRAIN,DEV,TEST",
            help="Split by these ratios, e.g. 0.8,0.1,0.1 (by a hash of seed and document id).",
        )
        parser.add_argument("--seed", type=int, default=0, help="Seed of the split.")
        parser.add_argument(
            "--pseudonymise", action="store_true", help="Name annotators annotator_01..."
        )
        parser.add_argument(
            "--final-gold-only",
            action="store_true",
            help="Gold only for documents whose gold is final; in-progress gold is left out.",
        )
        parser.add_argument(
            "--alignment",
            choices=["split", "strict", "expand", "contract"],
            default="split",
            help="CoNLL and spaCy: what to do with a span edge inside a token.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["slug"]).first()
        if project is None:
            raise CommandError(f"no project {options['slug']!r}")
        raw: dict[str, Any] = {
            "layers": options["layers"],
            "include_meta": not options["no_meta"],
            "pseudonymise": options["pseudonymise"],
            "final_gold_only": options["final_gold_only"],
            "alignment": options["alignment"],
        }
        if options["labels"]:
            raw["labels"] = [x.strip() for x in options["labels"].split(",") if x.strip()]
        if options["split"]:
            try:
                train, dev, test = (float(x) for x in options["split"].split(","))
            except ValueError:
                raise CommandError("--split takes three ratios, e.g. 0.8,0.1,0.1") from None
            raw["split"] = {"seed": options["seed"], "train": train, "dev": dev, "test": test}
        try:
            export_options = parse_options(options["format"], raw)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None

        out: Path = options["out"]
        partial = out.with_name(f".{out.name}.part")
        bar = ProgressBar(self.stderr)
        try:
            stats = write_export(
                project=project,
                format=options["format"],
                options=export_options,
                target=partial,
                on_progress=bar,
            )
            os.replace(partial, out)
        except OSError as exc:
            raise CommandError(f"{out}: {exc.strerror or exc}") from None
        finally:
            bar.close()
            partial.unlink(missing_ok=True)
        checksum, size = sha256_of(out)
        problems = sum(stats.problems.values())
        self.stdout.write(
            f"Exported {stats.documents} documents of {project.slug!r} as {options['format']} "
            f"to {out} ({size} bytes, sha256 {checksum})."
        )
        if problems:
            self.stdout.write(f"{problems} problems are listed in report.jsonl inside the archive.")
