"""Who the fuzzer is: an auth provider whose token follows the identity the test selects.

Auth goes through a schemathesis provider, not `case.call(headers=...)`, so the negative cases
that drop or spoil Authorization really go out without a valid token (schemathesis-notes §2).
Tokens are not cached by schemathesis (refresh_interval=None): the identity changes between
tests of one process.
"""

from __future__ import annotations

import threading
from typing import Any

from mmconform.live_target.client import Actor

PUBLIC_PATH_REGEX = "^/files/"


class IdentityHolder:
    """The actor requests are sent as; None sends no Authorization at all.

    Per thread: fuzz tests started ahead (live_target/overlap.py) run side by side, each as its
    own actor, so one thread's choice never signs another thread's requests.
    """

    def __init__(self, actor: Actor | None = None) -> None:
        self._local = threading.local()
        self.actor = actor

    @property
    def actor(self) -> Actor | None:
        value = getattr(self._local, "actor", None)
        return value if isinstance(value, Actor) else None

    @actor.setter
    def actor(self, value: Actor | None) -> None:
        self._local.actor = value

    @property
    def name(self) -> str:
        return self.actor.name if self.actor is not None else "anonymous"

    def token(self) -> str:
        return (self.actor.token if self.actor is not None else None) or ""


def install_identity(schema: Any, holder: IdentityHolder) -> None:
    """Register a bearer provider on every session route of `schema`."""

    class _Bearer:
        def get(self, case: Any, ctx: Any) -> str:
            return holder.token()

        def set(self, case: Any, data: str, ctx: Any) -> None:
            headers = {
                k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"
            }
            if data:
                headers["Authorization"] = f"Bearer {data}"
            case.headers = headers

    schema.auth(refresh_interval=None).skip_for(path_regex=PUBLIC_PATH_REGEX)(_Bearer)
