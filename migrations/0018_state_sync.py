from tortoise import migrations
from tortoise.migrations import operations as ops
from game.awards.keys import Reason
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0017_sessions')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='AwardGrant',
            name='reason',
            field=fields.CharEnumField(description='PURCHASE: earn\nECO_BONUS: eco_bonus\nREFUND: refund\nECO_ACTION: eco\nCHALLENGE: challenge\nBADGE: badge\nSTREAK: streak\nCLAWBACK: clawback\nLEADERBOARD_PRIZE: leaderboard\nREFERRAL: referral\nREDEMPTION: redemption\nEXPIRY: expiry', enum_type=Reason, max_length=16),
        ),
        ops.AlterField(
            model_name='PendingPoints',
            name='reason',
            field=fields.CharEnumField(default=Reason.PURCHASE, description='PURCHASE: earn\nECO_BONUS: eco_bonus\nREFUND: refund\nECO_ACTION: eco\nCHALLENGE: challenge\nBADGE: badge\nSTREAK: streak\nCLAWBACK: clawback\nLEADERBOARD_PRIZE: leaderboard\nREFERRAL: referral\nREDEMPTION: redemption\nEXPIRY: expiry', enum_type=Reason, max_length=16),
        ),
        ops.AlterModelOptions(
            name='ReferralQualification',
            options={'table': 'referral_qualification', 'app': 'models', 'unique_together': (('referee_id', 'event_id'),), 'indexes': [Index(fields=['referrer_id', 'status', 'created_at']), Index(fields=['status', 'id'])], 'pk_attr': 'id', 'table_description': 'One qualifying purchase of a referee and the rewards it pays (or holds): the referee\'s and each "'},
        ),
    ]
