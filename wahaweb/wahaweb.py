"""The Reflex app: its pages, wahaweb's HTTP routes, the access middleware, the Core's lifespan."""

import reflex as rx

from wahaweb.api.routes import build_api
from wahaweb.event_errors import backend_exception_handler
from wahaweb.observability.request_ids import RequestIdMiddleware
from wahaweb.pages import account, admin, dashboard, login, servers, session
from wahaweb.state.access import AccessMiddleware
from wahaweb.state.live import lifespan

# The request-id middleware wraps everything (our routes and Reflex's): each HTTP request's
# log lines carry its id.
app = rx.App(
    api_transformer=[build_api(), RequestIdMiddleware],
    # assets/favicon.ico is Reflex's default icon; browsers that can take the SVG logo get it.
    head_components=[rx.el.link(rel="icon", href="/logo.svg", type="image/svg+xml")],
    # An event that raised: logged through wahaweb's redaction, a generic toast (see event_errors).
    backend_exception_handler=backend_exception_handler,
)
app.add_middleware(AccessMiddleware())
app.register_lifespan_task(lifespan)
for page in (login.login, login.register, dashboard.dashboard, session.session_page, admin.admin, account.account,
             account.reset, servers.servers_page):
    page.add_to(app)
