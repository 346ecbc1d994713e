from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from game.notifications.models import CampaignStatus, NotificationKind, PushOutcome, PushStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise.fields.db_defaults import SqlDefault
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0013_rewards')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Campaign',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('body', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('link', fields.CharField(null=True, max_length=500)),
                ('audience_tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('send_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('status', fields.CharEnumField(description='SCHEDULED: scheduled\nSENDING: sending\nSENT: sent', enum_type=CampaignStatus, max_length=16)),
                ('cursor', fields.CharField(default='', max_length=64)),
                ('targeted', fields.IntField(default=0)),
                ('not_opted_in', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('fanned_out_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'campaign', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A message of a marketer to an audience, fanned out in batches, the counters moving with each batch.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='NotificationPreference',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.OneToOneField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='notification_preference', on_delete=OnDelete.CASCADE)),
                ('opted_out', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('marketing', fields.BooleanField(default=False)),
                ('quiet_start_min', fields.IntField(null=True)),
                ('quiet_end_min', fields.IntField(null=True)),
                ('daily_cap', fields.IntField(null=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'notification_preference', 'app': 'models', 'pk_attr': 'id', 'table_description': 'The choices of a customer. No row means the defaults: every category but marketing, no quiet hours.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PushAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('notification_id', fields.BigIntField(db_index=True)),
                ('subscription_id', fields.BigIntField()),
                ('status', fields.IntField(null=True)),
                ('outcome', fields.CharEnumField(description='DELIVERED: delivered\nGONE: gone\nRETRY: retry\nFAILED: failed\nCAPPED: capped', enum_type=PushOutcome, max_length=16)),
                ('reason', fields.CharField(default='', max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'push_attempt', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Every try of a push job: what the push service answered and what we made of it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PushDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('notification_id', fields.BigIntField()),
                ('subscription_id', fields.BigIntField()),
                ('customer_id', fields.UUIDField(db_index=True)),
                ('delivered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'push_delivery', 'app': 'models', 'unique_together': (('notification_id', 'subscription_id'),), 'pk_attr': 'id', 'table_description': 'The delivered marker: one row per notification and device, so a replayed job pushes once.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PushSubscription',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='push_subscriptions', on_delete=OnDelete.CASCADE)),
                ('endpoint', fields.CharField(unique=True, max_length=1000)),
                ('p256dh', fields.CharField(max_length=200)),
                ('auth', fields.CharField(max_length=100)),
                ('user_agent', fields.CharField(default='', max_length=300)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'push_subscription', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One browser or app install of a customer, as its push service gave it (RFC 8030 endpoint, RFC 8291'},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='Notification',
            options={'table': 'notification', 'app': 'models', 'indexes': [Index(fields=['customer_id', 'read_at'])], 'pk_attr': 'id', 'table_description': 'An inbox row, written in the transaction that earned the reward or by a campaign fan-out: committed'},
        ),
        ops.AlterField(
            model_name='Notification',
            name='kind',
            field=fields.CharEnumField(description='CHALLENGE_COMPLETED: challenge_completed\nBADGE_EARNED: badge_earned\nSTREAK_MILESTONE: streak_milestone\nREWARD_WITHDRAWN: reward_withdrawn\nPOINTS_EXPIRING: points_expiring\nTIER_CHANGED: tier_changed\nREFERRAL_QUALIFIED: referral_qualified\nLEADERBOARD_PRIZE: leaderboard_prize\nNEW_CHALLENGE: new_challenge\nCAMPAIGN: campaign', enum_type=NotificationKind, max_length=32),
        ),
        ops.AddField(
            model_name='Notification',
            name='campaign_id',
            field=fields.BigIntField(null=True, db_index=True),
        ),
        ops.AddField(
            model_name='Notification',
            name='push_jobs',
            field=fields.IntField(default=0, db_default=SqlDefault('0')),
        ),
        ops.AddField(
            model_name='Notification',
            name='push_status',
            field=fields.CharEnumField(null=True, description='QUEUED: queued\nINBOX_ONLY: inbox_only\nSKIPPED: skipped', enum_type=PushStatus, max_length=16),
        ),
        ops.AddField(
            model_name='Notification',
            name='read_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Notification',
            index=Index(fields=['customer_id', 'read_at']),
        ),
    ]
