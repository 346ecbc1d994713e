from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0018_state_sync')]

    initial = False

    operations = [
        ops.AddField(
            model_name='AwardGrant',
            name='event_id',
            field=fields.BigIntField(null=True, db_index=True),
        ),
        ops.AddField(
            model_name='AwardGrant',
            name='withdrawn_event_id',
            field=fields.BigIntField(null=True, db_index=True),
        ),
        ops.AddIndex(
            model_name='LedgerEntry',
            index=Index(fields=['event_id']),
        ),
    ]
