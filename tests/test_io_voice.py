"""Voice: real espeak-ng synthesis, non-blocking behaviour with slow/hung engines,
priority preemption, stale dropping and the missing-engine path.

Fake engines live at module level so the spawn-context worker can import them.
"""

from __future__ import annotations

import functools
import logging
import shutil
import statistics
import threading
import time
from pathlib import Path

import pytest

from neckcoach.io.voice import PRIORITY_GUIDANCE, PRIORITY_SAFETY, Voice, synthesise_to_file, wav_stats


class RecordingEngine:
    """Speaks for `say_s` seconds (interruptible by stop) and logs to a file."""

    def __init__(self, log_path: str, say_s: float = 0.3) -> None:
        self.log_path = log_path
        self.say_s = say_s
        self._text = ""
        self._stop = threading.Event()

    def setProperty(self, name, value):
        self._write(f"prop:{name}={value}")

    def say(self, text):
        self._text = text

    def runAndWait(self):
        self._stop.clear()
        self._write(f"start:{self._text}")
        stopped = self._stop.wait(self.say_s)
        self._write(f"{'stopped' if stopped else 'end'}:{self._text}")

    def stop(self):
        self._stop.set()

    def _write(self, line):
        with open(self.log_path, "a") as f:
            f.write(line + "\n")


class SlowEngine:
    """Every utterance takes 2 s, like a long sentence."""

    def setProperty(self, name, value):
        pass

    def say(self, text):
        pass

    def runAndWait(self):
        time.sleep(2.0)


class HungEngine:
    """runAndWait never returns."""

    def setProperty(self, name, value):
        pass

    def say(self, text):
        pass

    def runAndWait(self):
        threading.Event().wait()


def broken_engine():
    raise RuntimeError("This means you probably do not have eSpeak or eSpeak-ng installed!")


def _pump_until(voice: Voice, cond, timeout_s: float = 20.0) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        voice.tick(time.monotonic() - t0)
        if cond():
            return True
        time.sleep(0.02)
    return False


def _log_lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text().splitlines() if not ln.startswith("prop:")] \
        if path.exists() else []


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_synthesise_to_file_writes_real_speech(tmp_path):
    wav = synthesise_to_file("Turn your head slowly to the left, and hold.", tmp_path / "cue.wav")
    duration_s, rms = wav_stats(wav)
    print(f"synthesised WAV: {duration_s:.2f} s, RMS {rms:.4f} of full scale")
    assert 1.0 < duration_s < 10.0
    assert rms > 0.01
    slow = synthesise_to_file("Turn your head slowly to the left, and hold.",
                              tmp_path / "slow.wav", rate_wpm=90)
    assert wav_stats(slow)[0] > duration_s * 1.2  # rate is honoured


@pytest.mark.parametrize("engine_cls, hang_timeout_s", [(SlowEngine, 4.0), (HungEngine, 1.0)])
def test_say_and_tick_never_block_the_frame_loop(engine_cls, hang_timeout_s, caplog):
    caplog.set_level(logging.WARNING, logger="neckcoach.io.voice")
    voice = Voice(engine_factory=engine_cls, hang_timeout_s=hang_timeout_s, max_restarts=1)
    times = []
    t0 = time.monotonic()
    try:
        for i in range(300):
            now = i / 30.0
            c0 = time.perf_counter()
            voice.say(f"cue {i % 7}", PRIORITY_SAFETY if i % 50 == 0 else PRIORITY_GUIDANCE,
                      now + 1.0, kind=f"k{i % 3}")
            voice.tick(now)
            times.append(time.perf_counter() - c0)
            time.sleep(max(0.0, t0 + (i + 1) / 30.0 - time.monotonic()))
        elapsed = time.monotonic() - t0
    finally:
        voice.close()
    ranked = sorted(times)
    print(f"{engine_cls.__name__}: max {ranked[-1] * 1e3:.2f} ms, 3rd largest "
          f"{ranked[-3] * 1e3:.2f} ms, median {statistics.median(times) * 1e3:.3f} ms, "
          f"loop {elapsed:.2f} s, available={voice.available}")
    # Target is < 5 ms per call; on a loaded 2-core box the OS scheduler and the GIL
    # switch interval (5 ms) alone can add a few ms to a single call, so the bound is
    # on all but the two worst calls, and the worst call must stay far below one
    # 2-s utterance (a blocking say() would take >= 2 s).
    assert ranked[-3] < 0.005
    assert ranked[-1] < 0.05
    assert elapsed < 300 / 30.0 + 0.5
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    if engine_cls is HungEngine:
        assert not voice.available and len(warnings) == 1
        assert "hung" in voice.status_message
    else:
        assert voice.available and not warnings
        assert 2 <= len(voice.spoken) <= 6  # about one 2-s utterance per 2 s of loop


def test_safety_cue_preempts_guidance_and_stops_current(tmp_path):
    log_path = tmp_path / "engine.log"
    voice = Voice(engine_factory=functools.partial(RecordingEngine, str(log_path), 1.0))
    try:
        assert _pump_until(voice, lambda: voice.status_message == "voice ready")
        voice.say("turn left", PRIORITY_GUIDANCE, None, kind="start")
        assert _pump_until(voice, lambda: "start:turn left" in _log_lines(log_path))
        voice.say("now hold", PRIORITY_GUIDANCE, None, kind="hold")
        voice.say("slowly back", PRIORITY_GUIDANCE, None, kind="release")
        voice.say("Stop. Too fast.", PRIORITY_SAFETY, None, kind="too_fast")
        assert voice.pending_texts == ["Stop. Too fast."]
        assert _pump_until(voice, lambda: not voice.busy)
    finally:
        voice.close()
    lines = _log_lines(log_path)
    assert lines == ["start:turn left", "stopped:turn left",
                     "start:Stop. Too fast.", "end:Stop. Too fast."]


def test_priority_order_stale_drop_and_duplicate_collapse(tmp_path):
    log_path = tmp_path / "engine.log"
    voice = Voice(engine_factory=functools.partial(RecordingEngine, str(log_path), 0.2))
    try:
        assert _pump_until(voice, lambda: voice.status_message == "voice ready")
        voice.say("first", PRIORITY_GUIDANCE, None, kind="a")
        voice.say("info low", 0, 5.0, kind="info")
        voice.say("rep 2", PRIORITY_GUIDANCE, None, kind="count")
        voice.say("rep 3", PRIORITY_GUIDANCE, None, kind="count")  # collapses "rep 2"
        voice.say("expires soon", PRIORITY_GUIDANCE, 1.0, kind="b")
        voice.tick(1.5)  # caller's clock: "expires soon" is stale now
        assert voice.dropped_stale == 1
        assert voice.pending_texts == ["rep 3", "info low"]
        assert _pump_until(voice, lambda: not voice.busy)
    finally:
        voice.close()
    spoken = [ln.split(":", 1)[1] for ln in _log_lines(log_path) if ln.startswith("start:")]
    assert spoken == ["first", "rep 3", "info low"]
    assert any(ln.startswith("prop:rate=150") for ln in log_path.read_text().splitlines())


def test_missing_engine_reports_once_and_never_raises(caplog):
    caplog.set_level(logging.WARNING, logger="neckcoach.io.voice")
    voice = Voice(engine_factory=broken_engine)
    try:
        assert _pump_until(voice, lambda: not voice.available)
        for i in range(50):
            voice.say("hello", PRIORITY_SAFETY, None, kind="x")
            voice.tick(float(i))
    finally:
        voice.close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "No speech engine available" in voice.status_message
    assert "eSpeak" in voice.status_message


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_real_pyttsx3_worker_speaks_a_cue():
    voice = Voice(rate_wpm=220)
    try:
        voice.say("Good.", PRIORITY_GUIDANCE, None, kind="ok")
        assert _pump_until(voice, lambda: voice.spoken == ["Good."] or not voice.available)
        assert voice.available, voice.status_message
    finally:
        voice.close()


def test_invalid_arguments_name_the_argument():
    with pytest.raises(ValueError, match="rate_wpm"):
        Voice(rate_wpm=5)
    with pytest.raises(ValueError, match="volume"):
        Voice(volume=1.5)


class PickyEngine(RecordingEngine):
    """Knows no voice by the requested name."""

    def setProperty(self, name, value):
        if name == "voice":
            raise ValueError(f"no voice named {value}")
        super().setProperty(name, value)


def test_unknown_voice_falls_back_to_default_with_one_warning(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="neckcoach.io.voice")
    from neckcoach.routine.model import VoiceOptions

    log_path = tmp_path / "engine.log"
    opts = VoiceOptions(rate_wpm=120, volume=0.5, voice="klingon")
    voice = Voice.from_options(opts, engine_factory=functools.partial(PickyEngine, str(log_path), 0.1))
    try:
        assert _pump_until(voice, lambda: voice.status_message.startswith("voice ready"))
        voice.say("hello", PRIORITY_GUIDANCE, None, kind="x")
        assert _pump_until(voice, lambda: voice.spoken == ["hello"])
    finally:
        voice.close()
    assert voice.available and "klingon" in voice.status_message
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    props = log_path.read_text().splitlines()
    assert "prop:rate=120" in props and "prop:volume=0.5" in props


class CrashingEngine(SlowEngine):
    """The whole worker process dies mid-utterance (e.g. a segfault in the driver)."""

    def runAndWait(self):
        import os

        os._exit(3)


def test_crashing_engine_is_restarted_then_disabled_with_one_message(caplog):
    caplog.set_level(logging.WARNING, logger="neckcoach.io.voice")
    voice = Voice(engine_factory=CrashingEngine, max_restarts=1)
    try:
        for text in ("one", "two", "three"):
            voice.say(text, PRIORITY_GUIDANCE, None, kind=text)
        assert _pump_until(voice, lambda: not voice.available)
        voice.say("after", PRIORITY_SAFETY, None, kind="x")
        voice.tick(100.0)
    finally:
        voice.close()
    assert "crashed" in voice.status_message
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
