"""The dashboard: a local, offline, authenticated Dash app over the store (docs/app.md).

``create_app(store)`` builds it; ``whatworks serve --store S`` runs it on 127.0.0.1. Every number on it comes
from the analyses and the report helpers; it reads the store only through its named read methods.
"""

from whatworks.app._app import create_app
from whatworks.app._security import AppConfig, check_host, check_password, hash_password, load_config

__all__ = ["create_app", "AppConfig", "load_config", "hash_password", "check_password", "check_host"]
