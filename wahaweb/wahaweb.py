"""The Reflex app: its pages, wahaweb's HTTP routes, the access middleware, the Core's lifespan."""

import reflex as rx

from wahaweb.api.routes import build_api
from wahaweb.pages import admin, dashboard, login, session
from wahaweb.state.access import AccessMiddleware
from wahaweb.state.live import lifespan

app = rx.App(api_transformer=build_api())
app.add_middleware(AccessMiddleware())
app.register_lifespan_task(lifespan)
for page in (login.login, login.register, dashboard.dashboard, session.session_page, admin.admin):
    page.add_to(app)
