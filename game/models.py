"""Every model module of the domain, in the order tortoise should load them (one app: `models`)."""

MODEL_MODULES = [
    "game.customers.models",
    "game.access.models",
    "game.events.models",
    "game.ledger.models",
    "game.earn.models",
    "game.purchases.models",
    "game.badges.models",
    "game.challenges.models",
    "game.eco.models",
    "game.notifications.models",
    "game.streaks.models",
    "game.rules.models",
    "game.awards.models",
    "game.leaderboards.models",
    "game.referrals.models",
    "game.rewards.models",
    "game.points.models",
]
