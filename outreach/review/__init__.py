"""The agents' web app (review queue) and the public pages customers reach from emails.

Route modules expose ``routes(ctx: WebContext) -> list[BaseRoute]``; ``app.py``
assembles them into one Starlette application.
"""
