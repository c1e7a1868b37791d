"""Talk-off: no false DTMF digits (or tones) on speech and music.

Real recordings when installed (Debian: asterisk-core-sounds-{en,es,fr,it,ru}-wav, about
2.2 h of recorded IVR prompts by human speakers, and asterisk-moh-opsound-wav, 19 min of
music on hold); espeak-ng speech in many voices and generated music always. Each corpus
is also played 12 dB hot (clipping) and pitched up/down, as a receptionist's voice over
an IVR prompt may be.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import digits_of

from appliance.dsp.chain import LineDsp
from appliance.dsp.testsignals import (
    espeak_corpus,
    gain,
    real_music,
    real_speech,
    synthetic_music,
    talkoff_variants,
)

TEXT = (
    "Good morning, you have reached the laboratory reception. Your sample results are ready. "
    "Please hold, all our nurses are busy. Press one for appointments, two for results, "
    "three for the reception. Opening hours are from seven thirty to four, Friday until two. "
    "Bring your referral and your identity card. The fasting samples are taken before ten. "
)


def test_recorded_speech() -> None:
    speech = real_speech()
    if not speech:
        pytest.skip("asterisk-core-sounds-*-wav are not installed")
    assert len(speech) / 16000 / 3600 > 1.0  # hours
    assert digits_of(speech) == ""
    assert digits_of(gain(speech, 12)) == ""


def test_music_on_hold() -> None:
    music = real_music()
    if not music:
        pytest.skip("asterisk-moh-opsound-wav is not installed")
    for name, variant in talkoff_variants(music):
        assert digits_of(variant) == "", name


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_espeak_speech() -> None:
    speech = espeak_corpus(
        TEXT * 6, voices=("en", "en+f4", "fi", "sv+f3", "de", "zh"), pitches=("20", "80"), words_per_take=160
    )
    assert len(speech) / 16000 > 600  # seconds
    found = {name: digits_of(variant) for name, variant in talkoff_variants(speech)}
    assert sum(map(len, found.values())) <= 1, found


def test_generated_music() -> None:
    for name, variant in talkoff_variants(synthetic_music(600)):
        assert digits_of(variant) == "", name


def test_chain_quiet_on_speech_and_music() -> None:
    pcm = real_speech(900) + real_music(300)
    if not pcm:
        pytest.skip("asterisk sound packages are not installed")
    dsp = LineDsp(8000)
    assert dsp.feed(pcm) + dsp.flush() == []
