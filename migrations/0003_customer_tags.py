from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.db_defaults import SqlDefault
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_challenges')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Customer',
            name='tags',
            field=fields.JSONField(default=list, db_default=SqlDefault("'[]'"), encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads),
        ),
    ]
