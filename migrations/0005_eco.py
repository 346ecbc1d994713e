from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0004_challenge_backfill')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EcoActionType',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=64)),
                ('label', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('co2e_grams_per_unit', fields.IntField()),
                ('points_per_unit', fields.IntField(default=0)),
                ('declared_daily_cap', fields.IntField(default=1)),
                ('active', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'eco_action_type', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An eco-responsible action the programme rewards, and what one unit of it saves (marketer-editable).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EcoContribution',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.OneToOneField('models.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='eco_contribution', on_delete=OnDelete.RESTRICT)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='eco_contributions', on_delete=OnDelete.RESTRICT)),
                ('action', fields.CharField(max_length=64)),
                ('quantity', fields.IntField()),
                ('co2e_grams', fields.BigIntField()),
                ('verified', fields.BooleanField()),
                ('local_day', fields.CharField(max_length=10)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'eco_contribution', 'app': 'models', 'indexes': [Index(fields=['customer_id', 'action', 'local_day'])], 'pk_attr': 'id', 'table_description': 'One recorded eco action: the rows eco impact is summed from.'},
            bases=['Model'],
        ),
    ]
