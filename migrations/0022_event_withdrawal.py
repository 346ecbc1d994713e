from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0021_customer_indexes')]

    initial = False

    operations = [
        ops.CreateModel(
            name='EventWithdrawal',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('event_id', fields.BigIntField(unique=True)),
                ('by_event_id', fields.BigIntField(unique=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'event_withdrawal', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An event that no longer counts at all (a cancelled redemption), and the event that withdrew it.'},
            bases=['Model'],
        ),
    ]
