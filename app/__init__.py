"""The process shell: settings, the Starlette app factory, DB/Redis lifecycles, authentication and the CLI."""
