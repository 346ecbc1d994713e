from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from game.awards.keys import Reason
from game.referrals.models import MemberStatus, QualificationStatus
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0014_push')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ReferralFingerprint',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='payment_fingerprints', on_delete=OnDelete.CASCADE)),
                ('fingerprint', fields.CharField(max_length=128)),
            ],
            options={'table': 'referral_fingerprint', 'app': 'models', 'unique_together': (('customer_id', 'fingerprint'),), 'indexes': [Index(fields=['fingerprint'])], 'pk_attr': 'id', 'table_description': "A payment fingerprint a till sent with a customer's purchase, to spot one card behind two accounts."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReferralMember',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer', fields.OneToOneField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='referral_member', on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(unique=True, max_length=16)),
                ('referrer', fields.ForeignKeyField('models.Customer', source_field='referrer_id', null=True, db_constraint=True, to_field='id', related_name='referees', on_delete=OnDelete.SET_NULL)),
                ('referred_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('device_id', fields.CharField(null=True, max_length=128)),
                ('status', fields.CharEnumField(default=MemberStatus.PENDING, description='PENDING: pending\nQUALIFIED: qualified\nHELD: held\nREJECTED: rejected', enum_type=MemberStatus, max_length=16)),
                ('qualifying_event_id', fields.BigIntField(null=True)),
            ],
            options={'table': 'referral_member', 'app': 'models', 'indexes': [Index(fields=['referrer_id', 'referred_at'])], 'pk_attr': 'id', 'table_description': "A customer's place in the tree: their code and, once set, who referred them (set once)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReferralQualification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('referee', fields.ForeignKeyField('models.Customer', source_field='referee_id', db_constraint=True, to_field='id', related_name='referral_qualifications', on_delete=OnDelete.CASCADE)),
                ('referrer', fields.ForeignKeyField('models.Customer', source_field='referrer_id', db_constraint=True, to_field='id', related_name='referral_qualifications_as_referrer', on_delete=OnDelete.CASCADE)),
                ('event_id', fields.BigIntField()),
                ('rewards', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('signals', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(description='PAID: paid\nHELD: held\nAPPROVED: approved\nREJECTED: rejected\nWITHDRAWN: withdrawn\nVOIDED: voided', enum_type=QualificationStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decision_note', fields.CharField(null=True, max_length=500)),
            ],
            options={'table': 'referral_qualification', 'app': 'models', 'unique_together': (('referee_id', 'event_id'),), 'indexes': [Index(fields=['referrer_id', 'status', 'created_at']), Index(fields=['status', 'id'])], 'pk_attr': 'id', 'table_description': "One qualifying purchase of a referee and the rewards it pays (or holds): the referee's and each level's."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ReferralSetting',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('min_purchase_cents', fields.BigIntField()),
                ('referee_points', fields.BigIntField()),
                ('levels', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('apply_within_days', fields.IntField()),
                ('monthly_cap_per_referrer', fields.IntField(null=True)),
                ('velocity_limit', fields.IntField(null=True)),
                ('active', fields.BooleanField()),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'referral_setting', 'app': 'models', 'pk_attr': 'id', 'table_description': "The programme's referral rules: one row (`id` 1), none until a marketer configures them."},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='AwardGrant',
            name='reason',
            field=fields.CharEnumField(description='PURCHASE: earn\nECO_BONUS: eco_bonus\nREFUND: refund\nECO_ACTION: eco\nCHALLENGE: challenge\nBADGE: badge\nSTREAK: streak\nCLAWBACK: clawback\nREFERRAL: referral', enum_type=Reason, max_length=16),
        ),
    ]
