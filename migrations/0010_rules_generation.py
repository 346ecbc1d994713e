from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0009_challenge_backfill_cursor')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RulesGeneration',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('generation', fields.BigIntField()),
                ('changed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'rules_generation', 'app': 'models', 'pk_attr': 'id', 'table_description': 'How many times the live definitions changed: one row (`id` 1), none until the first change.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Challenge',
            name='published_generation',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Event',
            name='rules_generation',
            field=fields.BigIntField(null=True),
        ),
    ]
