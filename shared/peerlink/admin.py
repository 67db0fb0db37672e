"""``peerlink``: operator commands that belong to no single service."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

import amqp
import click

from peerlink import catalogue_doc
from peerlink.amqp import connect
from peerlink.broker_admin import ManagementApi, setup_site
from peerlink.config import ROLES, SITE_SLUG, default_amqp_url
from peerlink.web.auth import new_token, token_entry


@click.group(help="Peerlink operator commands.")
def main() -> None:
    pass


@main.group(help="API tokens.")
def token() -> None:
    pass


@token.command("new", help="Make a token; prints the secret once and the PEERLINK_API_TOKENS entry to configure.")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--site", required=True)
@click.option("--label", default="")
@click.option("--env", "as_env", is_flag=True, help="Print as shell assignments.")
def token_new(role: str, site: str, label: str, as_env: bool) -> None:
    if not SITE_SLUG.match(site):
        raise click.BadParameter(f"{site!r} is not a site slug", param_hint="--site")
    secret = new_token()
    entry = token_entry(secret, role, site, label)
    if as_env:
        click.echo(f"TOKEN={secret}\nENTRY={entry}")
    else:
        click.echo(f"token (give to the client, shown once): {secret}")
        click.echo(f"PEERLINK_API_TOKENS entry (configure on the service): {entry}")


@main.group(help="The broker.")
def broker() -> None:
    pass


@broker.command("check", help="Say in one line whether the broker answers.")
@click.option("--amqp-url", default="amqp://guest:guest@localhost:5672/")
def broker_check(amqp_url: str) -> None:
    try:
        connect(amqp_url, name="peerlink-check", timeout=3, heartbeat=0).release()
    except (amqp.exceptions.AccessRefused, amqp.exceptions.NotAllowed) as exc:
        click.echo(f"RabbitMQ answers but refuses this user or vhost ({type(exc).__name__}): {exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - any other failure gets the same one-line advice
        click.echo(
            f"RabbitMQ does not answer at {amqp_url.split('@')[-1]} ({type(exc).__name__}). "
            "Start it with: rabbitmq-server -detached (or: docker run -d -p 5672:5672 -p 15672:15672 "
            "rabbitmq:3-management)",
            err=True,
        )
        sys.exit(1)
    click.echo("RabbitMQ answers.")


@broker.command("setup", help="Create a site's vhost and exchanges (idempotent).")
@click.option("--site", required=True)
@click.option("--amqp-url", default=None, help="Default: the site's vhost on localhost.")
@click.option("--management-url", default=None, help="Default: port 15672 of the AMQP host.")
def broker_setup(site: str, amqp_url: str | None, management_url: str | None) -> None:
    url = amqp_url or default_amqp_url(site)
    management = ManagementApi(management_url) if management_url else ManagementApi.for_amqp_url(url)
    vhost = setup_site(url, management)
    click.echo(f"site {site}: vhost {vhost!r} ready with peerlink.events and peerlink.private")


@main.command(help="Print the event catalogue as Markdown, or write it into a document.")
@click.option("--write", "target", type=click.Path(path_type=Path, exists=True), default=None)
def catalogue(target: Path | None) -> None:
    section = catalogue_doc.render()
    if target is None:
        click.echo(section)
        return
    target.write_text(catalogue_doc.replace_section(target.read_text(), section))
    click.echo(f"event catalogue written into {target}")


@main.group(help="The link from a site to the central office (a shovel on the site's broker).")
def central() -> None:
    pass


def _site_url(site: str, url: str | None) -> str:
    if not SITE_SLUG.match(site):
        raise click.BadParameter(f"{site!r} is not a site slug", param_hint="--site")
    return url or default_amqp_url(site)


def _management(url: str | None, amqp_url: str) -> ManagementApi:
    return ManagementApi(url) if url else ManagementApi.for_amqp_url(amqp_url)


@central.command("link", help="Forward the site's peerlink.events to the central office (idempotent).")
@click.option("--site", required=True)
@click.option("--site-amqp-url", default=None, help="The site's broker and vhost. Default: the site's vhost here.")
@click.option("--central-amqp-url", default=None, help="Where the shovel delivers. Default: vhost 'central' here.")
@click.option("--site-management-url", default=None, help="Default: port 15672 of the site's AMQP host.")
@click.option(
    "--central-management-url",
    default=None,
    help="Also prepare the central vhost and exchanges through this API (default: when on the same host).",
)
def central_link(
    site: str,
    site_amqp_url: str | None,
    central_amqp_url: str | None,
    site_management_url: str | None,
    central_management_url: str | None,
) -> None:
    from peerlink import central as central_link_module

    site_url = _site_url(site, site_amqp_url)
    central_url = central_amqp_url or default_amqp_url("central")
    same_host = urlsplit(site_url).hostname == urlsplit(central_url).hostname
    central_management = (
        ManagementApi(central_management_url)
        if central_management_url
        else (ManagementApi.for_amqp_url(central_url) if same_host else None)
    )
    try:
        vhost = central_link_module.link(
            site_url,
            central_url,
            site_management=_management(site_management_url, site_url),
            central_management=central_management,
        )
    except central_link_module.LinkError as exc:
        click.echo(f"peerlink central link: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"site {site}: peerlink.events of vhost {vhost!r} now goes to {central_url.split('@')[-1]} "
        f"through queue {central_link_module.OUTBOUND_QUEUE!r} and shovel {central_link_module.SHOVEL!r}"
    )


@central.command("unlink", help="Stop forwarding; the site's events wait in its queue until linked again.")
@click.option("--site", required=True)
@click.option("--site-amqp-url", default=None)
@click.option("--site-management-url", default=None)
def central_unlink(site: str, site_amqp_url: str | None, site_management_url: str | None) -> None:
    from peerlink import central as central_link_module

    site_url = _site_url(site, site_amqp_url)
    removed = central_link_module.unlink(site_url, _management(site_management_url, site_url))
    click.echo(f"site {site}: link {'removed' if removed else 'was not there'}; events wait at the site")


@central.command("status", help="Whether the link runs and how many events wait at the site.")
@click.option("--site", required=True)
@click.option("--site-amqp-url", default=None)
@click.option("--site-management-url", default=None)
def central_status(site: str, site_amqp_url: str | None, site_management_url: str | None) -> None:
    from peerlink import central as central_link_module

    site_url = _site_url(site, site_amqp_url)
    found = central_link_module.status(site_url, _management(site_management_url, site_url))
    waiting = "unknown" if found.waiting is None else str(found.waiting)
    detail = f" ({found.detail})" if found.detail else ""
    click.echo(f"site {site}: link {found.state}{detail}; {waiting} events waiting at the site")
    if found.state != "running":
        sys.exit(1)


@main.command(help="Print the AsyncAPI document of every channel and message, or write it to a file.")
@click.option("--write", "target", type=click.Path(path_type=Path), default=None)
def asyncapi(target: Path | None) -> None:
    from peerlink import asyncapi as asyncapi_document

    text = asyncapi_document.render()
    if target is None:
        click.echo(text, nl=False)
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    click.echo(f"AsyncAPI document written to {target}")
