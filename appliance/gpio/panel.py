"""Lights, buzzer and button on GPIO pins (gpiozero), driven by plain states.

A device edge: it knows pins, not alerts or calls. The wiring tells it
``show(alert=..., line=...)``; it calls ``on_button`` when the button is pressed.

- status LED: steady on when all is well, blinking while an alert is open;
- call LED: blinking while the line rings, steady while a caller waits for the desk;
- buzzer: beeps while the line rings or a caller waits, until the button silences
  it (for that call: a new ringing beeps again);
- button: silences the buzzer and asks the wiring to acknowledge the alerts.

A pin of ``-1`` means "not fitted". gpiozero's pin factory is passed in, so the
tests drive gpiozero's MockFactory pins exactly as the real ones are driven.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

BLINK_ON_S, BLINK_OFF_S = 0.25, 0.25
BEEP_ON_S, BEEP_OFF_S = 0.2, 0.8
BUTTON_BOUNCE_S = 0.05
NOISY_LINE_STATES = ("ringing", "waiting_for_desk")


@dataclass(frozen=True)
class Pins:
    status_led: int = -1
    call_led: int = -1
    buzzer: int = -1
    button: int = -1

    @property
    def any(self) -> bool:
        return any(p >= 0 for p in (self.status_led, self.call_led, self.buzzer, self.button))


class Panel:
    """The lights, buzzer and button (see the module docstring)."""

    def __init__(self, pins: Pins, pin_factory: Any = None, on_button: Callable[[], None] | None = None) -> None:
        from gpiozero import LED, Button, Buzzer

        kw = {"pin_factory": pin_factory} if pin_factory is not None else {}
        self.status_led = LED(pins.status_led, **kw) if pins.status_led >= 0 else None
        self.call_led = LED(pins.call_led, **kw) if pins.call_led >= 0 else None
        self.buzzer = Buzzer(pins.buzzer, **kw) if pins.buzzer >= 0 else None
        self.button = Button(pins.button, bounce_time=BUTTON_BOUNCE_S, **kw) if pins.button >= 0 else None
        self.on_button = on_button
        self.silenced = False
        self._alert: bool | None = None
        self._line: str | None = None
        self._lock = threading.Lock()
        if self.button is not None:
            self.button.when_pressed = self._pressed

    def _pressed(self) -> None:
        with self._lock:
            self.silenced = True
            if self.buzzer is not None:
                self.buzzer.off()
        log.info("panel button pressed: buzzer silenced, alerts acknowledged")
        if self.on_button is not None:
            self.on_button()

    def show(self, *, alert: bool, line: str) -> None:
        """Set the lights and buzzer for an open alert (or none) and the line's state."""
        with self._lock:
            if alert != self._alert and self.status_led is not None:
                if alert:
                    self.status_led.blink(BLINK_ON_S, BLINK_OFF_S)
                else:
                    self.status_led.on()
            self._alert = alert
            if line != self._line:
                if line not in NOISY_LINE_STATES or self._line not in NOISY_LINE_STATES:
                    self.silenced = False  # a new call: beep again
                if self.call_led is not None:
                    if line == "ringing":
                        self.call_led.blink(BLINK_ON_S, BLINK_OFF_S)
                    elif line == "waiting_for_desk":
                        self.call_led.on()
                    else:
                        self.call_led.off()
                if self.buzzer is not None:
                    if line in NOISY_LINE_STATES and not self.silenced:
                        self.buzzer.beep(BEEP_ON_S, BEEP_OFF_S)
                    else:
                        self.buzzer.off()
            self._line = line

    def close(self) -> None:
        for device in (self.status_led, self.call_led, self.buzzer, self.button):
            if device is not None:
                device.close()
