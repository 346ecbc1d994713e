"""arq settings, tasks and cron: thin wrappers around game/."""
