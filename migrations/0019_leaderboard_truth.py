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
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='AwardGrant',
            name='withdrawn_event_id',
            field=fields.BigIntField(null=True),
        ),
        ops.AddIndex(
            model_name='AwardGrant',
            index=Index(fields=['event_id']),
        ),
        ops.AddIndex(
            model_name='AwardGrant',
            index=Index(fields=['withdrawn_event_id']),
        ),
        ops.AddIndex(
            model_name='LedgerEntry',
            index=Index(fields=['event_id']),
        ),
        # Grants made before: their events from their ledger entries (a grant worth no points has none).
        ops.RunSQL(
            [
                "UPDATE award_grant SET event_id = (SELECT l.event_id FROM ledger_entry l "
                "WHERE l.award_key = award_grant.key) WHERE event_id IS NULL",
                "UPDATE award_grant SET withdrawn_event_id = (SELECT l.event_id FROM ledger_entry l "
                "WHERE l.award_key = 'reversal:' || award_grant.key) "
                "WHERE withdrawn_at IS NOT NULL AND withdrawn_event_id IS NULL",
            ]
        ),
    ]
