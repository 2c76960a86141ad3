"""The demo corpus in seeds/: its documents, their meta, the demo project and accounts."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission, User
from django.db import transaction

from annotations.interchange import DocumentRecord
from annotations.models import CatalogueEntry, CatalogueKind, EntryStatus, LabelType, Project, Role
from annotations.services.assignments import assign_documents
from annotations.services.imports import import_documents
from annotations.services.projects import add_member, create_project

DEMO_SLUG = "demo"
DEMO_NAME = "Panjshir, September 2021 (demo)"
DEMO_ACCOUNTS = (
    ("manager", Role.MANAGER),
    ("reviewer", Role.REVIEWER),
    ("annotator1", Role.ANNOTATOR),
    ("annotator2", Role.ANNOTATOR),
    ("annotator3", Role.ANNOTATOR),
)
DEMO_GUIDELINES = """\
# Annotating claims, sources and sentiment

Mark what each article **asserts** and **who says so**.

- **claim** (`c`): a statement presented as fact, e.g. *Saleh left Panjshir and headed
  for Tajikistan*. Mark the whole proposition, not the verb of saying.
- **source** (`s`): who the claim is attributed to, e.g. *a source in Kabul*, *Saleh*,
  *TOLOnews*. Set its kind: person, organisation, media or anonymous.
- **sentiment** (`e`): words carrying an evaluative tone, with their polarity.
- Link each claim to its source with **attributed_to** (claim first, then source).

Contradictory claims in different articles are expected: mark each as its article states it.
"""

# What the five articles argue about: (key, name, description), and who says what.
DEMO_PROPOSITIONS = (
    (
        "saleh-fled-to-tajikistan",
        "Amrullah Saleh fled to Tajikistan",
        "Saleh left Panjshir and is in, or heading for, Tajikistan (TASS's Kabul source, "
        "the reports seed 004 repeats).",
    ),
    (
        "saleh-still-in-panjshir",
        "Amrullah Saleh is still in Panjshir",
        "Saleh says he is in the Panjshir valley with the commanders (his video message).",
    ),
    (
        "resistance-leaders-fled-afghanistan",
        "The resistance leaders fled Afghanistan",
        "Massoud and Saleh left the country: the rumour the articles repeat and refute.",
    ),
    (
        "taliban-captured-panjshir",
        "The Taliban captured Panjshir",
        "The Taliban's claim of control over the valley, denied by the resistance.",
    ),
)
# (key, name, kind of source)
DEMO_SOURCES = (
    ("amrullah-saleh", "Amrullah Saleh", "person"),
    ("tass", "TASS", "agency"),
    ("tolonews", "TOLOnews", "outlet"),
    ("bbc", "BBC", "outlet"),
    ("taliban", "The Taliban", "government"),
    ("fahim-dashti", "Fahim Dashti, resistance spokesman", "person"),
    ("source-in-kabul", "An unnamed source in Kabul", "anonymous"),
    ("unnamed-media-reports", "Unnamed media reports", "anonymous"),
)
DEMO_STANCES = ["asserts", "denies", "reports", "questions"]


def link_demo_schema(project: Project) -> None:
    """Claims link to propositions (with a stance), sources to source entities, and the
    catalogue starts with what the seed articles argue about and who says it."""
    LabelType.objects.filter(project=project, name="claim").update(
        catalogue=CatalogueKind.PROPOSITION, stance_values=DEMO_STANCES
    )
    LabelType.objects.filter(project=project, name="source").update(catalogue=CatalogueKind.SOURCE)
    CatalogueEntry.objects.bulk_create(
        [
            CatalogueEntry(
                project=project,
                kind=CatalogueKind.PROPOSITION,
                key=key,
                name=name,
                description=description,
                status=EntryStatus.APPROVED,
            )
            for key, name, description in DEMO_PROPOSITIONS
        ]
        + [
            CatalogueEntry(
                project=project,
                kind=CatalogueKind.SOURCE,
                key=key,
                name=name,
                source_kind=source_kind,
                status=EntryStatus.APPROVED,
            )
            for key, name, source_kind in DEMO_SOURCES
        ]
    )


# TASS's dateline, as in seed 002: date 2021-09-03 CAIRO, September 3. /TASS/.
_TASS_DATELINE = re.compile(r"^\s*date (\d{4}-\d{2}-\d{2}) ([A-Z][A-Z -]+),[^/]*/([A-Z]+)/\.")
# The publication line of seed 001, with its time in IST.
_PUBLISHED = re.compile(r"^Published : (\w{3} \d{1,2}, \d{4}, \d{1,2}:\d{2} [AP]M) IST$", re.M)
# A date written out in the text: "September 3, 2021", or "September 23" with no year.
_MENTIONED = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|"
    r"December) (\d{1,2})(?:, (\d{4}))?\b"
)
# The year of the demo's event: what a date written without one means in these articles.
DEMO_YEAR = 2021


def seed_meta(filename: str, text: str) -> dict[str, str]:
    """What the article itself says about where and when it was published."""
    meta = {"source_file": filename}
    if match := _TASS_DATELINE.match(text):
        meta.update(published=match[1], dateline=match[2].strip().title(), outlet=match[3])
    if match := _PUBLISHED.search(text):
        published = datetime.strptime(match[1], "%b %d, %Y, %I:%M %p")  # noqa: DTZ007
        meta["published"] = published.strftime("%Y-%m-%dT%H:%M+05:30")  # IST
    if "published" not in meta and (latest := latest_mentioned_date(text)) is not None:
        # No dateline nor publication line: the article was written on or after the last
        # date it mentions (the tweets it embeds, the events it reports).
        meta.update(published=latest.isoformat(), published_from="latest date in the text")
    first_line = text.strip().splitlines()[0]
    if not _TASS_DATELINE.match(text) and len(first_line) < 120:
        meta["headline"] = first_line.strip()
    return meta


def latest_mentioned_date(text: str) -> date | None:
    """The latest date the text writes out; a date without a year is in the demo's year."""
    found = []
    for month, day, year in _MENTIONED.findall(text):
        try:
            found.append(
                datetime.strptime(f"{month} {day} {year or DEMO_YEAR}", "%B %d %Y").date()  # noqa: DTZ007
            )
        except ValueError:  # "February 30": not a date
            continue
    return max(found, default=None)


def seed_records(folder: Path) -> list[DocumentRecord]:
    """One record a seed file; the id is the number before the underscore."""
    records = []
    for path in sorted(folder.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        records.append(
            DocumentRecord(id=path.stem.split("_")[0], text=text, meta=seed_meta(path.name, text))
        )
    return records


def grant_admin_view(user: User) -> None:
    """Staff who may look at the workbench's rows in the admin, and change nothing: not a
    superuser, who could read every project and every API token there."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="annotations", codename__startswith="view_"
        )
    )


@dataclass
class DemoAccount:
    username: str
    role: str
    password: str | None  # None: the account existed and kept its password


@transaction.atomic
def load_demo(
    folder: Path, password: str | None = None, *, reset_passwords: bool = False
) -> tuple[Project, list[DemoAccount]]:
    """Create the demo project, its accounts and assignments; a second run changes
    nothing, unless ``reset_passwords``: then the demo accounts that exist get a new
    password too (``password``, or a random one each)."""
    user_model = get_user_model()
    accounts = []
    users = {}
    for username, role in DEMO_ACCOUNTS:
        user = user_model.objects.filter(username=username).first()
        new_password = None
        if user is None:
            new_password = password or secrets.token_urlsafe(9)
            user = user_model.objects.create_user(username=username, password=new_password)
            if role == Role.MANAGER:
                grant_admin_view(user)
        elif reset_passwords:
            new_password = password or secrets.token_urlsafe(9)
            user.set_password(new_password)
            user.save(update_fields=["password"])
        users[username] = user
        accounts.append(DemoAccount(username, role, new_password))

    project = Project.objects.filter(slug=DEMO_SLUG).first()
    if project is None:
        project = create_project(
            name=DEMO_NAME,
            slug=DEMO_SLUG,
            created_by=users["manager"],
            guidelines=DEMO_GUIDELINES,
            overlap=3,
        )
        link_demo_schema(project)
        for username, role in DEMO_ACCOUNTS[1:]:
            add_member(project=project, user=users[username], role=role)
        import_documents(project=project, records=seed_records(folder), source="seeds/")
        assign_documents(project=project, actor=users["manager"])
    return project, accounts
