"""The Reflex app: pages from the template registry, wahaweb's HTTP routes, the Core lifespan."""

import reflex as rx

from wahaweb.api.routes import build_api
from wahaweb.state.access import AccessMiddleware
from wahaweb.state.live import lifespan
from wahaweb.pages import admin, dashboard, login, session  # noqa: F401  (register their routes)
from wahaweb.templates.template import PAGES

app = rx.App(api_transformer=build_api())
app.add_middleware(AccessMiddleware())
app.register_lifespan_task(lifespan)
for page in PAGES:
    app.add_page(**page)
