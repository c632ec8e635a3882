"""Command-line tasks: `flask --app cogrow demo load|logins`."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup


def register_cli(app: Flask) -> None:
    demo = AppGroup("demo", help="The demo network.")

    @demo.command("load")
    def load() -> None:
        """Load the demo network unless the database already has data."""
        from cogrow.demo import load_demo

        if load_demo():
            click.echo("Demo network loaded.")
        else:
            click.echo("The database already has data; the demo network was not loaded again.")

    @demo.command("logins")
    @click.option("--url", default=None, help="The address the web server listens on.")
    def logins(url: str | None) -> None:
        """Print where to open Cogrow and who to sign in as."""
        from cogrow.demo import DEMO_PASSWORD, demo_logins

        click.echo("")
        click.echo(f"  Cogrow is starting at {url or app.config['PUBLIC_URL']}")
        click.echo(f"  Demo logins (password for all: {DEMO_PASSWORD}):")
        for email, role, org in demo_logins():
            click.echo(f"    {role:<12} {email:<42} {org}")
        click.echo("  Every demo organisation has an admin@, and primes a planner@ and procurement@ user,")
        click.echo("  suppliers a production@ user (e.g. production@mirae-cast.example.com).")
        click.echo("  Press Ctrl-C to stop them all.")
        click.echo("")

    app.cli.add_command(demo)
