"""The GSM modem: AT transport, framing, protocol, family profiles, simulator and service.

Layers, one per file (bottom up): ``transport`` (a pyserial port and its reader
thread) -> ``framing`` (bytes to lines and the ``> `` prompt, pure) ->
``protocol`` (one AT command in flight, responses told from URCs by context)
-> ``modem`` (what a GSM modem does: SIM, network, send/list/delete SMS) ->
``service`` (the daemon part: health, recovery, outbox and inbox).
"""
