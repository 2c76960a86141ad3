"""A study's gold, start to finish, in Chromium: three annotators annotate seed 000 and
disagree (a link among the disagreements); the reviewer curates gold from their rows,
rejects a span, is asked about a link whose end was rejected, is refused "final" while
candidates are open, settles them and marks gold final. An export in every format then
carries gold for 000 only, and the JSONL re-imports with the gold states intact."""

from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from playwright.sync_api import expect

from annotations.exporters import EXPORTERS
from annotations.interchange import GOLD_FINAL
from annotations.models import Document, Layer, LayerStatus, Relation, Role
from annotations.services.assignments import assign_documents
from annotations.services.imports import import_file
from annotations.services.projects import add_member, create_project
from tests.browser.conftest import click_text, drag_select, link_saved, login, open_document
from tests.browser.test_annotate_flow import label_selection, saved
from tests.browser.test_curation import mark, row
from tests.browser.test_review import CLAIM, PERSIAN, SOURCE, bounds, open_review
from tests.conftest import SEEDS
from tests.exporters.test_conll import read_conll
from tests.factories import DocumentFactory, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def study(cast, seed_text, celery_eager):
    """k = 3: alice, bob and carol each get seed 000 and seed 001."""
    carol = UserFactory(username="carol")
    add_member(project=cast.project, user=carol, role=Role.ANNOTATOR)
    cast.project.overlap = 3
    cast.project.save()
    second = next(SEEDS.glob("001_*.txt")).read_text(encoding="utf-8")
    documents = {
        "000": DocumentFactory(project=cast.project, external_id="000", text=seed_text),
        "001": DocumentFactory(project=cast.project, external_id="001", text=second),
    }
    assign_documents(project=cast.project)
    return documents


def annotate(page, live_server, project, document, username, steps, *, asked: bool) -> None:
    """Sign in as ``username``, mark ``steps`` ((quote, key) or ("link", claim, source))
    in seed 000 and submit; ``asked``: the page asks first (an unlinked claim)."""
    text = document.text
    page.context.clear_cookies()
    login(page, live_server, username)
    open_document(page, live_server, project, document)
    for step in steps:
        if step[0] == "link":
            _, head, tail = step
            click_text(page, text, *bounds(text, head))
            page.keyboard.press("l")
            with page.expect_response(link_saved):
                click_text(page, text, *bounds(text, tail))
            continue
        quote, key = step
        start, end = bounds(text, quote)
        assert drag_select(page, text, start, end) == quote
        label_selection(page, key)
    saved(page)
    page.click("#submit-button")
    if asked:
        expect(page.locator("#submit-warnings li")).to_have_text(
            ["1 claim span has no attributed_to link."]
        )
        page.click("#submit-confirm")
    # Submitted, the page moves on to the annotator's next document.
    page.wait_for_url(lambda url: f"/documents/{document.pk}/" not in url)
    layer = Layer.objects.get(document=document, annotator__username=username)
    assert layer.status == LayerStatus.SUBMITTED


def reject(page, start: int, end: int, label: str) -> None:
    """Reject a span candidate in the list view and wait for the decision to be stored."""
    candidate = page.locator(f'#candidate-table tr[data-key="{start}:{end}:{label}"]')
    with page.expect_response(lambda r: r.url.endswith("/decisions/")):
        candidate.locator("button.reject").click()


def export(page, live_server, project, format: str) -> zipfile.ZipFile:
    """Run an export through the API as the signed-in manager; the downloaded archive."""
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    base = f"{live_server.url}/api/projects/{project.slug}/exports/"
    started = page.request.post(
        base, data={"format": format}, headers={"X-CSRFToken": csrf, "Referer": base}
    )
    assert started.status == 201, started.text()
    job = started.json()
    assert page.request.get(f"{base}{job['id']}/").json()["status"] == "succeeded"
    download = page.request.get(f"{base}{job['id']}/download/")
    assert download.status == 200
    return zipfile.ZipFile(io.BytesIO(download.body()))


def gold_documents(format: str, archive: zipfile.ZipFile) -> set[str]:
    """The documents an export carries gold for, read the way its format says."""
    names = archive.namelist()
    if format == "jsonl":
        lines = archive.read("documents.jsonl").decode().splitlines()
        return {json.loads(line)["id"] for line in lines if "gold" in json.loads(line)}
    if format in ("brat", "xmi"):
        return {
            name.rsplit("/", 1)[1].rsplit(".", 1)[0]
            for name in names
            if "/gold/" in name and name.endswith((".ann", ".xmi"))
        }
    if format == "conll":
        gold = [name for name in names if name.endswith("gold.conll")]
        return {doc for name in gold for doc in read_conll(archive.read(name).decode())}
    if format == "spacy":
        from spacy.tokens import DocBin
        from spacy.vocab import Vocab

        found = set()
        for name in names:
            if name.endswith(".spacy"):
                docs = DocBin().from_bytes(archive.read(name)).get_docs(Vocab())
                found |= {doc.user_data["id"] for doc in docs if "gold" in doc.spans}
        return found
    if format == "parquet":
        import pyarrow.parquet as pq

        table = pq.read_table(io.BytesIO(archive.read("data/corpus.parquet")))
        return {row["id"] for row in table.to_pylist() if row["gold_state"] is not None}
    raise AssertionError(f"no reader for {format}")


def test_three_annotators_then_curated_final_gold_exported_and_reimported(
    page, live_server, cast, study, screenshot_dir
):
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    seed = study["000"]
    text = seed.text
    page.set_viewport_size({"width": 1440, "height": 900})

    # Three annotators, three readings: alice links the claim to its source, bob adds a
    # sentiment, carol marks only "Saleh" inside the source (neither links).
    annotate(
        page,
        live_server,
        cast.project,
        seed,
        "alice",
        [(CLAIM, "c"), (SOURCE, "s"), ("link", CLAIM, SOURCE)],
        asked=False,
    )
    for username, other in (("bob", (PERSIAN, "e")), ("carol", ("Saleh", "s"))):
        annotate(page, live_server, cast.project, seed, username, [(CLAIM, "c"), other], asked=True)

    page.context.clear_cookies()
    login(page, live_server, "reviewer")
    open_review(page, live_server, cast.project, seed)
    expect(page.locator("#curation-rows .curation-group").first.locator(".who")).to_have_text(
        ["alice", "bob", "carol"]
    )
    # The claim all three marked goes into gold from the rows.
    with page.expect_response(lambda r: r.url.endswith("/spans/")):
        mark(page, "bob", "claim", CLAIM).click()
    expect(mark(page, "carol", "claim", CLAIM)).to_have_class(re.compile(r"\bin-gold\b"))
    # alice's source is rejected in the list view.
    reject(page, *bounds(text, SOURCE), "source")
    expect(mark(page, "alice", "source", SOURCE)).to_have_class(re.compile(r"\brejected\b"))
    # Taking alice's link asks about its rejected end; yes takes the link and the span.
    link = row(page, "alice").locator(".cur-link")
    link.click()
    expect(page.locator("#ends-text")).to_contain_text(f"source “{SOURCE}” is rejected")
    with page.expect_response(link_saved):
        page.click("#ends-confirm")
    expect(link).to_have_class(re.compile(r"\bin-gold\b"))
    saved(page)

    # "Final" is refused while bob's sentiment and carol's "Saleh" are open.
    page.click("#submit-button")
    expect(page.locator("#final-dialog")).to_be_visible()
    expect(page.locator("#final-text")).to_contain_text("2 candidates not settled")
    page.screenshot(path=screenshot_dir / "gold-study-refused.png")
    page.click("#final-cancel")
    assert Layer.objects.get(document=seed, is_gold=True).status == LayerStatus.OPEN

    # Settled: the sentiment rejected, carol's "Saleh" rejected; then final.
    reject(page, *bounds(text, PERSIAN), "sentiment")
    reject(page, *bounds(text, "Saleh"), "source")
    page.click("#submit-button")
    page.wait_for_url(f"{live_server.url}/projects/{cast.project.slug}/review/")
    expect(page.locator("tr", has_text="000").locator(".status")).to_have_text("final")
    gold = Layer.objects.get(document=seed, is_gold=True)
    assert gold.status == LayerStatus.SUBMITTED
    assert sorted(gold.spans.values_list("label__name", "start", "end")) == sorted(
        [("claim", *bounds(text, CLAIM)), ("source", *bounds(text, SOURCE))]
    )
    assert Relation.objects.filter(layer=gold).count() == 1
    assert not Layer.objects.filter(document=study["001"], is_gold=True).exists()

    # Every format: gold for 000 only.
    page.context.clear_cookies()
    login(page, live_server, "manager")
    archives = {}
    for format in EXPORTERS:
        archives[format] = export(page, live_server, cast.project, format)
        if format in ("jsonl", "brat", "xmi", "conll", "spacy", "parquet"):
            assert gold_documents(format, archives[format]) == {"000"}, format

    # The JSONL goes back in: 000 final with its gold, 001 never adjudicated.
    data = archives["jsonl"].read("documents.jsonl")
    copy = create_project(name="Copy", slug="copy", created_by=cast.manager)
    import_file(project=copy, filename="documents.jsonl", data=data)
    copied = {d.external_id: d for d in Document.objects.filter(project=copy)}
    copied_gold = Layer.objects.get(document=copied["000"], is_gold=True)
    assert copied_gold.status == LayerStatus.SUBMITTED
    assert copied_gold.spans.count() == 2
    assert not Layer.objects.filter(document=copied["001"], is_gold=True).exists()
    exported = [json.loads(line) for line in data.decode().splitlines()]
    assert [(r["id"], r.get("gold_state")) for r in exported] == [
        ("000", GOLD_FINAL),
        ("001", None),
    ]
    assert errors == []
