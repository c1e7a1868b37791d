"""MQTT sync with the central system: store and forward, nothing lost (see sync/PROTOCOL.md)."""
