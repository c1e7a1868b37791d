"""Prompts: built with espeak-ng in every language, chimes without it, and never heard as a key."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from appliance.calls.menu import load_menu
from appliance.calls.prompts import PromptLibrary, Tts, beep, chime, hold_audio
from appliance.dsp import wav
from appliance.dsp.chain import LineDsp
from appliance.dsp.generator import dtmf_digits


def _digits(pcm: bytes) -> list[dict]:
    dsp = LineDsp(8000)
    return [e for e in dsp.feed(pcm) + dsp.flush() if e["type"] in ("dtmf", "tone")]


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> PromptLibrary:
    lib = PromptLibrary(load_menu(None), tmp_path_factory.mktemp("prompts"))
    assert lib.tts.available, "espeak-ng and sox are installed by scripts/system-deps.sh"
    counts = lib.build_all()
    assert counts["chime"] == 0 and counts["speech"] == len(lib.all_names()) * 4
    return lib


def test_every_built_prompt_in_every_language_gives_no_digit_and_no_tone(library: PromptLibrary) -> None:
    seconds = 0.0
    for lang in library.menu.languages:
        for name in sorted(library.all_names()):
            pcm = library.pcm(name, lang)
            seconds += len(pcm) / 16000
            assert len(pcm) > 8000, (lang, name)  # real speech, not an empty file
            assert _digits(pcm) == [], (lang, name)
    for pcm in (chime(), beep(), library.pcm("scale_hint", "fi", min=1, max=5),
                library.say("How satisfied were you with the service today?", "en")):
        assert _digits(pcm) == []
    assert seconds > 300  # four languages of real prompts were checked


def test_the_receiver_still_hears_keys_over_a_prompt(library: PromptLibrary) -> None:
    """The check above can fail: a key mixed into a prompt is found."""
    import array

    prompt = array.array("h", library.pcm("main_long", "en")[: 8000 * 2 * 3])
    keys = array.array("h", dtmf_digits("5", 8000))
    for i, v in enumerate(keys):
        prompt[4000 + i] = max(-32768, min(32767, prompt[4000 + i] // 4 + v))
    assert [e["digit"] for e in _digits(prompt.tobytes()) if e["type"] == "dtmf"] == ["5"]


def test_built_prompts_are_cached_on_disk(library: PromptLibrary) -> None:
    files = sorted(library.cache_dir.glob("*.wav"))
    assert len(files) >= len(library.all_names()) * 4
    _, rate = wav.read_pcm(files[0])
    assert rate == 8000


def test_without_espeak_the_menu_plays_chimes_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    lib = PromptLibrary(load_menu(None), tmp_path, tts=Tts(espeak="", sox=""))
    with caplog.at_level(logging.WARNING):
        counts = lib.build_all()
    assert counts["speech"] == 0 and counts["chime"] > 0
    assert lib.pcm("main_long", "zh") == chime()
    assert sum("espeak-ng missing" in r.getMessage() for r in caplog.records) == 1  # one line, not one per prompt


def test_hold_audio_from_a_folder_or_built_in(tmp_path: Path, library: PromptLibrary) -> None:
    assert len(hold_audio("", library, "en")) == 1
    (tmp_path / "a.wav").write_bytes(b"not a wav")
    wav.write_wav(tmp_path / "b.wav", chime() * 3, 8000)
    wav.write_wav(tmp_path / "c.wav", chime() * 3 + chime(), 16000)
    clips = hold_audio(str(tmp_path), library, "en")
    assert len(clips) == 2 and clips[0] == chime() * 3
