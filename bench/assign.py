"""The assignment plan on a large project: preview and apply, k raised and lowered.

Makes a scratch PostgreSQL database with one project of N documents (short texts) and M
annotators, then times, through the same service the page, the API and
``manage.py assign`` use: the preview, the first apply (k = 2), a second apply (nothing
to do), raising k to 3 and lowering it to 1 (which takes back the unstarted third). Each
line also says how many SQL queries it took. Drops the database at the end.

    .venv/bin/python bench/assign.py                        # 100,000 documents, 10 annotators
    .venv/bin/python bench/assign.py --documents 10000 --annotators 5
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from _scratch_db import drop_database, recreate_database  # bench/ is on sys.path when run

ROOT = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--annotators", type=int, default=10)
    parser.add_argument("--database", default="wb_bench_assign", help="PostgreSQL database name")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432", help="server URL")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    recreate_database(args.pg, args.database)
    os.environ["DATABASE_URL"] = f"{args.pg}/{args.database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
    sys.path.insert(0, str(ROOT))
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(args.pg, args.database)


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from annotations.models import Assignment, Document, Role
    from annotations.services.assignments import apply_to_project, plan_for
    from annotations.services.projects import add_member, create_project

    call_command("migrate", verbosity=0)
    users = get_user_model()
    manager = users.objects.create_user("bench-manager")
    project = create_project(name="Bench", slug="bench", created_by=manager, overlap=2)
    for index in range(args.annotators):
        add_member(
            project=project, user=users.objects.create_user(f"a{index:02d}"), role=Role.ANNOTATOR
        )
    Document.objects.bulk_create(
        (
            Document(project=project, external_id=f"d{index:06d}", text="Saleh stays.")
            for index in range(args.documents)
        ),
        batch_size=5000,
    )
    print(f"{args.documents:,} documents, {args.annotators} annotators, PostgreSQL")

    def timed(what: str, step) -> None:  # type: ignore[no-untyped-def]
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            plan = step()
            wall = time.perf_counter() - started
        print(
            f"  {what:<28} {wall:6.2f} s  {len(queries.captured_queries):4} queries  "
            f"+{plan.added:,} -{plan.removed:,}"
        )

    timed("preview, k = 2", lambda: plan_for(project))
    timed("apply, k = 2", lambda: apply_to_project(project=project, actor=manager))
    timed("apply again (nothing to do)", lambda: apply_to_project(project=project))
    timed("raise k to 3", lambda: apply_to_project(project=project, overlap=3))
    timed("lower k to 1", lambda: apply_to_project(project=project, overlap=1))
    assert Assignment.objects.filter(document__project=project).count() == args.documents


if __name__ == "__main__":
    main()
