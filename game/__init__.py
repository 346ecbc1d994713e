"""The domain: models and rules. Imports neither strawberry nor starlette."""
