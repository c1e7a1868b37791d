"""The box's lights, buzzer and button (gpiozero); see :mod:`appliance.gpio.panel`."""
