"""One policy for every cookie the gateway sets, applied where responses leave the application.

With secure cookies on (COOKIE_SECURE, always under APP_ENV=production) every Set-Cookie gets
`Secure`. In production each of our (`pp_`) cookies also gets the name prefix the browser enforces:
`__Host-` for cookies on `Path=/` without a domain (only this host, over HTTPS, can set them, so a
sibling subdomain or a network attacker cannot plant a session, flash or language cookie) and
`__Secure-` for cookies scoped to a path (the login and reset CSRF nonces, the login notice, a new
webhook secret). The code keeps using the plain names: a prefixed cookie reaches it without its
prefix, and an unprefixed `pp_` cookie, which anyone could have planted, does not reach it at all.
Doing this here rather than at each `set_cookie` keeps it true for cookies added later.
"""

from __future__ import annotations

HOST, SECURE = "__Host-", "__Secure-"
OURS = "pp_"


class CookiePolicy:
    def __init__(self, app, *, secure: bool, prefixed: bool) -> None:
        self.app = app
        self.secure = secure
        self.prefixed = prefixed and secure  # the browser refuses prefixed cookies without Secure

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.secure:
            return await self.app(scope, receive, send)
        if self.prefixed:
            scope = {
                **scope,
                "headers": [
                    (name, _incoming(value) if name == b"cookie" else value) for name, value in scope["headers"]
                ],
            }

        async def send_with_policy(message):
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [
                        (name, self._outgoing(value) if name.lower() == b"set-cookie" else value)
                        for name, value in message.get("headers", [])
                    ],
                }
            await send(message)

        return await self.app(scope, receive, send_with_policy)

    def _outgoing(self, value: bytes) -> bytes:
        pair, *attributes = [part.strip() for part in value.decode("latin-1").split(";")]
        names = {attribute.split("=", 1)[0].lower() for attribute in attributes}
        if "secure" not in names:
            attributes.append("Secure")
        if self.prefixed and pair.startswith(OURS):
            host_only = "domain" not in names and any(a.lower() == "path=/" for a in attributes)
            pair = (HOST if host_only else SECURE) + pair
        return "; ".join([pair, *attributes]).encode("latin-1")


def _incoming(value: bytes) -> bytes:
    kept = []
    for pair in value.decode("latin-1").split(";"):
        name = pair.strip().split("=", 1)[0]
        if name.startswith((HOST, SECURE)):
            kept.append(pair.strip().removeprefix(HOST).removeprefix(SECURE))
        elif not name.startswith(OURS):
            kept.append(pair.strip())
    return "; ".join(kept).encode("latin-1")
