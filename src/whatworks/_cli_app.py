"""``whatworks serve``: the dashboard over a store (issue 18, docs/app.md).

Hooked into the main app by ``whatworks.cli`` with ``register(app)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from whatworks.errors import error


def serve_command(store: Optional[str] = typer.Option(None, "--store", help="Store file (default: $WHATWORKS_STORE "
                                                                              "or ./whatworks.duckdb)."),
                  host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on. Anything but a "
                                                                        "loopback address needs \\[auth] in --config."),
                  port: int = typer.Option(8050, "--port", min=0, max=65535),
                  config: Optional[Path] = typer.Option(None, "--config", dir_okay=False,
                                                        help="TOML file: \\[auth] password_hash or trusted_header, "
                                                             "session_minutes; \\[app] boundaries (docs/app.md)."),
                  hash_password: bool = typer.Option(False, "--hash-password",
                                                     help="Ask for a password and print the hash for \\[auth]."),
                  quiet: bool = typer.Option(False, "--quiet", help="Silence announced defaults.")) -> None:
    """Serve the dashboard (Attention, Landscape, Performance, Places, People, Evidence, Confidence) on HOST:PORT."""
    from whatworks.app import check_host, load_config
    from whatworks.app import hash_password as hash_of   # the option --hash-password is this function's hash_password

    # errors (WhatworksError) reach whatworks.cli.main, which prints the one-line reason and exits 1
    if hash_password:
        import getpass

        pw = getpass.getpass("Dashboard password: ")
        if getpass.getpass("Again: ") != pw:
            raise error("serve", "The two passwords differ.")
        typer.echo(f'password_hash = "{hash_of(pw)}"')
        return
    cfg = load_config(config)
    check_host(host, cfg)
    server, url = make_server(store, host, port, cfg, quiet=quiet)
    typer.echo(f"whatworks dashboard on {url} (Ctrl+C to stop)"
               + ("" if cfg.auth is None else f"; sign-in: {cfg.auth}, sessions expire after {cfg.session_minutes} min"))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def make_server(store_path, host: str, port: int, config, *, quiet: bool = False):
    """A threaded werkzeug server for the dashboard over the store file opened read-only: (server, url)."""
    from werkzeug.serving import make_server as _make

    from whatworks.app import check_host, create_app
    from whatworks.store import Store, default_store_path

    check_host(host, config)
    st = Store(default_store_path(store_path), read_only=True)
    app = create_app(st, config=config, quiet=quiet)
    server = _make(host, port, app.server, threaded=True)
    scheme = "http"   # local loopback only (no external address is ever named in the package)
    return server, f"{scheme}://{host}:{server.server_port}/"


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
