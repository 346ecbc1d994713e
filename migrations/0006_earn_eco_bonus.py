from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_eco')]

    initial = False

    operations = [
        ops.AddField(
            model_name='EarnRule',
            name='eco_bonus_pct',
            field=fields.IntField(default=0, db_default=0),
        ),
    ]
