"""A plain HTML <form> that the browser submits itself.

`rx.el.form` always installs a submit handler that calls preventDefault. Sign-in,
sign-up and sign-out must be real form posts, because only an HTTP response can set
or clear the HttpOnly session cookie.
"""

import reflex as rx
from reflex_components_core.el.elements.base import BaseHTML


class NativeForm(BaseHTML):
    tag = "form"

    action: rx.Var[str]
    method: rx.Var[str]


native_form = NativeForm.create
