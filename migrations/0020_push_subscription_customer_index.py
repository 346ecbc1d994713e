from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0019_leaderboard_truth')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='PushSubscription',
            name='customer',
            field=fields.ForeignKeyField('models.Customer', source_field='customer_id', db_index=True, db_constraint=True, to_field='id', related_name='push_subscriptions', on_delete=OnDelete.CASCADE),
        ),
    ]
