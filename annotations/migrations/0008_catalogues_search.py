"""A trigram index of catalogue entry names, on PostgreSQL only.

The catalogue's search box keeps the entries whose name contains a word
(``name ILIKE '%…%'``, ``services.catalogues.ranked_entries``); a GIN index of the
names' trigrams answers it without reading every entry, and pg_trgm's ``similarity``
ranks them against a claim's text. SQLite (the demo) searches and ranks without one.
"""

from django.db import migrations


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS catalogue_name_trgm ON annotations_catalogueentry "
        "USING gin (name gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS catalogue_name_trgm")


class Migration(migrations.Migration):
    dependencies = [("annotations", "0007_catalogues")]

    operations = [migrations.RunPython(create_index, drop_index)]
