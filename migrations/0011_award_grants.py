from tortoise import migrations
from tortoise.migrations import operations as ops
from game.awards.keys import Reason
from game.ledger.models import EntryKind
from game.notifications.models import NotificationKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0010_rules_generation')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AwardGrant',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=200)),
                ('base_key', fields.CharField(db_index=True, max_length=200)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='award_grants', on_delete=OnDelete.RESTRICT)),
                ('reason', fields.CharEnumField(description='PURCHASE: earn\nECO_BONUS: eco_bonus\nREFUND: refund\nECO_ACTION: eco\nCHALLENGE: challenge\nBADGE: badge\nSTREAK: streak\nCLAWBACK: clawback', enum_type=Reason, max_length=16)),
                ('points', fields.BigIntField()),
                ('granted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('withdrawn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'award_grant', 'app': 'models', 'indexes': [Index(fields=['customer_id', 'reason'])], 'pk_attr': 'id', 'table_description': 'One reward the engine granted (a challenge completion, a badge level, a streak milestone), so that it'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ClawbackSetting',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('below_zero', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'clawback_setting', 'app': 'models', 'pk_attr': 'id', 'table_description': "The programme's clawback policy: one row (`id` 1), none until a marketer sets it."},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='LedgerEntry',
            name='kind',
            field=fields.CharEnumField(description='EARN: earn\nREFUND: refund\nBONUS: bonus\nADJUSTMENT: adjustment\nREDEMPTION: redemption\nCLAWBACK: clawback', enum_type=EntryKind, max_length=16),
        ),
        ops.AlterField(
            model_name='Notification',
            name='kind',
            field=fields.CharEnumField(description='CHALLENGE_COMPLETED: challenge_completed\nBADGE_EARNED: badge_earned\nSTREAK_MILESTONE: streak_milestone\nREWARD_WITHDRAWN: reward_withdrawn', enum_type=NotificationKind, max_length=32),
        ),
        # The engine's rewards granted before this migration, so that a refund can withdraw them too: each
        # queued one notification under its award key, and its points (if any) sit in the ledger under it.
        ops.RunSQL(
            "INSERT INTO award_grant (key, base_key, customer_id, reason, points, granted_at) "
            "SELECT n.key, n.key, n.customer_id, CASE n.kind WHEN 'challenge_completed' THEN 'challenge' "
            "WHEN 'badge_earned' THEN 'badge' ELSE 'streak' END, COALESCE(l.delta, 0), n.created_at "
            "FROM notification n LEFT JOIN ledger_entry l ON l.award_key = n.key "
            "WHERE n.kind IN ('challenge_completed', 'badge_earned', 'streak_milestone')"
        ),
    ]
