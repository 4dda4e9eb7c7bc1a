"""`flask --app wsgi apikeys ...`: keys of the partner API from the server's shell (admins also have a page).

`create` prints the new key alone on its last line (shown once, stored hashed), so a script can take it
with `tail -n 1`.
"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from retail import errors
from retail.db import new_session
from retail.services import api_keys


def _session():
    return new_session(current_app.extensions["engine"])


def _fail(exc: errors.DomainError):
    raise click.ClickException(str(exc)) from exc


@click.group(help="Keys of the partner and franchise API: create, list, rotate, revoke.")
def apikeys():
    pass


@apikeys.command(help="Create a key for one brand or one store; prints the key alone on the last line.")
@click.option("--brand", "brand_code", help="Brand code (a brand partner's system).")
@click.option("--store", "store_code", help="Store code (a franchise or consignment store's POS or ERP).")
@click.option("--scopes", default="read", show_default=True, help="read, or read,write")
@click.option("--name", default="", help="What the key is for (default: the tenant and scopes).")
@click.option("--language", type=click.Choice(api_keys.LANGUAGES), default=None,
              help="Language of the API's messages (default: a store's market, English for brands).")
@with_appcontext
def create(brand_code, store_code, scopes, name, language):
    if bool(brand_code) == bool(store_code):
        raise click.UsageError("give exactly one of --brand CODE or --store CODE")
    name = name or f"{brand_code or store_code} {scopes}"
    with _session() as session:
        try:
            new = api_keys.create_key_as_operator(session, name=name, brand_code=brand_code, store_code=store_code,
                                                  scopes=scopes, language=language)
        except errors.DomainError as exc:
            _fail(exc)
    click.echo(f"created key {new.key.prefix} ({new.key.scopes}) for {brand_code or store_code}; "
               "it is shown once, store it now:", err=True)
    click.echo(new.secret)


@apikeys.command(name="list", help="Every key: prefix, tenant, scopes, created, last used, revoked.")
@with_appcontext
def list_keys():
    with _session() as session:
        rows = api_keys.keys(session)
    for key, tenant in rows:
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        used = f"{key.last_used_at:%Y-%m-%d %H:%M}Z" if key.last_used_at else "never"
        click.echo(f"{key.prefix}  {tenant:<10} {key.scopes:<10} {state:<18} last used {used}  {key.name}")


@apikeys.command(help="Revoke a key by its prefix: it stops working at once.")
@click.argument("prefix")
@with_appcontext
def revoke(prefix):
    with _session() as session:
        try:
            key = api_keys.revoke_key_as_operator(session, prefix=prefix)
        except errors.DomainError as exc:
            _fail(exc)
    click.echo(f"revoked {key.prefix}")


@apikeys.command(help="Replace a key by a new one (same tenant and scopes); prints the new key on the last line.")
@click.argument("prefix")
@with_appcontext
def rotate(prefix):
    with _session() as session:
        try:
            new = api_keys.rotate_key_as_operator(session, prefix=prefix)
        except errors.DomainError as exc:
            _fail(exc)
    click.echo(f"revoked {prefix}; new key {new.key.prefix}, shown once:", err=True)
    click.echo(new.secret)
