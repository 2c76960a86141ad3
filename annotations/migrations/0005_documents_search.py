"""A trigram index for the documents list's search box, on PostgreSQL only.

The search is ``UPPER(external_id || ' ' || COALESCE(meta ->> 'title', '') || ' ' || text)
LIKE '%…%'`` (``selectors.filtered_documents``); a GIN index of that same expression's
trigrams lets PostgreSQL answer it without reading every document. pg_trgm is a trusted
extension: the database's owner may create it. SQLite (the demo) searches without one.
"""

from django.db import migrations

HAYSTACK = "UPPER(external_id || ' ' || COALESCE(meta ->> 'title', '') || ' ' || text)"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS document_search_trgm ON annotations_document "
        f"USING gin (({HAYSTACK}) gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS document_search_trgm")


class Migration(migrations.Migration):
    dependencies = [("annotations", "0004_study_setup")]

    operations = [migrations.RunPython(create_index, drop_index)]
