"""Voice: real espeak-ng synthesis, non-blocking behaviour with slow/hung engines,
priority preemption (a safety cue cuts off guidance), stale dropping and the
missing-engine path.

Fake engines live at module level so the spawn-context worker can import them.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

import pytest

from neckcoach.io.voice import PRIORITY_GUIDANCE, PRIORITY_SAFETY, Voice, synthesise_to_file, wav_stats


class RecordingEngine:
    """Speaks for `say_s` seconds and logs each step with its monotonic time
    (system-wide on Linux, so the test can compare it with its own clock)."""

    def __init__(self, log_path: str, say_s: float = 0.3) -> None:
        self.log_path = log_path
        self.say_s = say_s
        self._text = ""

    def setProperty(self, name, value):
        self._write(f"prop:{name}={value}")

    def say(self, text):
        self._text = text

    def runAndWait(self):
        self._write(f"start:{self._text}")
        time.sleep(self.say_s)
        self._write(f"end:{self._text}")

    def _write(self, line):
        with open(self.log_path, "a") as f:
            f.write(f"{line}\t{time.monotonic():.4f}\n")


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


def _log_events(path: Path) -> list[tuple[str, float]]:
    if not path.exists():
        return []
    rows = [ln.rsplit("\t", 1) for ln in path.read_text().splitlines()]
    return [(line, float(t)) for line, t in rows if not line.startswith("prop:")]


def _log_lines(path: Path) -> list[str]:
    return [line for line, _ in _log_events(path)]


def _log_time(path: Path, line: str) -> float:
    return dict(_log_events(path))[line]


class _TimedVoice:
    """Wraps say()/tick() to keep the slowest call, the frame loop's cost."""

    def __init__(self, voice: Voice) -> None:
        self.voice = voice
        self.slowest_s = 0.0

    def say(self, *args, **kwargs):
        t = time.perf_counter()
        self.voice.say(*args, **kwargs)
        self.slowest_s = max(self.slowest_s, time.perf_counter() - t)

    def tick(self, now_t_s):
        t = time.perf_counter()
        self.voice.tick(now_t_s)
        self.slowest_s = max(self.slowest_s, time.perf_counter() - t)

    def pump_until(self, cond, timeout_s: float = 10.0) -> bool:
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout_s:
            self.tick(time.monotonic() - t0)
            if cond():
                return True
            time.sleep(0.005)
        return False


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
    # switch interval (5 ms, while the helper threads spawn and reap workers) can add a
    # few ms to a handful of calls (CI on 9f9e822: 3 of 300 took 6-12 ms), so the bound
    # is on 98 % of the calls, and the worst call must stay far below one hang timeout
    # (1 s) or one 2-s utterance, which is what a blocking say() or tick() would cost.
    assert ranked[-7] < 0.005
    assert ranked[-1] < 0.05
    assert elapsed < 300 / 30.0 + 0.5
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    if engine_cls is HungEngine:
        assert not voice.available and len(warnings) == 1
        assert "hung" in voice.status_message
    else:
        assert voice.available and not warnings
        assert 2 <= len(voice.spoken) <= 6  # about one 2-s utterance per 2 s of loop


def test_safety_cue_preempts_guidance_and_cuts_off_current(tmp_path):
    log_path = tmp_path / "engine.log"
    voice = Voice(engine_factory=functools.partial(RecordingEngine, str(log_path), 1.0))
    try:
        assert _pump_until(voice, lambda: voice.status_message == "voice ready")
        voice.say("turn left", PRIORITY_GUIDANCE, None, kind="start")
        assert _pump_until(voice, lambda: "start:turn left" in _log_lines(log_path))
        voice.say("now hold", PRIORITY_GUIDANCE, None, kind="hold")
        voice.say("slowly back", PRIORITY_GUIDANCE, None, kind="release")
        voice.say("Stop. Too fast.", PRIORITY_SAFETY, None, kind="too_fast")
        assert _pump_until(voice, lambda: not voice.busy)
    finally:
        voice.close()
    # the cut-off worker never logs "end:turn left"; queued guidance is dropped
    assert _log_lines(log_path) == ["start:turn left", "start:Stop. Too fast.",
                                    "end:Stop. Too fast."]
    assert voice.interrupted == ["turn left"]
    assert voice.spoken == ["Stop. Too fast."]


@pytest.mark.parametrize("spare_worker, max_latency_s", [(True, 0.5), (False, 3.0)])
def test_safety_cue_cuts_off_a_long_guidance_sentence_quickly(tmp_path, spare_worker,
                                                             max_latency_s):
    """A 2-s guidance sentence is cut 0.2 s in; with a warm spare the warning
    starts within 0.5 s, without one it waits for a background respawn."""
    log_path = tmp_path / "engine.log"
    voice = Voice(engine_factory=functools.partial(RecordingEngine, str(log_path), 2.0),
                  spare_worker=spare_worker)
    timed = _TimedVoice(voice)
    try:
        assert timed.pump_until(lambda: voice.status_message == "voice ready")
        if spare_worker:
            assert timed.pump_until(lambda: voice.spare_ready)
        timed.say("Turn your head slowly to the left.", PRIORITY_GUIDANCE, None, kind="turn")
        assert timed.pump_until(lambda: len(_log_lines(log_path)) == 1)
        time.sleep(0.2)
        timed.pump_until(lambda: False, timeout_s=0.0)
        queued_at = time.monotonic()
        timed.say("Stop. Too fast.", PRIORITY_SAFETY, None, kind="too_fast")
        assert timed.pump_until(lambda: "start:Stop. Too fast." in _log_lines(log_path))
        latency_s = _log_time(log_path, "start:Stop. Too fast.") - queued_at
        assert timed.pump_until(lambda: not voice.busy)
    finally:
        voice.close()
    print(f"spare_worker={spare_worker}: safety cue started {latency_s * 1e3:.0f} ms after "
          f"say(); slowest say()/tick() {timed.slowest_s * 1e3:.2f} ms")
    assert latency_s < max_latency_s
    assert timed.slowest_s < 0.02  # a blocking call would take the 2-s sentence or a spawn
    assert _log_lines(log_path) == ["start:Turn your head slowly to the left.",
                                    "start:Stop. Too fast.", "end:Stop. Too fast."]
    assert voice.interrupted == ["Turn your head slowly to the left."]
    assert voice.spoken == ["Stop. Too fast."]


@pytest.mark.parametrize("first, second", [
    (PRIORITY_SAFETY, PRIORITY_SAFETY),
    (PRIORITY_GUIDANCE, PRIORITY_GUIDANCE),
    (PRIORITY_SAFETY, PRIORITY_GUIDANCE),
])
def test_equal_or_lower_priority_never_cuts_off(tmp_path, first, second):
    log_path = tmp_path / "engine.log"
    voice = Voice(engine_factory=functools.partial(RecordingEngine, str(log_path), 0.6))
    try:
        assert _pump_until(voice, lambda: voice.status_message == "voice ready")
        assert _pump_until(voice, lambda: voice.spare_ready)
        voice.say("first", first, None, kind="a")
        assert _pump_until(voice, lambda: "start:first" in _log_lines(log_path))
        time.sleep(0.2)
        voice.say("second", second, None, kind="b")
        assert _pump_until(voice, lambda: not voice.busy)
    finally:
        voice.close()
    assert _log_lines(log_path) == ["start:first", "end:first", "start:second", "end:second"]
    assert voice.interrupted == []
    assert voice.spoken == ["first", "second"]


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


def _process_alive(pid: int) -> bool:
    """A killed, not yet reaped process (zombie) counts as gone: it makes no sound."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("espeak-ng") is None,
                    reason="needs Linux /proc and espeak-ng")
def test_real_pyttsx3_guidance_is_cut_off_by_a_safety_cue(tmp_path, monkeypatch):
    """Real pyttsx3 + espeak-ng; only `aplay`, which the espeak driver runs per
    utterance and which engine.stop() cannot silence, is a 1.5-s stand-in
    (no sound card here). The guidance player must die, the warning play next."""
    pytest.importorskip("pyttsx3")
    driver = importlib.util.find_spec("pyttsx3.drivers.espeak")
    if driver is None or "aplay" not in Path(driver.origin).read_text():
        pytest.skip("this pyttsx3 does not play through aplay")
    played_log = tmp_path / "aplay.log"
    player = tmp_path / "bin" / "aplay"
    player.parent.mkdir()
    player.write_text(f'#!/bin/sh\necho "start $$" >> {played_log}\nsleep 1.5\n'
                      f'echo "end $$" >> {played_log}\n')
    player.chmod(0o755)
    monkeypatch.setenv("PATH", f"{player.parent}{os.pathsep}{os.environ['PATH']}")

    def played() -> list[str]:
        return played_log.read_text().splitlines() if played_log.exists() else []

    voice = Voice(rate_wpm=150)
    timed = _TimedVoice(voice)
    try:
        assert timed.pump_until(lambda: voice.spare_ready or not voice.available)
        assert voice.available, voice.status_message
        timed.say("Turn your head slowly to the left, and hold.", PRIORITY_GUIDANCE, None,
                  kind="turn")
        assert timed.pump_until(lambda: len(played()) == 1)
        guidance_pid = int(played()[0].split()[1])
        time.sleep(0.2)
        queued_at = time.monotonic()
        timed.say("Stop. Too fast.", PRIORITY_SAFETY, None, kind="too_fast")
        assert timed.pump_until(lambda: not _process_alive(guidance_pid), timeout_s=2.0)
        cut_s = time.monotonic() - queued_at
        assert timed.pump_until(lambda: len(played()) == 2)
        started_s = time.monotonic() - queued_at
        assert timed.pump_until(lambda: not voice.busy)
    finally:
        voice.close()
    print(f"real driver: guidance player gone {cut_s * 1e3:.0f} ms and warning playing "
          f"{started_s * 1e3:.0f} ms after say(); slowest say()/tick() "
          f"{timed.slowest_s * 1e3:.2f} ms")
    assert cut_s < 0.5 and started_s < 0.5
    safety_pid = int(played()[1].split()[1])
    assert played() == [f"start {guidance_pid}", f"start {safety_pid}", f"end {safety_pid}"]
    assert voice.interrupted == ["Turn your head slowly to the left, and hold."]
    assert voice.spoken == ["Stop. Too fast."]


def test_invalid_arguments_name_the_argument():
    with pytest.raises(ValueError, match="rate_wpm"):
        Voice(rate_wpm=5)
    with pytest.raises(ValueError, match="volume"):
        Voice(volume=1.5)
    with pytest.raises(ValueError, match="spare_worker must be True or False, got 'yes'"):
        Voice(spare_worker="yes")


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
    props = [ln.split("\t")[0] for ln in log_path.read_text().splitlines()]
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
