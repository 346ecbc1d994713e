from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0020_push_subscription_customer_index')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='BadgeAward',
            index=Index(fields=['customer_id']),
        ),
        ops.AddIndex(
            model_name='BadgeProgress',
            index=Index(fields=['customer_id']),
        ),
        ops.AddIndex(
            model_name='ChallengeProgress',
            index=Index(fields=['customer_id', 'challenge_id']),
        ),
        ops.AddIndex(
            model_name='Event',
            index=Index(fields=['customer_id', 'occurred_at']),
        ),
        ops.AddIndex(
            model_name='Event',
            index=Index(fields=['occurred_at', 'id']),
        ),
        ops.AddIndex(
            model_name='LeaderboardScore',
            index=Index(fields=['customer_id', 'board_id']),
        ),
    ]
