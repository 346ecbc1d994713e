from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from game.challenges.models import ChallengeStatus, Recurrence
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Challenge',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('description', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('icon', fields.CharField(default='', max_length=200)),
                ('status', fields.CharEnumField(default=ChallengeStatus.DRAFT, description='DRAFT: draft\nACTIVE: active\nPAUSED: paused\nARCHIVED: archived', enum_type=ChallengeStatus, max_length=16)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('recurrence', fields.CharEnumField(default=Recurrence.NONE, description='NONE: none\nDAILY: daily\nWEEKLY: weekly\nMONTHLY: monthly', enum_type=Recurrence, max_length=16)),
                ('rule', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('reward_points', fields.IntField(default=0)),
                ('audience_tags', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('max_completions_per_period', fields.IntField(default=1)),
                ('budget_completions', fields.IntField(null=True)),
                ('budget_points', fields.BigIntField(null=True)),
                ('completions_count', fields.IntField(default=0)),
                ('points_awarded', fields.BigIntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'challenge', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChallengeProgress',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('challenge', fields.ForeignKeyField('models.Challenge', source_field='challenge_id', db_constraint=True, to_field='id', related_name='progress', on_delete=OnDelete.RESTRICT)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='challenge_progress', on_delete=OnDelete.RESTRICT)),
                ('period', fields.CharField(max_length=16)),
                ('steps', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('completions', fields.IntField(default=0)),
                ('completed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'challenge_progress', 'app': 'models', 'unique_together': (('challenge_id', 'customer_id', 'period'),), 'pk_attr': 'id', 'table_description': 'A customer\'s progress on a challenge in one period ("once", "2026-11-23", "2026-W48", "2026-11").'},
            bases=['Model'],
        ),
    ]
