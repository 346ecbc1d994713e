from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from game.awards.keys import Reason
from game.ledger.models import EntryKind
from game.notifications.models import NotificationKind
from game.rewards.models import RedemptionStatus, RewardKind, RewardStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0012_leaderboards')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PendingPoints',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='pending_points', on_delete=OnDelete.RESTRICT)),
                ('award_key', fields.CharField(unique=True, max_length=200)),
                ('kind', fields.CharEnumField(default=EntryKind.EARN, description='EARN: earn\nREFUND: refund\nBONUS: bonus\nADJUSTMENT: adjustment\nREDEMPTION: redemption\nCLAWBACK: clawback\nEXPIRY: expiry', enum_type=EntryKind, max_length=16)),
                ('reason', fields.CharEnumField(default=Reason.PURCHASE, description='PURCHASE: earn\nECO_BONUS: eco_bonus\nREFUND: refund\nECO_ACTION: eco\nCHALLENGE: challenge\nBADGE: badge\nSTREAK: streak\nCLAWBACK: clawback\nREDEMPTION: redemption\nEXPIRY: expiry', enum_type=Reason, max_length=16)),
                ('text', fields.CharField(max_length=200)),
                ('event_id', fields.BigIntField(null=True)),
                ('points', fields.BigIntField()),
                ('cancelled', fields.BigIntField(default=0)),
                ('available_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('released_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'pending_points', 'app': 'models', 'indexes': [Index(fields=['released_at', 'available_at']), Index(fields=['customer_id', 'released_at'])], 'pk_attr': 'id', 'table_description': "A purchase's points, held until `available_at`. Release posts them to the ledger (EARN, under the"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Reward',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='PRODUCT: product\nVOUCHER: voucher\nEXPERIENCE: experience\nDONATION: donation\nPARTNER_OFFER: partner_offer', enum_type=RewardKind, max_length=16)),
                ('status', fields.CharEnumField(default=RewardStatus.DRAFT, description='DRAFT: draft\nLIVE: live\nARCHIVED: archived', enum_type=RewardStatus, max_length=16)),
                ('name', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('description', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('image_url', fields.CharField(null=True, max_length=500)),
                ('cost_points', fields.IntField()),
                ('stock', fields.IntField(null=True)),
                ('redeemed', fields.IntField(default=0)),
                ('per_customer_limit', fields.IntField(null=True)),
                ('starts_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('coupon_valid_days', fields.IntField(null=True)),
                ('cancel_window_hours', fields.IntField(default=24)),
                ('audience_tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'reward', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One reward of the catalogue. `redeemed` counts the redemptions not cancelled: the stock left is'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Redemption',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('reward', fields.ForeignKeyField('models.Reward', source_field='reward_id', db_constraint=True, to_field='id', related_name='redemptions', on_delete=OnDelete.RESTRICT)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='redemptions', on_delete=OnDelete.RESTRICT)),
                ('award_key', fields.CharField(unique=True, max_length=200)),
                ('points', fields.IntField()),
                ('status', fields.CharEnumField(default=RedemptionStatus.ACTIVE, description='ACTIVE: active\nCONSUMED: consumed\nCANCELLED: cancelled', enum_type=RedemptionStatus, max_length=16)),
                ('code', fields.CharField(null=True, unique=True, max_length=32)),
                ('receipt', fields.CharField(null=True, unique=True, max_length=40)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('consumed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('consumed_by', fields.CharField(null=True, max_length=80)),
                ('consumed_order_id', fields.CharField(null=True, max_length=110)),
                ('cancelled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('snapshot', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'redemption', 'app': 'models', 'indexes': [Index(fields=['customer_id', 'id']), Index(fields=['reward_id', 'customer_id'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='AwardGrant',
            name='reason',
            field=fields.CharEnumField(description='PURCHASE: earn\nECO_BONUS: eco_bonus\nREFUND: refund\nECO_ACTION: eco\nCHALLENGE: challenge\nBADGE: badge\nSTREAK: streak\nCLAWBACK: clawback\nREDEMPTION: redemption\nEXPIRY: expiry', enum_type=Reason, max_length=16),
        ),
        ops.AddField(
            model_name='EarnRule',
            name='pending_days',
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.AlterField(
            model_name='LedgerEntry',
            name='kind',
            field=fields.CharEnumField(description='EARN: earn\nREFUND: refund\nBONUS: bonus\nADJUSTMENT: adjustment\nREDEMPTION: redemption\nCLAWBACK: clawback\nEXPIRY: expiry', enum_type=EntryKind, max_length=16),
        ),
        ops.AlterField(
            model_name='Notification',
            name='kind',
            field=fields.CharEnumField(description='CHALLENGE_COMPLETED: challenge_completed\nBADGE_EARNED: badge_earned\nSTREAK_MILESTONE: streak_milestone\nREWARD_WITHDRAWN: reward_withdrawn\nPOINTS_EXPIRING: points_expiring', enum_type=NotificationKind, max_length=32),
        ),
    ]
