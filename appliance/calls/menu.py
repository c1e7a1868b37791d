"""Voice menus (IVR): the TOML format, its validation, and the menu state machine.

A site's menu is one TOML file named by ``line.menu`` (empty: the embedded
default menu of INTERFACES §5, :data:`appliance.calls.default_menu.DEFAULT_MENU`).
The format follows FreeSWITCH's ``ivr.conf.xml`` and Asterisk's
``Background()``/``WaitExten()``; see docs/MENU.md::

    [menu]
    root = "main"                 # the first menu
    languages = ["en", "fi"]      # languages with prompts (texts or recorded files)
    prompts_dir = "prompts"       # recorded WAVs: <prompts_dir>/<lang>/<prompt>.wav (relative to this file)
    timeout = 7.0                 # seconds to wait for a key after a prompt
    inter_digit_timeout = 3.0     # seconds between the digits of a longer entry ("12")
    max_failures = 2              # invalid entries before on_max_failures
    max_timeouts = 2              # timeouts before on_max_failures
    on_max_failures = "desk"      # an action (below)

    [menus.main]
    greet_long = "main_long"      # prompt names
    greet_short = "main_short"
    invalid = "invalid"
    timeout = "timeout"
    [menus.main.keys]
    "1" = { action = "play", prompt = "info" }
    "2" = "voicemail"
    "9" = { action = "submenu", menu = "results" }

    [texts.en]                    # what espeak-ng says where no recorded WAV exists
    main_long = "Welcome ..."

Actions: ``play`` (a prompt, then back to the menu, or ``then = "hangup"``),
``voicemail``, ``survey``, ``desk``, ``repeat``, ``submenu`` (``menu``), ``back``
(to the parent menu), ``hangup`` (optional ``prompt`` first).

:class:`MenuSession` is pure (no I/O): the call flow feeds it keys and timeouts and
it answers with a :class:`Step` (prompts to play, an action to run, or wait).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.errors import ConfigError

ACTIONS = ("play", "voicemail", "survey", "desk", "repeat", "submenu", "back", "hangup")
KEY_RE = re.compile(r"^[0-9*#]{1,4}$")
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LANG_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
MAX_MENUS = 50
MAX_TEXT = 2000

MENU_KEYS = {"root", "languages", "prompts_dir", "timeout", "inter_digit_timeout", "max_failures",
             "max_timeouts", "on_max_failures", "terminator"}
LEVEL_KEYS = {"greet_long", "greet_short", "invalid", "timeout", "keys"}
ACTION_KEYS = {"action", "prompt", "menu", "then"}


@dataclass(frozen=True)
class Action:
    kind: str
    prompt: str | None = None
    menu: str | None = None
    then: str = "menu"  # after play: back to the menu, or hangup


@dataclass(frozen=True)
class MenuLevel:
    name: str
    greet_long: str
    greet_short: str
    invalid: str | None
    timeout_prompt: str | None
    keys: dict[str, Action]


@dataclass(frozen=True)
class MenuConfig:
    """A validated menu: levels, prompt texts per language, timings."""

    root: str
    levels: dict[str, MenuLevel]
    languages: tuple[str, ...]
    texts: dict[str, dict[str, str]]
    prompts_dir: Path | None
    timeout: float = 7.0
    inter_digit_timeout: float = 3.0
    max_failures: int = 2
    max_timeouts: int = 2
    on_max_failures: Action = field(default_factory=lambda: Action("desk"))
    terminator: str = "#"
    source: str = "embedded default"

    def prompt_names(self) -> set[str]:
        """Every prompt the menu itself names (not the flow's own prompts)."""
        names: set[str] = set()
        for level in self.levels.values():
            names.update(p for p in (level.greet_long, level.greet_short, level.invalid, level.timeout_prompt) if p)
            names.update(a.prompt for a in level.keys.values() if a.prompt)
        return names

    def language_for(self, wanted: str | None, fallback: str) -> str:
        """The caller's language when the menu has it (``fi-FI`` -> ``fi``), else the fallback."""
        for cand in (wanted, fallback):
            if not cand:
                continue
            low = cand.lower()
            if low in self.languages:
                return low
            base = low.split("-")[0]
            if base in self.languages:
                return base
        return self.languages[0]


def _err(key: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"line.menu: {key}", value, allowed)


def _num(table: dict[str, Any], key: str, default: float, lo: float, hi: float, where: str) -> float:
    v = table.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
        raise _err(f"{where}.{key}", v, f"a number of seconds {lo}-{hi}")
    return float(v)


def _int(table: dict[str, Any], key: str, default: int, lo: int, hi: int, where: str) -> int:
    v = table.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise _err(f"{where}.{key}", v, f"an integer {lo}-{hi}")
    return v


def _name(v: Any, key: str) -> str:
    if not isinstance(v, str) or not NAME_RE.match(v):
        raise _err(key, v, "a prompt name: 1-64 letters, digits, '_' or '-'")
    return v


def _action(raw: Any, key: str) -> Action:
    if isinstance(raw, str):
        raw = {"action": raw}
    if not isinstance(raw, dict):
        raise _err(key, raw, f'an action name or a table {{action = ...}}; actions: {", ".join(ACTIONS)}')
    unknown = set(raw) - ACTION_KEYS
    if unknown:
        raise _err(f"{key}.{sorted(unknown)[0]}", raw[sorted(unknown)[0]],
                   f"unknown key; an action has {', '.join(sorted(ACTION_KEYS))}")
    kind = raw.get("action")
    if kind not in ACTIONS:
        raise _err(f"{key}.action", kind, f"one of {', '.join(ACTIONS)}")
    prompt = _name(raw["prompt"], f"{key}.prompt") if "prompt" in raw else None
    if kind == "play" and prompt is None:
        raise _err(f"{key}.prompt", None, "a prompt name (a play action needs one)")
    menu = raw.get("menu")
    if kind == "submenu":
        if not isinstance(menu, str):
            raise _err(f"{key}.menu", menu, "the name of a menu under [menus] (a submenu action needs one)")
    elif menu is not None:
        raise _err(f"{key}.menu", menu, "only a submenu action names a menu")
    then = raw.get("then", "menu")
    if then not in ("menu", "hangup"):
        raise _err(f"{key}.then", then, "menu or hangup")
    return Action(kind, prompt, menu, then)


def parse_menu(data: dict[str, Any], *, base_dir: Path | None = None, source: str = "embedded default") -> MenuConfig:
    """Validate a parsed menu TOML; raises ConfigError naming the key."""
    unknown_top = set(data) - {"menu", "menus", "texts"}
    if unknown_top:
        k = sorted(unknown_top)[0]
        raise _err(k, data[k], "unknown section; a menu file has [menu], [menus.<name>] and [texts.<lang>]")
    head = data.get("menu", {})
    if not isinstance(head, dict):
        raise _err("menu", head, "a [menu] table")
    for k in head:
        if k not in MENU_KEYS:
            raise _err(f"menu.{k}", head[k], f"unknown key; [menu] has {', '.join(sorted(MENU_KEYS))}")
    langs = head.get("languages", ["en"])
    if not isinstance(langs, list) or not langs or not all(isinstance(x, str) and LANG_RE.match(x) for x in langs):
        raise _err("menu.languages", langs, 'a non-empty list of language codes, e.g. ["en", "fi"]')
    languages = tuple(x.lower() for x in langs)
    prompts_dir: Path | None = None
    if "prompts_dir" in head:
        pd = head["prompts_dir"]
        if not isinstance(pd, str) or not pd:
            raise _err("menu.prompts_dir", pd, "a directory path (relative to the menu file)")
        prompts_dir = Path(pd) if Path(pd).is_absolute() or base_dir is None else base_dir / pd
        if not prompts_dir.is_dir():
            raise _err("menu.prompts_dir", pd, f"an existing directory ({prompts_dir} is not one)")
    terminator = head.get("terminator", "#")
    if terminator not in ("#", "*", ""):
        raise _err("menu.terminator", terminator, '"#", "*" or "" (none)')

    menus = data.get("menus")
    if not isinstance(menus, dict) or not menus:
        raise _err("menus", menus, "at least one [menus.<name>] table")
    if len(menus) > MAX_MENUS:
        raise _err("menus", f"{len(menus)} menus", f"at most {MAX_MENUS} menus")
    levels: dict[str, MenuLevel] = {}
    for mname, raw in menus.items():
        where = f"menus.{mname}"
        if not NAME_RE.match(mname):
            raise _err(where, mname, "a menu name: 1-64 letters, digits, '_' or '-'")
        if not isinstance(raw, dict):
            raise _err(where, raw, "a table")
        for k in raw:
            if k not in LEVEL_KEYS:
                raise _err(f"{where}.{k}", raw[k], f"unknown key; a menu has {', '.join(sorted(LEVEL_KEYS))}")
        if "greet_long" not in raw:
            raise _err(f"{where}.greet_long", None, "a prompt name (every menu needs a greeting)")
        greet_long = _name(raw["greet_long"], f"{where}.greet_long")
        greet_short = _name(raw.get("greet_short", greet_long), f"{where}.greet_short")
        invalid = _name(raw["invalid"], f"{where}.invalid") if "invalid" in raw else None
        timeout_prompt = _name(raw["timeout"], f"{where}.timeout") if "timeout" in raw else None
        keys_raw = raw.get("keys")
        if not isinstance(keys_raw, dict) or not keys_raw:
            raise _err(f"{where}.keys", keys_raw, 'a table of keys, e.g. "1" = { action = "play", prompt = "info" }')
        keys: dict[str, Action] = {}
        for key, araw in keys_raw.items():
            if not KEY_RE.match(key) or (terminator and terminator in key[1:]):
                raise _err(f"{where}.keys.{key}", key, "1-4 of the keys 0-9, * and # (the terminator only alone)")
            keys[key] = _action(araw, f"{where}.keys.{key}")
        levels[mname] = MenuLevel(mname, greet_long, greet_short, invalid, timeout_prompt, keys)
    for level in levels.values():
        for key, act in level.keys.items():
            if act.kind == "submenu" and act.menu not in levels:
                raise _err(f"menus.{level.name}.keys.{key}.menu", act.menu,
                           f"one of the menus defined: {', '.join(sorted(levels))}")
    root = head.get("root", "main" if "main" in levels else next(iter(levels)))
    if root not in levels:
        raise _err("menu.root", root, f"one of the menus defined: {', '.join(sorted(levels))}")

    on_max = _action(head.get("on_max_failures", "desk"), "menu.on_max_failures")
    if on_max.kind in ("submenu", "back", "repeat"):
        raise _err("menu.on_max_failures.action", on_max.kind, "play, voicemail, survey, desk or hangup")

    texts_raw = data.get("texts", {})
    if not isinstance(texts_raw, dict):
        raise _err("texts", texts_raw, "[texts.<lang>] tables of prompt = text")
    texts: dict[str, dict[str, str]] = {}
    for lang, table in texts_raw.items():
        if lang not in languages:
            raise _err(f"texts.{lang}", lang, f"one of menu.languages ({', '.join(languages)})")
        if not isinstance(table, dict):
            raise _err(f"texts.{lang}", table, "a table of prompt = text")
        for pname, text in table.items():
            _name(pname, f"texts.{lang}.{pname}")
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
                raise _err(f"texts.{lang}.{pname}", text, f"a text of 1-{MAX_TEXT} characters")
        texts[lang] = dict(table)

    config = MenuConfig(
        root=root, levels=levels, languages=languages, texts=texts, prompts_dir=prompts_dir,
        timeout=_num(head, "timeout", 7.0, 1.0, 60.0, "menu"),
        inter_digit_timeout=_num(head, "inter_digit_timeout", 3.0, 0.5, 20.0, "menu"),
        max_failures=_int(head, "max_failures", 2, 1, 10, "menu"),
        max_timeouts=_int(head, "max_timeouts", 2, 1, 10, "menu"),
        on_max_failures=on_max, terminator=terminator, source=source,
    )
    # every prompt the menu names must be speakable in every language: a text or a recorded file
    for lang in languages:
        for pname in sorted(config.prompt_names()):
            has_text = pname in texts.get(lang, {})
            has_file = prompts_dir is not None and (prompts_dir / lang / f"{pname}.wav").is_file()
            if not (has_text or has_file):
                raise _err(f"texts.{lang}.{pname}", None,
                           f"a text, or a recorded file {lang}/{pname}.wav under menu.prompts_dir")
    return config


def load_menu(path: str | None) -> MenuConfig:
    """The menu named by ``line.menu`` (empty or None: the embedded default)."""
    if not path:
        from appliance.calls.default_menu import DEFAULT_MENU

        return parse_menu(tomllib.loads(DEFAULT_MENU))
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError("line.menu", path, "an existing, readable TOML menu file") from None
    except OSError as err:
        raise ConfigError("line.menu", path, f"a readable file ({err.strerror})") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError("line.menu", path, f"valid TOML ({err})") from None
    return parse_menu(data, base_dir=p.parent, source=str(p))


# -- the state machine -----------------------------------------------------


@dataclass(frozen=True)
class Step:
    """What the flow does next: play ``prompts`` (barge-in on), then run ``action`` or wait for a key."""

    prompts: tuple[str, ...] = ()
    action: Action | None = None
    wait: bool = False  # wait for a key after the prompts
    partial: bool = False  # wait with the inter-digit timeout (an entry has begun)


class MenuSession:
    """One caller's walk through a menu: keys and timeouts in, :class:`Step` out."""

    def __init__(self, menu: MenuConfig) -> None:
        self.menu = menu
        self.stack: list[str] = [menu.root]
        self.failures = 0
        self.timeouts = 0
        self.buffer = ""
        self.path: list[str] = [menu.root]  # for the call record's detail

    @property
    def level(self) -> MenuLevel:
        return self.menu.levels[self.stack[-1]]

    def start(self) -> Step:
        return Step((self.level.greet_long,), wait=True)

    def resume(self) -> Step:
        """Back in the menu after an action (short greeting)."""
        self.buffer = ""
        return Step((self.level.greet_short,), wait=True)

    def on_key(self, key: str) -> Step:
        """A key the caller pressed (deduplicated by the flow)."""
        keys = self.level.keys
        if key == self.menu.terminator and self.buffer:
            entry, self.buffer = self.buffer, ""
            return self._entry(entry)
        entry = self.buffer + key
        longer = any(k.startswith(entry) and k != entry for k in keys)
        if longer:
            self.buffer = entry
            return Step(wait=True, partial=True)
        self.buffer = ""
        return self._entry(entry)

    def on_timeout(self) -> Step:
        """No key within the timeout (or the inter-digit timeout, with an entry begun)."""
        if self.buffer:
            entry, self.buffer = self.buffer, ""
            return self._entry(entry)
        self.timeouts += 1
        if self.timeouts >= self.menu.max_timeouts:
            return self._max_failures()
        prompts = tuple(p for p in (self.level.timeout_prompt, self.level.greet_short) if p)
        return Step(prompts, wait=True)

    def _max_failures(self) -> Step:
        self.failures = self.timeouts = 0
        self.path.append(f"max_failures:{self.menu.on_max_failures.kind}")
        return Step(action=self.menu.on_max_failures)

    def _entry(self, entry: str) -> Step:
        action = self.level.keys.get(entry)
        if action is None:
            self.failures += 1
            self.path.append(f"invalid:{entry}")
            if self.failures >= self.menu.max_failures:
                return self._max_failures()
            prompts = tuple(p for p in (self.level.invalid, self.level.greet_short) if p)
            return Step(prompts, wait=True)
        self.failures = self.timeouts = 0
        self.path.append(entry)
        if action.kind == "repeat":
            return Step((self.level.greet_long,), wait=True)
        if action.kind == "submenu":
            assert action.menu is not None
            self.stack.append(action.menu)
            return Step((self.level.greet_long,), wait=True)
        if action.kind == "back":
            if len(self.stack) > 1:
                self.stack.pop()
            return Step((self.level.greet_short,), wait=True)
        if action.kind == "play" and action.then == "menu":
            assert action.prompt is not None
            return Step((action.prompt, self.level.greet_short), wait=True)
        return Step(action=action)
