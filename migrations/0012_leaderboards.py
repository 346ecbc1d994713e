from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from game.awards.keys import Reason
from game.leaderboards.models import BoardPeriod, Metric
from game.notifications.models import NotificationKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0011_award_grants')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Leaderboard',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key', fields.CharField(unique=True, max_length=64)),
                ('title', fields.CharField(max_length=120)),
                ('metric', fields.CharEnumField(description='POINTS_EARNED: points_earned\nCO2E_SAVED: co2e_saved\nCHALLENGES_COMPLETED: challenges_completed', enum_type=Metric, max_length=32)),
                ('period', fields.CharEnumField(description='ALL_TIME: all_time\nWEEKLY: weekly\nMONTHLY: monthly\nSEASON: season', enum_type=BoardPeriod, max_length=16)),
                ('challenge_id', fields.BigIntField(null=True)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('prizes', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('archived_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'leaderboard', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LeaderboardOptOut',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.OneToOneField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='leaderboard_opt_out', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'leaderboard_opt_out', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A customer who asked not to appear on any board.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LeaderboardResult',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('board', fields.ForeignKeyField('models.Leaderboard', source_field='board_id', db_constraint=True, to_field='id', related_name='results', on_delete=OnDelete.RESTRICT)),
                ('season', fields.CharField(max_length=32)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='leaderboard_results', on_delete=OnDelete.RESTRICT)),
                ('rank', fields.IntField()),
                ('position', fields.IntField()),
                ('score', fields.BigIntField()),
            ],
            options={'table': 'leaderboard_result', 'app': 'models', 'unique_together': (('board_id', 'season', 'customer_id'),), 'pk_attr': 'id', 'table_description': 'The final standings of a closed season, as they were at closing (opted-out customers left out).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LeaderboardScore',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('board', fields.ForeignKeyField('models.Leaderboard', source_field='board_id', db_constraint=True, to_field='id', related_name='scores', on_delete=OnDelete.RESTRICT)),
                ('season', fields.CharField(max_length=32)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='leaderboard_scores', on_delete=OnDelete.RESTRICT)),
                ('score', fields.BigIntField()),
                ('reached_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'leaderboard_score', 'app': 'models', 'unique_together': (('board_id', 'season', 'customer_id'),), 'indexes': [Index(fields=['board_id', 'season', 'score'])], 'pk_attr': 'id', 'table_description': "A customer's score on one season of a board, and when they reached it (the tie-break)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LeaderboardSeason',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('board', fields.ForeignKeyField('models.Leaderboard', source_field='board_id', db_constraint=True, to_field='id', related_name='seasons', on_delete=OnDelete.RESTRICT)),
                ('season', fields.CharField(max_length=32)),
                ('ends_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'leaderboard_season', 'app': 'models', 'unique_together': (('board_id', 'season'),), 'pk_attr': 'id', 'table_description': 'A season that has scores, closed once after it ends: standings snapshotted, prizes paid.'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='AwardGrant',
            name='reason',
            field=fields.CharEnumField(description='PURCHASE: earn\nECO_BONUS: eco_bonus\nREFUND: refund\nECO_ACTION: eco\nCHALLENGE: challenge\nBADGE: badge\nSTREAK: streak\nCLAWBACK: clawback\nLEADERBOARD_PRIZE: leaderboard', enum_type=Reason, max_length=16),
        ),
        ops.AlterField(
            model_name='Notification',
            name='kind',
            field=fields.CharEnumField(description='CHALLENGE_COMPLETED: challenge_completed\nBADGE_EARNED: badge_earned\nSTREAK_MILESTONE: streak_milestone\nREWARD_WITHDRAWN: reward_withdrawn\nLEADERBOARD_PRIZE: leaderboard_prize', enum_type=NotificationKind, max_length=32),
        ),
    ]
