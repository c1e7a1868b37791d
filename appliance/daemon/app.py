"""The one place that wires the daemon: config -> store -> parts -> supervisor.

``build_services`` chooses each part from the configuration (modem, line, sync);
``run_daemon`` adds the web face, starts everything under the supervisor, tells
systemd, and stops cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from appliance import __version__
from appliance.config import Config
from appliance.daemon.context import AppContext
from appliance.daemon.notify import Notifier
from appliance.daemon.service import Service
from appliance.daemon.supervisor import Supervisor
from appliance.daemon.wakesock import WakeupSocket
from appliance.store.db import Store
from appliance.web.server import WebService

log = logging.getLogger(__name__)


def build_services(ctx: AppContext) -> list[Service]:
    """The device and sync parts this configuration asks for (the web part is added by run_daemon)."""
    services: list[Service] = []
    from appliance.followups.service import WorkflowService

    services.append(WorkflowService(ctx))
    if ctx.config.modem.driver != "none":
        from appliance.modem.service import ModemService

        modem = ModemService(ctx)
        services.append(modem)
        from appliance.calls.gsm import GsmCalls

        modem.call_listener = GsmCalls(ctx, ctx.config.line.gsm_call_sms_reply).on_modem_event
    from appliance.followups.followups import reply_hook
    from appliance.inbound.service import InboundService

    # opt-out, help, complaints, survey answers; a reply stops follow-ups
    services.append(InboundService(ctx, extra_hooks=[("followups", reply_hook)]))
    if ctx.config.line.driver != "none":
        from appliance.calls.service import CallsService
        from appliance.line.service import LineService

        line = LineService(ctx)
        services.append(line)
        services.append(CallsService(ctx, line))  # a bad line.menu stops start-up naming the key (exit 2)
    gpio = ctx.config.gpio
    if max(gpio.status_led, gpio.call_led, gpio.buzzer, gpio.button) >= 0:
        from appliance.daemon.lights import LightsService

        services.append(LightsService(ctx))  # the box's lights, buzzer and button
    if ctx.config.mqtt.enabled:
        from appliance.sync.service import SyncService

        services.append(SyncService(ctx))
    return services


async def run_daemon(config: Config) -> int:
    """Run until SIGTERM/SIGINT; return the exit status."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    notifier = Notifier()
    store = Store.open(config.db_path, min_free_mb=config.storage.min_free_mb)
    ctx = AppContext(config=config, store=store)
    ctx.wakeups.bind(loop)
    ctx.bus.bind(loop)
    store.on_commit_signal = ctx.wakeups.notify
    wake_socket = WakeupSocket(config.data_dir, ctx.wakeups.notify)  # `appliance sms send` wakes us
    wake_socket.start(loop)
    supervisor = Supervisor(ctx, notifier)
    try:
        from appliance.ops.service import FieldService, start_checks  # issue 11: seqs, clock, retention

        floor = start_checks(store, config.site.id, config.storage.wal_autocheckpoint)
        supervisor.add([FieldService(ctx, floor)])
        supervisor.add(build_services(ctx))
        supervisor.add([WebService(ctx, supervisor)])
        await supervisor.start()
        names = ", ".join(supervisor.services)
        log.info(
            "appliance %s started: site %s, store %s, parts %s, config %s",
            __version__, config.site.id, config.db_path, names, config.source or "embedded defaults",
        )
        notifier.ready(f"running: {names}")
        await stop.wait()
        log.info("stopping")
        notifier.stopping()
        await supervisor.stop()
    finally:
        wake_socket.close(loop)
        store.close()
    log.info("stopped")
    return 0
