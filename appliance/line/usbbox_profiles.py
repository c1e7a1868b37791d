"""USB voice-box models: where each keeps hook, ring and line state in its HID reports.

Most boxes sold for call centres speak an undocumented vendor protocol over a HID
interface next to a USB sound card. A profile names the USB id and says, for the
input report, which bit is the ring signal, which shows the line in use by another
phone (the desk phone lifted), which shows loop current, and which output reports
take the line off-hook and put it back. How to find these for a new box and add a
profile is in docs/LINE.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bit:
    byte: int
    mask: int
    active_low: bool = False

    def read(self, report: bytes) -> bool:
        if self.byte >= len(report):
            return False
        on = bool(report[self.byte] & self.mask)
        return not on if self.active_low else on


@dataclass(frozen=True)
class UsbBoxProfile:
    name: str
    vid: int
    pid: int
    description: str
    report_len: int
    ring: Bit
    extension_off_hook: Bit | None  # another phone on the line is off-hook (the desk)
    loop_current: Bit | None  # line current flows while we are off-hook (drops when the far end clears)
    off_hook_report: bytes
    on_hook_report: bytes
    audio_on_hook: bool = True  # the sound card hears the line on-hook (caller ID before answering)
    audio_name: str = ""  # ALSA card name to look for ("" = the card on the same USB device)

    @property
    def vid_pid(self) -> str:
        return f"{self.vid:04x}:{self.pid:04x}"


# The layout of the HID telephony usage page (0x0B) as several boxes expose it in a
# 2-byte report: hook switch (0x20) out, ring (0x9E) and line (0x2A: line busy/in use)
# in. The USB id is a placeholder: set line.usb_vid_pid for a real box with this layout.
HID_TELEPHONY = UsbBoxProfile(
    name="hid-telephony",
    vid=0x0000,
    pid=0x0000,
    description="generic HID telephony page layout (set line.usb_vid_pid)",
    report_len=2,
    ring=Bit(0, 0x01),
    extension_off_hook=Bit(0, 0x02),
    loop_current=Bit(0, 0x04),
    off_hook_report=bytes([0x00, 0x01]),
    on_hook_report=bytes([0x00, 0x00]),
)

# The reference layout the simulated box speaks (a pseudo id from the pid.codes test range).
SIMBOX = UsbBoxProfile(
    name="simbox",
    vid=0x1209,
    pid=0x0001,
    description="the simulated USB line box (tests and demos)",
    report_len=4,
    ring=Bit(1, 0x10),
    extension_off_hook=Bit(1, 0x20),
    loop_current=Bit(1, 0x40),
    off_hook_report=bytes([0x02, 0x01, 0x00, 0x00]),
    on_hook_report=bytes([0x02, 0x00, 0x00, 0x00]),
)

PROFILES: dict[str, UsbBoxProfile] = {p.vid_pid: p for p in (SIMBOX,)}
GENERIC = {HID_TELEPHONY.name: HID_TELEPHONY}


def profile_for(vid: int, pid: int) -> UsbBoxProfile | None:
    return PROFILES.get(f"{vid:04x}:{pid:04x}")
