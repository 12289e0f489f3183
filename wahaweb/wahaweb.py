"""The Reflex app: pages from the template registry, wahaweb's HTTP routes, the Core lifespan."""

import reflex as rx

from wahaweb.api.routes import build_api
from wahaweb.observability.request_ids import RequestIdMiddleware
from wahaweb.state.live import lifespan
from wahaweb.state.open_pages import sample_open_pages
from wahaweb.pages import admin, dashboard, login, session  # noqa: F401  (register their routes)
from wahaweb.templates.template import PAGES

# The request-id middleware wraps everything (our routes and Reflex's): each HTTP request's
# log lines carry its id.
app = rx.App(
    api_transformer=[build_api(), RequestIdMiddleware],
    # assets/favicon.ico is Reflex's default icon; browsers that can take the SVG logo get it.
    head_components=[rx.el.link(rel="icon", href="/logo.svg", type="image/svg+xml")],
)
app.register_lifespan_task(lifespan)
app.register_lifespan_task(sample_open_pages)
for page in PAGES:
    app.add_page(**page)
