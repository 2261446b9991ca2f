"""The ``invoicekit`` console script: the core's management commands plus ``serve`` and
``woocommerce-plugin`` (the WordPress plugin's zip, :mod:`plugins.woocommerce.wordpress_plugin`)."""

from __future__ import annotations

import threading

import click
import waitress

from core.cli import kit_or_fail, main
from core.config import setup_logging
from plugins.woocommerce.wordpress_plugin import woocommerce_plugin
from webhooks import create_app

__all__ = ["main"]


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, help="Receiver threads.")
def serve(host: str, port: int, threads: int) -> None:
    """Run the webhook receiver and the queue consumer in one process.

    The first run creates the instance folder (configuration and SQLite database). SIGINT
    stops gracefully (running tasks finish); stored deliveries are never lost: what was not
    processed is processed after the next start, and provider calls the last run left
    unfinished (a crash) are taken back at once, the provider's state read first.
    """
    setup_logging()
    kit = kit_or_fail(migrate=True)
    server = waitress.create_server(create_app(kit=kit), host=host, port=port,
                                    threads=threads, ident="invoicekit")
    receiver = threading.Thread(target=server.run, name="receiver", daemon=True)
    receiver.start()
    recovered = kit.queue.rebuild()
    reclaimed = kit.queue.start(kit.settings.home, "serve")
    kit.queue.watch()  # queues within seconds what the queue could not take (an outage)
    click.echo(f"invoicekit serving on http://{host}:{server.effective_port} "
               f"(instance {kit.settings.home}); {recovered} stored deliveries queued again"
               + (f"; operations of {len(reclaimed)} orders left in flight by the last run "
                  "taken back" if reclaimed else "") + "; Ctrl+C stops", err=True)
    consumer = kit.queue.huey.create_consumer(workers=kit.settings.workers,
                                              worker_type="thread")
    try:
        consumer.run()  # until SIGINT (graceful) or SIGTERM
    finally:
        server.close()


main.add_command(woocommerce_plugin)

if __name__ == "__main__":
    main()
