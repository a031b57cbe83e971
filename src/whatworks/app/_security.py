"""The dashboard's security model: who may bind where, who gets in, and the headers on every response.

- It binds 127.0.0.1 by default; any other address is refused unless authentication is configured
  (:func:`check_host`).
- Authentication (a TOML config, :func:`load_config`) is either a password hash (``hashlib.scrypt`` with a random
  salt, made by :func:`hash_password`, checked with ``hmac.compare_digest``) behind a login form, or a header set by
  a trusted reverse proxy (``trusted_header``: the proxy authenticates and must strip the header from clients).
- A logged-in session is a signed cookie (HttpOnly, SameSite=Strict) that expires ``session_minutes`` after login;
  the signing key is new on every start, so a restart logs everyone out.
- Every response carries a Content-Security-Policy with only ``'self'`` sources (and the hashes of Dash's own inline
  scripts), X-Frame-Options DENY, X-Content-Type-Options nosniff, Referrer-Policy no-referrer and
  Cache-Control no-store.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import secrets
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from whatworks.errors import error

WHERE = "serve"
LOOPBACK_NAMES = ("localhost",)
# scrypt cost (RFC 7914; OWASP Password Storage Cheat Sheet: N=2^17, r=8, p=1 as a minimum for new systems; 2^14
# keeps a login under 0.1 s on a laptop and is still ~16 MiB of memory per guess)
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
SALT_BYTES = 16
DEFAULT_SESSION_MINUTES = 60
SESSION_KEY = "whatworks_login_at"
USER_KEY = "whatworks_user"


@dataclass(frozen=True)
class AppConfig:
    """What ``whatworks serve --config FILE`` reads (TOML).

    ``[auth]``: ``username`` and ``password_hash`` (from ``whatworks serve --hash-password``), or
    ``trusted_header`` (e.g. ``"X-Forwarded-User"``, only behind a proxy that sets it); ``session_minutes``.
    ``[app]``: ``boundaries`` (a GeoJSON/GeoPackage of area boundaries drawn under the hot-spot map),
    ``boundary_id`` (its area-code property), ``pack_dir`` (where "Write pack" puts files; default a temp folder).
    """

    username: str | None = None
    password_hash: str | None = None
    trusted_header: str | None = None
    session_minutes: int = DEFAULT_SESSION_MINUTES
    boundaries: str | None = None
    boundary_id: str | None = None
    pack_dir: str | None = None

    @property
    def auth(self) -> str | None:
        """``"password"``, ``"header"`` or None (no authentication)."""
        if self.password_hash:
            return "password"
        if self.trusted_header:
            return "header"
        return None


def load_config(path: str | os.PathLike | None) -> AppConfig:
    """Read a dashboard config (TOML); ``None`` gives the default config (no auth, loopback only)."""
    if path is None:
        return AppConfig()
    p = Path(path)
    if not p.is_file():
        raise error(WHERE, f"No config file {str(p)!r}.", hint="Give --config a TOML file (docs/app.md).")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise error(WHERE, f"The config {str(p)!r} is not valid TOML: {exc}.") from None
    unknown = set(raw) - {"auth", "app"}
    if unknown:
        raise error(WHERE, f"Unknown section(s) in {str(p)!r}.", got=sorted(unknown), expected="[auth] and [app]")
    auth, appc = raw.get("auth", {}), raw.get("app", {})
    bad = (set(auth) - {"username", "password_hash", "trusted_header", "session_minutes"}) | \
          (set(appc) - {"boundaries", "boundary_id", "pack_dir"})
    if bad:
        raise error(WHERE, f"Unknown key(s) in {str(p)!r}.", got=sorted(bad), hint="docs/app.md lists the keys.")
    if auth.get("password_hash") and auth.get("trusted_header"):
        raise error(WHERE, "Give either a password_hash or a trusted_header in [auth], not both.")
    if auth.get("password_hash"):
        _parse_hash(auth["password_hash"])
        if not auth.get("username"):
            raise error(WHERE, "[auth] has a password_hash but no username.", hint='add username = "analyst"')
    minutes = auth.get("session_minutes", DEFAULT_SESSION_MINUTES)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or minutes < 1:
        raise error(WHERE, "session_minutes must be a whole number of minutes, at least 1.", got=minutes)
    return AppConfig(username=auth.get("username"), password_hash=auth.get("password_hash"),
                     trusted_header=auth.get("trusted_header"), session_minutes=minutes,
                     boundaries=appc.get("boundaries"), boundary_id=appc.get("boundary_id"),
                     pack_dir=appc.get("pack_dir"))


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) for the config's ``password_hash``."""
    if not isinstance(password, str) or len(password) < 8:
        raise error(WHERE, "A dashboard password must be a string of at least 8 characters.")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    h = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    b = lambda v: base64.b64encode(v).decode("ascii")  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b(salt)}${b(h)}"


def _parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    parts = stored.split("$") if isinstance(stored, str) else []
    try:
        if len(parts) != 6 or parts[0] != "scrypt":
            raise ValueError
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        return n, r, p, base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
    except ValueError:
        raise error(WHERE, "password_hash is not a whatworks scrypt hash.", expected="scrypt$N$r$p$salt$hash",
                    hint="Make one with `whatworks serve --hash-password`.") from None


def check_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (constant-time comparison)."""
    n, r, p, salt, want = _parse_hash(stored)
    got = hashlib.scrypt(str(password).encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(want))
    return hmac.compare_digest(got, want)


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host(host: str, config: AppConfig) -> None:
    """Refuse to bind a non-loopback address without authentication."""
    if not is_loopback(host) and config.auth is None:
        raise error(WHERE, f"Refusing to listen on {host!r} without authentication: anyone who can reach it would "
                    "see the store.", expected="127.0.0.1 (the default), or a --config with [auth] password_hash "
                    "or trusted_header", hint="Make a hash with `whatworks serve --hash-password` (docs/app.md).")


def csp(script_hashes=()) -> str:
    """The Content-Security-Policy: nothing from anywhere but this server."""
    scripts = " ".join(["'self'", *(h if h.startswith("'") else f"'{h}'" for h in script_hashes)])
    return ("default-src 'self'; "
            f"script-src {scripts}; "
            # Plotly and Dash's components set styles at run time (<style> rules for the modebar, hover labels)
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}

LOGIN_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>whatworks: sign in</title>
<link rel="stylesheet" href="/assets/whatworks.css"></head><body class="login">
<main><h1>whatworks dashboard</h1>{message}
<form method="post" action="/login"><label>User <input name="username" autocomplete="username"></label>
<label>Password <input name="password" type="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form></main></body></html>"""


def install(server, config: AppConfig, script_hashes=()) -> None:
    """Add authentication, session expiry and security headers to the Flask ``server``."""
    import flask

    server.secret_key = secrets.token_bytes(32)
    server.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                         PERMANENT_SESSION_LIFETIME=config.session_minutes * 60)
    policy = csp(script_hashes)

    def logged_in() -> bool:
        if config.auth == "header":
            return bool(flask.request.headers.get(config.trusted_header, "").strip())
        at = flask.session.get(SESSION_KEY)
        return isinstance(at, (int, float)) and time.time() - at < config.session_minutes * 60

    @server.before_request
    def _gate():
        if config.auth is None or flask.request.path.startswith("/assets/whatworks.css"):
            return None
        if config.auth == "password" and flask.request.path == "/login":
            return None
        if logged_in():
            return None
        flask.session.clear()
        if config.auth == "header" or flask.request.path.startswith("/_dash") or flask.request.method != "GET":
            return flask.Response("Not signed in.", status=401, mimetype="text/plain")
        return flask.redirect("/login")

    if config.auth == "password":
        def login():
            msg = ""
            if flask.request.method == "POST":
                user = flask.request.form.get("username", "")
                ok_user = hmac.compare_digest(user.encode("utf-8"), str(config.username).encode("utf-8"))
                ok_pw = check_password(flask.request.form.get("password", ""), config.password_hash)
                if ok_user and ok_pw:
                    flask.session.clear()
                    flask.session[SESSION_KEY] = time.time()
                    flask.session[USER_KEY] = user
                    flask.session.permanent = True
                    return flask.redirect("/")
                msg = "<p role='alert'>Wrong user or password.</p>"
                return flask.Response(LOGIN_PAGE.format(message=msg), status=401, mimetype="text/html")
            return flask.Response(LOGIN_PAGE.format(message=msg), mimetype="text/html")

        server.add_url_rule("/login", "whatworks_login", login, methods=["GET", "POST"])

    @server.after_request
    def _headers(resp):
        resp.headers["Content-Security-Policy"] = policy
        for k, v in SECURITY_HEADERS.items():
            resp.headers.setdefault(k, v)
        return resp
