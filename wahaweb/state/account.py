"""/account: the signed-in user's own password form (a native form post to /api/auth/password).

The post answers with a redirect back here carrying a message code (`error`, `field`) or
`done=1`; this state turns those into words in the tab's language. Unknown codes show nothing.
"""

from __future__ import annotations

import reflex as rx

from wahaweb.core.models import User
from wahaweb.i18n import message_text
from wahaweb.state.auth import AuthState
from wahaweb.state.guard import guarded

#: The fields a message code may point at (the form's inputs).
FIELDS = ("current", "new")


class AccountState(AuthState):
    account_error: str = ""
    account_field: str = ""
    account_done: bool = False

    @rx.event
    @guarded
    async def load(self, user: User):
        params = self.router.url.query_parameters
        self.account_error = message_text(self.lang, params.get("error", "")[:40])
        self.account_field = params.get("field", "") if params.get("field", "") in FIELDS else ""
        self.account_done = params.get("done") == "1" and not self.account_error
        await self._open_page(user)
