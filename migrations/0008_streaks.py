from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from game.streaks.models import StreakPeriod
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0007_badges')]

    initial = False

    operations = [
        ops.CreateModel(
            name='StreakSetting',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('period', fields.CharEnumField(description='DAILY: daily\nWEEKLY: weekly', enum_type=StreakPeriod, max_length=16)),
                ('activity_types', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('freeze_days', fields.IntField()),
                ('milestones', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('active', fields.BooleanField()),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'streak_setting', 'app': 'models', 'pk_attr': 'id', 'table_description': "The programme's streak as marketers configure it: one row (`id` 1), none until they do."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StreakState',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.OneToOneField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='streak', on_delete=OnDelete.RESTRICT)),
                ('period', fields.CharEnumField(description='DAILY: daily\nWEEKLY: weekly', enum_type=StreakPeriod, max_length=16)),
                ('length', fields.IntField(default=0)),
                ('best', fields.IntField(default=0)),
                ('run_start', fields.DateField(null=True)),
                ('last_active_on', fields.DateField(null=True)),
                ('freezes_used', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'streak_state', 'app': 'models', 'pk_attr': 'id', 'table_description': "One customer's streak, moved by one event at a time: the read side decides whether it is still alive."},
            bases=['Model'],
        ),
    ]
