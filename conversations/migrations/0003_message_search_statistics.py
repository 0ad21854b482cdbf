# The planner's estimate for a word comes from the search vector's most
# common elements; with the default target (100) only ~1,000 words are
# tracked and every other word is guessed at half the rarest one's frequency.
# Then a rare word looks common, and PostgreSQL walks the whole history
# newest-first instead of asking the GIN index.  With 10,000, ~100,000 words
# are tracked (measured in benchmarks/history_and_search.py).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("conversations", "0002_groups_edits_reactions_attachments_search"),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE conversations_message ALTER COLUMN search_vector SET STATISTICS 10000",
            "ALTER TABLE conversations_message ALTER COLUMN search_vector SET STATISTICS -1",
        ),
    ]
