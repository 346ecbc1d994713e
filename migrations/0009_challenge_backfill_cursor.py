from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0008_streaks')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Challenge',
            name='backfill_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Challenge',
            name='backfill_event_id',
            field=fields.BigIntField(null=True),
        ),
    ]
