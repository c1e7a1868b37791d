"""Voice menus: the TOML format is validated naming the key; the state machine walks like FreeSWITCH/Asterisk."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from appliance.calls.default_menu import DEFAULT_MENU
from appliance.calls.menu import MenuSession, load_menu, parse_menu
from appliance.errors import ConfigError
from tests.helpers import run_cli

SITE_MENU = """
[menu]
languages = ["en"]
timeout = 5
inter_digit_timeout = 2
max_failures = 3
[menus.main]
greet_long = "hello"
invalid = "bad"
[menus.main.keys]
"1" = { action = "play", prompt = "info" }
"12" = "voicemail"
"9" = { action = "submenu", menu = "results" }
"#" = { action = "hangup", prompt = "bye" }
[menus.results]
greet_long = "results"
[menus.results.keys]
"1" = { action = "play", prompt = "info", then = "hangup" }
"8" = "back"
[texts.en]
hello = "Hello"
bad = "Bad key"
info = "Info"
bye = "Bye"
results = "Results"
"""


def test_default_menu_is_interfaces_section_5() -> None:
    menu = load_menu("")
    keys = menu.levels[menu.root].keys
    assert {k: a.kind for k, a in keys.items()} == {
        "1": "play", "2": "voicemail", "3": "survey", "0": "desk", "*": "repeat"}
    assert set(menu.languages) == {"en", "fi", "sv", "zh"}
    assert menu.on_max_failures.kind == "desk" and menu.max_failures == 2 and menu.max_timeouts == 2
    assert menu.language_for("fi-FI", "en") == "fi" and menu.language_for("de", "sv") == "sv"
    assert menu.language_for(None, "de") == "en"


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda d: d["menu"].update(timeout=0), "line.menu: menu.timeout"),
        (lambda d: d["menu"].update(colour="blue"), "line.menu: menu.colour"),
        (lambda d: d["menus"]["main"]["keys"].update({"5": "dance"}), "line.menu: menus.main.keys.5.action"),
        (lambda d: d["menus"]["main"]["keys"].update({"ab": "repeat"}), "line.menu: menus.main.keys.ab"),
        (lambda d: d["menus"]["main"]["keys"].update({"7": {"action": "submenu", "menu": "nope"}}),
         "line.menu: menus.main.keys.7.menu"),
        (lambda d: d["menus"]["main"]["keys"].update({"7": {"action": "play"}}), "line.menu: menus.main.keys.7.prompt"),
        (lambda d: d["texts"]["en"].pop("info"), "line.menu: texts.en.info"),
        (lambda d: d["menus"]["main"].pop("greet_long"), "line.menu: menus.main.greet_long"),
        (lambda d: d["menu"].update(languages=[]), "line.menu: menu.languages"),
        (lambda d: d["menu"].update(root="x"), "line.menu: menu.root"),
    ],
)
def test_bad_menus_name_the_key(edit, key: str) -> None:  # type: ignore[no-untyped-def]
    data = tomllib.loads(SITE_MENU)
    edit(data)
    with pytest.raises(ConfigError) as err:
        parse_menu(data)
    assert err.value.key == key


def test_recorded_prompt_files_replace_texts(tmp_path: Path) -> None:
    (tmp_path / "prompts" / "en").mkdir(parents=True)
    data = tomllib.loads(SITE_MENU)
    del data["texts"]["en"]["info"]
    with pytest.raises(ConfigError):
        parse_menu(data, base_dir=tmp_path)
    data["menu"]["prompts_dir"] = "prompts"
    (tmp_path / "prompts" / "en" / "info.wav").write_bytes(b"RIFF")
    menu = parse_menu(data, base_dir=tmp_path)
    assert menu.prompts_dir == tmp_path / "prompts"


def test_walk_with_timeouts_invalid_keys_submenu_and_multi_digit() -> None:
    menu = parse_menu(tomllib.loads(SITE_MENU))
    s = MenuSession(menu)
    assert s.start().prompts == ("hello",)
    step = s.on_key("1")  # "1" is also the start of "12": wait with the inter-digit timeout
    assert step.partial and step.wait and not step.prompts
    step = s.on_timeout()  # no second digit: "1" it is
    assert step.prompts == ("info", "hello") and step.wait
    assert s.on_key("1").partial
    assert s.on_key("2").action.kind == "voicemail"  # type: ignore[union-attr]
    assert s.on_key("1").partial
    assert s.on_key("#").prompts[0] == "info"  # the terminator ends the entry at once
    assert s.on_key("5").prompts == ("bad", "hello")
    assert s.on_key("9").prompts == ("results",)
    assert s.level.name == "results"
    assert s.on_key("8").prompts == ("hello",)
    assert s.level.name == "main"
    assert s.on_key("9").prompts == ("results",)
    assert s.on_key("1").action.then == "hangup"  # type: ignore[union-attr]


def test_two_timeouts_or_two_invalid_keys_go_to_the_desk() -> None:
    menu = load_menu(None)
    s = MenuSession(menu)
    s.start()
    assert s.on_timeout().prompts == ("timeout", "main_short")
    assert s.on_timeout().action.kind == "desk"  # type: ignore[union-attr]
    s = MenuSession(menu)
    s.start()
    assert s.on_key("7").prompts == ("invalid", "main_short")
    assert s.on_key("1").prompts == ("info", "main_short")  # a valid key resets the count
    assert s.on_key("8").prompts == ("invalid", "main_short")
    assert s.on_key("9").action.kind == "desk"  # type: ignore[union-attr]
    assert s.on_key("*").prompts == ("main_long",)


def test_default_menu_text_parses_standalone() -> None:
    assert tomllib.loads(DEFAULT_MENU)["menu"]["root"] == "main"


def test_bad_menu_file_stops_the_daemon_with_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "menu.toml"
    bad.write_text(SITE_MENU.replace('"9" = { action = "submenu", menu = "results" }', '"9" = "fly"'))
    out = run_cli(tmp_path, "run", APPLIANCE_LINE__MENU=str(bad), APPLIANCE_LINE__DRIVER="sim",
                  APPLIANCE_MODEM__DRIVER="none", APPLIANCE_WEB__LISTEN="127.0.0.1:1")
    assert out.returncode == 2, out.stderr
    assert "menus.main.keys.9.action" in out.stderr
