# The search index holds each message's id group (id // 65536, btree_gin)
# beside its words: a search of the newest messages asks for the words and
# the newest groups, and GIN steps over the older matches instead of reading
# every match of the words in the whole history (conversations/search.py).
#
# Built CONCURRENTLY, so messages can still be sent while it is built, and
# before the old index goes, so searches always have one.  On a big table
# give the build memory: PGOPTIONS='-c maintenance_work_mem=1GB' manage.py
# migrate (measured with 1GB on two busy cores: 19 s for 1,099,990 messages,
# 141 s for 10,999,990).

import django.contrib.postgres.indexes
from django.contrib.postgres.operations import (
    AddIndexConcurrently,
    BtreeGinExtension,
    RemoveIndexConcurrently,
)
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("conversations", "0004_message_changes"),
    ]

    operations = [
        BtreeGinExtension(),
        AddIndexConcurrently(
            model_name="message",
            index=django.contrib.postgres.indexes.GinIndex(
                models.F("search_vector"),
                models.ExpressionWrapper(
                    models.F("id") / models.Value(65536), output_field=models.BigIntegerField()
                ),
                name="message_search_recent",
            ),
        ),
        RemoveIndexConcurrently(model_name="message", name="message_search"),
    ]
