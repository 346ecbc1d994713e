from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from game.ledger.models import EntryKind
from json import dumps, loads
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='ApiKey',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=80)),
                ('source', fields.CharField(max_length=80)),
                ('prefix', fields.CharField(max_length=16)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('scopes', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'api_key', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Customer',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('password_hash', fields.CharField(max_length=200)),
                ('display_name', fields.CharField(max_length=80)),
                ('locale', fields.CharField(default='en', max_length=16)),
                ('timezone', fields.CharField(default='UTC', max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'customer', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Balance',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.OneToOneField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='balance', on_delete=OnDelete.RESTRICT)),
                ('points', fields.BigIntField(default=0)),
            ],
            options={'table': 'balance', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A cache of sum(ledger_entry.delta), written in the same transaction as each entry.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='EarnRule',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('currency', fields.CharField(unique=True, max_length=3)),
                ('points_per_unit', fields.IntField()),
                ('category_multipliers', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('active', fields.BooleanField(default=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'earn_rule', 'app': 'models', 'pk_attr': 'id', 'table_description': 'How purchases in one currency earn points: a base rate, raised or lowered per item category.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Event',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.RESTRICT)),
                ('type', fields.CharField(max_length=64)),
                ('source', fields.CharField(max_length=120)),
                ('idempotency_key', fields.CharField(max_length=200)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('payload_hash', fields.CharField(max_length=64)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('processed_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'event', 'app': 'models', 'unique_together': (('source', 'idempotency_key'),), 'pk_attr': 'id', 'table_description': 'Something that happened to a customer, recorded once per (source, idempotency_key).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='LedgerEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='ledger', on_delete=OnDelete.RESTRICT)),
                ('delta', fields.BigIntField()),
                ('balance_after', fields.BigIntField()),
                ('kind', fields.CharEnumField(description='EARN: earn\nREFUND: refund\nBONUS: bonus\nADJUSTMENT: adjustment\nREDEMPTION: redemption', enum_type=EntryKind, max_length=16)),
                ('reason', fields.CharField(max_length=200)),
                ('event', fields.ForeignKeyField('models.Event', source_field='event_id', null=True, db_constraint=True, to_field='id', related_name='entries', on_delete=OnDelete.RESTRICT)),
                ('award_key', fields.CharField(unique=True, max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'ledger_entry', 'app': 'models', 'indexes': [Index(fields=['customer_id', 'id'])], 'pk_attr': 'id', 'table_description': 'Append-only: rows are inserted, never updated or deleted.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Marketer',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('password_hash', fields.CharField(max_length=200)),
                ('display_name', fields.CharField(default='', max_length=80)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'marketer', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Purchase',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event', fields.OneToOneField('models.Event', source_field='event_id', db_constraint=True, to_field='id', related_name='purchase', on_delete=OnDelete.RESTRICT)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='purchases', on_delete=OnDelete.RESTRICT)),
                ('source', fields.CharField(max_length=120)),
                ('order_id', fields.CharField(max_length=120)),
                ('amount_cents', fields.BigIntField()),
                ('currency', fields.CharField(max_length=3)),
                ('points_awarded', fields.BigIntField()),
                ('refunded_cents', fields.BigIntField(default=0)),
                ('points_reversed', fields.BigIntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'purchase', 'app': 'models', 'unique_together': (('source', 'order_id'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
