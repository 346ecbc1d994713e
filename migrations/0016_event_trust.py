from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0015_referrals')]

    initial = False

    operations = [
        ops.AddField(
            model_name='StreakSetting',
            name='verified_only',
            field=fields.BooleanField(default=False, db_default=False),
        ),
    ]
