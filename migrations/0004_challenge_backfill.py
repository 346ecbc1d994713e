from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_customer_tags')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Challenge',
            name='backfill',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Challenge',
            name='backfilled_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Challenge',
            name='published_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
