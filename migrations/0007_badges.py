from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from game.badges.models import BadgeStatus
from game.notifications.models import NotificationKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_earn_eco_bonus')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Badge',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=64)),
                ('name', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('description', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('icon', fields.CharField(default='', max_length=200)),
                ('status', fields.CharEnumField(default=BadgeStatus.DRAFT, description='DRAFT: draft\nACTIVE: active\nARCHIVED: archived', enum_type=BadgeStatus, max_length=16)),
                ('rule', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('levels', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('audience_tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('published_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'badge', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A badge with one or more levels, earned by a rule over events or granted by challenges.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BadgeAward',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('badge', fields.ForeignKeyField('models.Badge', source_field='badge_id', db_constraint=True, to_field='id', related_name='awards', on_delete=OnDelete.RESTRICT)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='badge_awards', on_delete=OnDelete.RESTRICT)),
                ('level', fields.IntField()),
                ('event', fields.ForeignKeyField('models.Event', source_field='event_id', null=True, db_constraint=True, to_field='id', related_name='badge_awards', on_delete=OnDelete.RESTRICT)),
                ('earned_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'badge_award', 'app': 'models', 'unique_together': (('badge_id', 'customer_id', 'level'),), 'pk_attr': 'id', 'table_description': 'A level earned once: the unique key makes a replayed or concurrent grant a no-op.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BadgeProgress',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('badge', fields.ForeignKeyField('models.Badge', source_field='badge_id', db_constraint=True, to_field='id', related_name='progress', on_delete=OnDelete.RESTRICT)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='badge_progress', on_delete=OnDelete.RESTRICT)),
                ('steps', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('grants', fields.IntField(default=0)),
                ('level', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'badge_progress', 'app': 'models', 'unique_together': (('badge_id', 'customer_id'),), 'pk_attr': 'id', 'table_description': "A customer's way towards a badge's next level, one row per badge and customer for good."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=200)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.RESTRICT)),
                ('kind', fields.CharEnumField(description='CHALLENGE_COMPLETED: challenge_completed\nBADGE_EARNED: badge_earned\nSTREAK_MILESTONE: streak_milestone', enum_type=NotificationKind, max_length=32)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An outbox row, written in the transaction that earned the reward: committed means it will be sent.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Challenge',
            name='reward_badge',
            field=fields.ForeignKeyField('models.Badge', source_field='reward_badge_id', null=True, db_constraint=True, to_field='id', related_name='granted_by', on_delete=OnDelete.RESTRICT),
        ),
    ]
