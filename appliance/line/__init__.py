"""The phone line: one interface (``base.LineDriver``), drivers ``sim``, ``v253``, ``usbbox``."""
