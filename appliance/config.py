"""Configuration: one TOML file, embedded defaults, ``APPLIANCE_<SECTION>__<KEY>`` overrides.

Lookup order (INTERFACES.md §1): ``--config PATH``, ``$APPLIANCE_CONFIG``,
``/etc/appliance/appliance.toml``; with none of them the embedded defaults
apply (simulated modem and line, SQLite under ``./appliance-data/`` or
``$APPLIANCE_DATA_DIR``, MQTT off, web page on 127.0.0.1:8080). With a config
file, the keys in :data:`REQUIRED_WITH_FILE` (``modem.driver``, ``line.driver``)
must be given in it or in the environment: a box never runs a simulator because
a key was forgotten.

Every key is declared once below, in a section dataclass, with its type, its
default and what is allowed. :func:`load_config` returns a frozen
:class:`Config` that is passed to the parts that need it; there is no global.
An unknown key or a bad value raises :class:`~appliance.errors.ConfigError`,
whose message names the key, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import socket
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_origin, get_type_hints

from appliance.errors import ConfigError, MissingConfigKey

SYSTEM_CONFIG_PATH = Path("/etc/appliance/appliance.toml")
ENV_PREFIX = "APPLIANCE_"
DEFAULT_DATA_DIR = "appliance-data"
# Keys without a usable default once a config file is used (INTERFACES.md §1).
REQUIRED_WITH_FILE = (("modem", "driver"), ("line", "driver"))

Check = Callable[[Any], bool]


def _key(default: Any, allowed: str, check: Check | None = None, **kw: Any) -> Any:
    """Declare a config key: its default, the text saying what is allowed, a check."""
    meta = {"allowed": allowed, "check": check}
    if callable(default):
        return field(default_factory=default, metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


def _one_of(*choices: str) -> Check:
    return lambda v: v in choices


def _int_range(lo: int, hi: int) -> Check:
    return lambda v: lo <= v <= hi


def _positive(v: float) -> bool:
    return v > 0


def _non_empty(v: str) -> bool:
    return bool(v.strip())


_SITE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TOPIC_PREFIX = re.compile(r"^[^#+\x00]+$")
_QUIET = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
_LISTEN = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


def _valid_timezone(v: str) -> bool:
    try:
        zoneinfo.ZoneInfo(v)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _valid_tone_tables(v: Any) -> bool:
    from appliance.dsp.tone_tables import valid_config  # the format's owner; pure, no C

    return valid_config(v)


def _valid_listen(v: str) -> bool:
    m = _LISTEN.match(v)
    return bool(m) and 0 < int(m.group(2)) < 65536  # type: ignore[union-attr]


def _valid_country(v: str) -> bool:
    import phonenumbers

    return v in phonenumbers.SUPPORTED_REGIONS


def _system_timezone() -> str:
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz and _valid_timezone(tz):
        return tz
    try:
        name = Path("/etc/timezone").read_text().strip()
        if _valid_timezone(name):
            return name
    except OSError:
        pass
    try:
        target = os.readlink("/etc/localtime")
        name = target.split("zoneinfo/", 1)[1]
        if _valid_timezone(name):
            return name
    except (OSError, IndexError):
        pass
    return "UTC"


def _default_site_id() -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", socket.gethostname()) or "appliance"
    return name[:64]


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The directory for the embedded default store: ``$APPLIANCE_DATA_DIR`` or ./appliance-data."""
    environ = os.environ if environ is None else environ
    return Path(environ.get("APPLIANCE_DATA_DIR") or DEFAULT_DATA_DIR)


@dataclass(frozen=True)
class SiteConfig:
    id: str = _key(_default_site_id, "1-64 letters, digits, '_', '.', '-'", lambda v: bool(_SITE_ID.match(v)))
    country: str = _key("FI", "an ISO 3166 alpha-2 region known to libphonenumber, e.g. FI", _valid_country)
    timezone: str = _key(_system_timezone, "an IANA time zone, e.g. Europe/Helsinki", _valid_timezone)
    name: str = _key("", "any text: the lab's name shown on the status page")


@dataclass(frozen=True)
class StorageConfig:
    path: str = _key("", "a file path for the SQLite database", None)
    min_free_mb: int = _key(64, "an integer 1-100000 (MiB kept free on the disk)", _int_range(1, 100000))
    wal_autocheckpoint: int = _key(
        1000, "an integer 100-100000 (WAL pages between checkpoints: SQLite's 1000 by default)",
        _int_range(100, 100000),
    )


@dataclass(frozen=True)
class ModemConfig:
    driver: str = _key("sim", "serial, sim or none", _one_of("serial", "sim", "none"))
    port: str = _key("", "a serial port path or pyserial URL (spy://, socket://, loop://)")
    baudrate: int = _key(115200, "an integer 300-4000000", _int_range(300, 4_000_000))
    pin: str = _key("", "4-8 digits, or empty", lambda v: v == "" or bool(re.fullmatch(r"\d{4,8}", v)))
    sim_profile: str = _key(
        "sim800",
        "sim800, sim7600, ec25 or huawei (the simulated modem's family)",
        _one_of("sim800", "sim7600", "ec25", "huawei"),
    )
    send_interval: float = _key(2.0, "seconds >= 0 between two sends", lambda v: v >= 0)
    delivery_reports: bool = _key(True, "true or false")
    sim_cmgs_delay: float = _key(
        -1.0, "seconds >= 0 the simulated modem takes per send, or -1 for its profile's",
        lambda v: v >= 0 or v == -1,
    )
    sim_auto_report: bool = _key(True, "true or false (the simulated modem reports delivery)")
    sim_random_sms_per_hour: float = _key(
        0.0, "a number 0-3600 (SMS the simulated modem's patients write by themselves)", lambda v: 0 <= v <= 3600
    )
    max_attempts: int = _key(5, "an integer 1-50 (tries of one SMS on temporary errors)", _int_range(1, 50))


@dataclass(frozen=True)
class LineConfig:
    driver: str = _key("sim", "v253, usbbox, sim or none", _one_of("v253", "usbbox", "sim", "none"))
    port: str = _key("", "a serial port path or pyserial URL of the voice modem")
    rings_before_answer: int = _key(4, "an integer 0-20 (0: never answer by itself)", _int_range(0, 20))
    tone_country: str = _key("", "a country code with a call-progress tone table, or empty for site.country")
    record_calls: bool = _key(False, "true or false")
    language: str = _key("en", "a language code such as en, fi, sv", lambda v: bool(re.fullmatch(r"[a-z]{2,3}", v)))
    baudrate: int = _key(115200, "an integer 300-4000000 (voice modem)", _int_range(300, 4_000_000))
    hangup_silence: float = _key(
        20.0, "seconds 3-600 of silence after which the caller is taken as gone", lambda v: 3 <= v <= 600
    )
    usb_vid_pid: str = _key(
        "",
        "VVVV:PPPP in hex (the USB voice box), or empty for the first known model",
        lambda v: v == "" or bool(re.fullmatch(r"[0-9a-fA-F]{4}:[0-9a-fA-F]{4}", v)),
    )
    usb_audio: str = _key("", "the USB box's sound device (an ALSA name such as hw:2,0), or empty to find it")
    sim_speed: float = _key(
        1.0, "a number >= 0: the simulated line's speed (1 real time, 0 as fast as possible)", lambda v: v >= 0
    )
    sim_standard: str = _key(
        "",
        "bell202, v23, dtmf or empty for site.country's (the simulated caller ID)",
        _one_of("", "bell202", "v23", "dtmf"),
    )
    sim_random_calls_per_hour: float = _key(
        0.0, "a number 0-3600 (simulated calls arriving by themselves)", lambda v: 0 <= v <= 3600
    )
    sim_echo_db: float = _key(
        -30.0, "dB -100..0 (echo of the played audio on the simulated line)", lambda v: -100 <= v <= 0
    )
    # the call flow (appliance/calls/): menu, waiting for the desk, voicemail, recordings
    menu: str = _key("", "a path to a TOML voice menu (docs/MENU.md), or empty for the embedded default")
    prompts_dir: str = _key("", "a directory for built prompts, or empty for <data dir>/prompts")
    hold_audio_dir: str = _key("", "a directory of WAV files played to callers waiting for the desk, or empty")
    desk_wait_max: float = _key(90.0, "seconds 10-1800 a caller waits for the desk before voicemail is offered",
                                lambda v: 10 <= v <= 1800)
    voicemail_max_seconds: int = _key(180, "an integer 10-900 (seconds of one voice message)", _int_range(10, 900))
    voicemail_max_silence: float = _key(10.0, "seconds 2-60 of silence that end a voice message",
                                        lambda v: 2 <= v <= 60)
    recordings_dir: str = _key("", "a directory for recordings and voice messages, or empty for <data dir>/recordings")
    recording_retention_days: int = _key(90, "an integer 1-3650 (days recordings are kept)", _int_range(1, 3650))
    recordings_max_mb: int = _key(1000, "an integer 10-1000000 (MiB of recordings kept; oldest deleted first)",
                                  _int_range(10, 1_000_000))
    gsm_call_sms_reply: str = _key("", "the SMS sent back to a voice call on the GSM modem's SIM, or empty for none")


@dataclass(frozen=True)
class MqttConfig:
    enabled: bool = _key(False, "true or false")
    host: str = _key("127.0.0.1", "a host name or address", _non_empty)
    port: int = _key(1883, "an integer 1-65535", _int_range(1, 65535))
    tls: bool = _key(False, "true or false")
    ca: str = _key("", "a path to a CA certificate file, or empty")
    cert: str = _key("", "a path to the client certificate file, or empty")
    key: str = _key("", "a path to the client key file, or empty")
    username: str = _key("", "any text")
    password: str = _key("", "any text")
    topic_prefix: str = _key("lab/v1", "a topic prefix without '#' or '+'", lambda v: bool(_TOPIC_PREFIX.match(v)))
    client_id: str = _key("", "an MQTT client id, or empty for appliance-<site.id>")
    keepalive: int = _key(30, "an integer 5-3600 (seconds)", _int_range(5, 3600))
    protocol: str = _key("auto", "auto, 5 or 3.1.1", _one_of("auto", "5", "3.1.1"))
    inflight: int = _key(300, "an integer 1-10000 (uplink messages in flight)", _int_range(1, 10000))


@dataclass(frozen=True)
class WebConfig:
    listen: str = _key("127.0.0.1:8080", "host:port, e.g. 0.0.0.0:8080", _valid_listen)
    tls: str = _key("auto", "auto (HTTPS unless on loopback), on or off (off only on loopback)",
                    _one_of("auto", "on", "off"))
    cert: str = _key("", "a PEM certificate file for HTTPS, or empty for a self-signed one made at first start")
    key: str = _key("", "the PEM key file of web.cert")
    redirect_listen: str = _key(
        "", "host:port where plain HTTP is answered with a redirect to HTTPS, or empty for none",
        lambda v: v == "" or _valid_listen(v),
    )
    session_hours: float = _key(12.0, "hours a login lasts (0.1-168)", lambda v: 0.1 <= v <= 168)


@dataclass(frozen=True)
class NotificationsConfig:
    quiet_hours: str = _key(
        "21:00-08:00", '"HH:MM-HH:MM" in site.timezone, or "" for none', lambda v: v == "" or bool(_QUIET.match(v))
    )


@dataclass(frozen=True)
class ContactsConfig:
    guardian_age: int = _key(15, "an integer 0-25 (years)", _int_range(0, 25))


def _valid_followup_templates(v: Any) -> bool:
    from appliance.followups.schedule import valid_template_config  # the format's owner; pure

    return valid_template_config(v)


def _valid_campaign_definitions(v: Any) -> bool:
    from appliance.campaigns.segment import valid_definitions  # the format's owner; pure

    return valid_definitions(v)


def _valid_summary_recipients(v: Any) -> bool:
    from appliance.summary.figures import valid_recipients  # the format's owner; pure

    return valid_recipients(v)


@dataclass(frozen=True)
class FollowupsConfig:
    templates: dict[str, Any] = _key(  # noqa: RUF009 - _key returns a dataclasses.field
        dict,
        "a table of templates whose notifications start a follow-up, e.g. [followups.templates.results_ready]"
        " first_after_days = 14, every_days = 7, max_times = 3, hour = 10"
        " (optional minute, reminder = a template name; channel = \"call\" with survey_id = a desk survey"
        " for follow-up calls instead of SMS)",
        _valid_followup_templates,
    )
    poll_interval: float = _key(30.0, "seconds 0.05-3600 between looks for due reminders", lambda v: 0.05 <= v <= 3600)
    day_seconds: int = _key(
        86400, "an integer 1-86400: seconds in a schedule day (less than 86400 only for demos and tests)",
        _int_range(1, 86400),
    )


@dataclass(frozen=True)
class CampaignsConfig:
    rate_per_minute: int = _key(
        10, "an integer 1-6000 (SMS parts a minute; a real modem sends 6-30)", _int_range(1, 6000)
    )
    defined: dict[str, Any] = _key(  # noqa: RUF009 - _key returns a dataclasses.field
        dict,
        "a table of named campaigns, e.g. [campaigns.defined.flu] text = \"...\", segment = {age_min = 65}",
        _valid_campaign_definitions,
    )


@dataclass(frozen=True)
class SummaryConfig:
    time: str = _key("", '"HH:MM" local time of the daily summary, or "" for none',
                     lambda v: v == "" or bool(re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v)))
    recipients: list[Any] = _key(  # noqa: RUF009 - _key returns a dataclasses.field
        list,
        'a list of staff, e.g. [{number = "+358401234567", language = "fi"}] (language en, fi, sv or zh)',
        _valid_summary_recipients,
    )


@dataclass(frozen=True)
class SurveysConfig:
    session_timeout_hours: float = _key(
        72.0, "hours > 0 without a reply after which an SMS survey ends incomplete", _positive
    )


@dataclass(frozen=True)
class SmsConfig:
    price_per_part: float = _key(0.0, "a number >= 0: the operator's price of one SMS part", lambda v: v >= 0)
    currency: str = _key("EUR", "a currency code or symbol shown with costs")
    help_text: str = _key(
        "", "the lab's contact text sent in reply to HELP/INFO/APUA/HJÄLP/帮助 (default: the lab's name)"
    )


def _pin(v: int) -> bool:
    return v == -1 or 0 <= v <= 53


@dataclass(frozen=True)
class GpioConfig:
    status_led: int = _key(-1, "a BCM pin number 0-53, or -1 for none (steady: ok, blinking: an alert)", _pin)
    call_led: int = _key(-1, "a BCM pin number 0-53, or -1 for none (follows ringing and waiting-for-desk)", _pin)
    buzzer: int = _key(-1, "a BCM pin number 0-53, or -1 for none", _pin)
    button: int = _key(-1, "a BCM pin number 0-53, or -1 for none (silences the buzzer, acknowledges alerts)", _pin)


@dataclass(frozen=True)
class LogConfig:
    level: str = _key("info", "debug, info, warning or error", _one_of("debug", "info", "warning", "error"))
    mask_numbers: bool = _key(True, "true or false (mask phone numbers in logs)")


@dataclass(frozen=True)
class DspConfig:
    tones: dict[str, Any] = _key(  # noqa: RUF009 - _key returns a dataclasses.field
        dict,
        "a table of country tone tables, e.g. [dsp.tones.XX] busy = {freqs=[425], cadence=[0.5,0.5]}"
        " (freqs: 1-3 of 40-3900 Hz; cadence: [] or 2-8 on/off seconds of 0.05-10; see docs/DSP.md)",
        _valid_tone_tables,
    )


@dataclass(frozen=True)
class RetentionConfig:
    events_days: int = _key(30, "an integer 1-3650 (days an acknowledged uplink event is kept)", _int_range(1, 3650))
    messages_days: int = _key(
        365, "an integer 1-3650 (days a finished SMS is kept)", _int_range(1, 3650)
    )
    recordings_days: int = _key(90, "an integer 1-3650 (days a call recording is kept)", _int_range(1, 3650))
    recordings_max_mb: int = _key(
        2048, "an integer 1-1000000 (MiB of recordings kept at most; oldest go first)", _int_range(1, 1_000_000)
    )


@dataclass(frozen=True)
class Config:
    """The whole configuration; ``source`` is the file it came from, if any."""

    site: SiteConfig = field(default_factory=SiteConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    modem: ModemConfig = field(default_factory=ModemConfig)
    line: LineConfig = field(default_factory=LineConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    web: WebConfig = field(default_factory=WebConfig)
    notifications: NotificationsConfig = field(default_factory=NotificationsConfig)
    contacts: ContactsConfig = field(default_factory=ContactsConfig)
    surveys: SurveysConfig = field(default_factory=SurveysConfig)
    sms: SmsConfig = field(default_factory=SmsConfig)
    log: LogConfig = field(default_factory=LogConfig)
    gpio: GpioConfig = field(default_factory=GpioConfig)
    dsp: DspConfig = field(default_factory=DspConfig)
    followups: FollowupsConfig = field(default_factory=FollowupsConfig)
    campaigns: CampaignsConfig = field(default_factory=CampaignsConfig)
    summary: SummaryConfig = field(default_factory=SummaryConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    source: str | None = None

    @property
    def db_path(self) -> Path:
        return Path(self.storage.path) if self.storage.path else data_dir() / "appliance.db"

    @property
    def data_dir(self) -> Path:
        """Where the store and the appliance's other files (recordings, sockets) live."""
        return self.db_path.parent

    @property
    def web_host_port(self) -> tuple[str, int]:
        host, _, port = self.web.listen.rpartition(":")
        return host.strip("[]"), int(port)


SECTIONS: dict[str, type] = {
    name: tp for name, tp in get_type_hints(Config).items() if name != "source"
}


def _type_name(tp: Any) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(tp, "a table")


def _coerce(section: str, name: str, tp: Any, raw: Any, from_env: bool, allowed: str) -> Any:
    key = f"{section}.{name}"
    if from_env:
        raw = _parse_env_value(key, tp, raw, allowed)
    base = get_origin(tp) or tp
    if base is float and isinstance(raw, int) and not isinstance(raw, bool):
        raw = float(raw)
    if base is bool and not isinstance(raw, bool):
        raise ConfigError(key, raw, allowed)
    if base is int and (isinstance(raw, bool) or not isinstance(raw, int)):
        raise ConfigError(key, raw, allowed)
    if not isinstance(raw, base):
        raise ConfigError(key, raw, f"{_type_name(base)}: {allowed}")
    return raw


def _parse_env_value(key: str, tp: Any, text: str, allowed: str) -> Any:
    base = get_origin(tp) or tp
    if base is str:
        return text
    if base is bool:
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ConfigError(key, text, allowed)
    if base is int:
        try:
            return int(text.strip(), 10)
        except ValueError:
            raise ConfigError(key, text, allowed) from None
    if base is float:
        try:
            return float(text.strip())
        except ValueError:
            raise ConfigError(key, text, allowed) from None
    try:
        return json.loads(text)
    except ValueError:
        raise ConfigError(key, text, f"JSON: {allowed}") from None


def _build_section(section: str, cls: type, values: Mapping[str, Any], env_keys: set[str]) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    hints = get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for name, raw in values.items():
        f = known.get(name)
        if f is None:
            raise ConfigError(
                f"{section}.{name}", raw, f"unknown key; [{section}] has {', '.join(sorted(known))}"
            )
        allowed = f.metadata["allowed"]
        value = _coerce(section, name, hints[name], raw, name in env_keys, allowed)
        check = f.metadata["check"]
        if check is not None and not check(value):
            raise ConfigError(f"{section}.{name}", value, allowed)
        kwargs[name] = value
    instance = cls(**kwargs)
    for f in dataclasses.fields(cls):  # defaults computed from the machine must pass too
        if f.name not in kwargs and f.metadata["check"] is not None:
            value = getattr(instance, f.name)
            if not f.metadata["check"](value):
                raise ConfigError(f"{section}.{f.name}", value, f.metadata["allowed"])
    return instance


def find_config_file(cli_path: str | None, environ: Mapping[str, str]) -> Path | None:
    """The config file to read, in INTERFACES.md order, or None for embedded defaults."""
    if cli_path:
        return Path(cli_path)
    if environ.get("APPLIANCE_CONFIG"):
        return Path(environ["APPLIANCE_CONFIG"])
    if SYSTEM_CONFIG_PATH.exists():
        return SYSTEM_CONFIG_PATH
    return None


def env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``APPLIANCE_<SECTION>__<KEY>`` variables, as {section: {key: text}}."""
    out: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].partition("__")
        if not section or not key:
            continue
        out.setdefault(section.lower(), {})[key.lower()] = value
    return out


def load_config(cli_path: str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read, merge and validate the configuration. Raises ConfigError naming the key."""
    environ = os.environ if environ is None else environ
    path = find_config_file(cli_path, environ)
    file_values: dict[str, Any] = {}
    if path is not None:
        try:
            with path.open("rb") as fh:
                file_values = tomllib.load(fh)
        except FileNotFoundError:
            raise ConfigError("--config", str(path), "an existing, readable TOML file") from None
        except OSError as err:
            raise ConfigError("--config", str(path), f"a readable file ({err.strerror})") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError("--config", str(path), f"valid TOML ({err})") from None
    overrides = env_overrides(environ)
    sections: dict[str, Any] = {}
    for section in list(file_values) + list(overrides):
        if section not in SECTIONS:
            raw = file_values.get(section, overrides.get(section))
            raise ConfigError(section, raw, f"unknown section; known are {', '.join(SECTIONS)}")
        if section in file_values and not isinstance(file_values[section], dict):
            raise ConfigError(section, file_values[section], "a [section] table")
    for section, cls in SECTIONS.items():
        values = dict(file_values.get(section, {}))
        env = overrides.get(section, {})
        values.update(env)
        sections[section] = _build_section(section, cls, values, set(env))
    if path is not None:
        _require_keys(path, file_values, overrides)
    if not sections["storage"].path:
        default_path = str(data_dir(environ) / "appliance.db")
        sections["storage"] = dataclasses.replace(sections["storage"], path=default_path)
    return Config(source=str(path) if path else None, **sections)


def _require_keys(path: Path, file_values: Mapping[str, Any], overrides: Mapping[str, Any]) -> None:
    for section, key in REQUIRED_WITH_FILE:
        in_file = isinstance(file_values.get(section), dict) and key in file_values[section]
        if not in_file and key not in overrides.get(section, {}):
            field_ = {f.name: f for f in dataclasses.fields(SECTIONS[section])}[key]
            raise MissingConfigKey(
                f"{section}.{key}",
                f"required when a config file is used ({path}): {field_.metadata['allowed']}; "
                f"set it in [{section}] or as {ENV_PREFIX}{section.upper()}__{key.upper()}",
            )


def describe(config: Config) -> dict[str, dict[str, Any]]:
    """The effective configuration as plain data, secrets blanked (for logs and status)."""
    secret = {"password", "pin", "key"}
    out: dict[str, dict[str, Any]] = {}
    for section in SECTIONS:
        values = dataclasses.asdict(getattr(config, section))
        for name in values:
            if name in secret and values[name]:
                values[name] = "***"
        out[section] = values
    return out
