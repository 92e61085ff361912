"""Spoken cues that never hold up the frame loop.

The speech engine runs in its own PROCESS, not a thread: pyttsx3's
`runAndWait()` can hang or never return on some engines, and the espeak driver
keeps global C-library state that is not thread-safe. A hung thread can neither
be killed nor safely replaced by a second engine in the same process, whereas a
process can be killed and respawned with a clean library. The worker is a fresh
interpreter (`python -m neckcoach.io.voice`, like multiprocessing's spawn
context) so it never inherits the camera, OpenGL or MediaPipe state, but it is
started directly rather than through multiprocessing so it never re-imports
the caller's main script (spawn would re-run an unguarded demo script). Commands
and events are JSON lines on its stdin and on a private copy of its stdout; a
reader thread per worker turns the events into a queue (a thread, not a
non-blocking pipe: Windows pipes cannot be made non-blocking before Python 3.12).

The caller-facing side is a plain priority queue kept in the caller's process:
`say()` and `tick()` only touch that queue, drain the event queue and write a
command line the worker is always reading (at most one cue is outstanding per
worker, so the pipe never fills), so they return in well under a millisecond
whatever the engine does.
Stale-cue logic uses only the caller's timestamps (`now_t_s`); the watchdog
alone reads a monotonic clock, because an engine hang is a wall-clock fact.

A safety warning cuts off lower-priority speech by killing the worker, not by
`engine.stop()`: with pyttsx3 2.99's espeak driver, `stop()` blocks until the
current sentence has played out, leaves the player running, and can leave
`runAndWait()` stuck; the audio itself comes from an `aplay` child that
outlives its parent. So on POSIX each worker gets its own process group and an
interrupt SIGKILLs the whole group (a syscall, safe on the frame loop); Windows
has no process groups to kill, and needs none: SAPI 5 speaks from inside the
worker, so terminating the worker process silences it. A warm spare worker,
started in the background, speaks the warning at once instead of after a
0.1-0.3 s interpreter start.

The speech driver is chosen per platform (`speech_drivers`): SAPI 5 on Windows,
NSSpeechSynthesizer (then AVSpeechSynthesizer) on macOS, eSpeak NG elsewhere;
when none starts, the message says what to install (`speech_engine_hint`).
"""

from __future__ import annotations

import _thread
import base64
import contextlib
import json
import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

log = logging.getLogger(__name__)

PRIORITY_INFO = 0
PRIORITY_GUIDANCE = 10
PRIORITY_SAFETY = 100

EngineFactory = Callable[[], Any]

# A worker in its own process group can be killed together with its audio player (POSIX).
_PROCESS_GROUPS = hasattr(os, "killpg")
_CREATE_NEW_PROCESS_GROUP = 0x00000200  # Windows process creation flags (winbase.h)
_CREATE_NO_WINDOW = 0x08000000

# pyttsx3 driver names, best first, by sys.platform prefix; anything else has eSpeak.
_DRIVERS = {"win32": ("sapi5",), "darwin": ("nsss", "avspeech")}
_ENGINE_HINTS = {
    "win32": "Windows speaks through SAPI 5: reinstall NeckCoach so pyttsx3 brings pywin32 and comtypes, "
             "and check that a voice is installed (Settings > Time & language > Speech)",
    "darwin": "macOS speaks through pyobjc: reinstall NeckCoach so pyttsx3 brings pyobjc "
              "(pip install pyobjc)",
}
_ESPEAK_HINT = "install eSpeak NG (Debian/Ubuntu: sudo apt install espeak-ng; Fedora: sudo dnf install espeak-ng)"


def speech_drivers(platform: str = sys.platform) -> tuple[str, ...]:
    """The pyttsx3 drivers to try on `platform` (a sys.platform value), best first."""
    return _DRIVERS.get(platform, ("espeak",))


def speech_engine_hint(platform: str = sys.platform) -> str:
    """What to install when no speech driver starts on `platform`."""
    return _ENGINE_HINTS.get(platform, _ESPEAK_HINT)


def worker_spawn_options(platform: str = sys.platform) -> dict[str, Any]:
    """`subprocess.Popen` options that keep a speech worker apart from the terminal.

    POSIX: a new session, so Ctrl+C in the terminal does not reach it (the app
    closes it) and `_kill` can signal its whole process group. Windows: no
    console (none flashes up, and Ctrl+C in the app's console does not reach it)
    in a new process group.
    """
    if platform == "win32":
        return {"creationflags": _CREATE_NEW_PROCESS_GROUP | _CREATE_NO_WINDOW}
    return {"start_new_session": True}


def _background(fn: Callable[..., None], *args: Any) -> None:
    """Run `fn(*args)` on a new (daemon-like) thread without waiting for it.

    `threading.Thread.start()` waits until the new thread has run, which took
    up to 45 ms here with another busy Python thread; this call stays < 0.2 ms.
    """
    _thread.start_new_thread(fn, args)


def _validate(rate_wpm: float, volume: float) -> None:
    if not 40 <= rate_wpm <= 500:
        raise ValueError(f"rate_wpm must be in [40, 500] words per minute, got {rate_wpm!r}")
    if not 0.0 <= volume <= 1.0:
        raise ValueError(f"volume must be in [0, 1], got {volume!r}")


def _default_engine(platform: str = sys.platform) -> Any:
    """The platform's speech engine: each of its drivers in turn, the first that starts."""
    import pyttsx3

    failures = []
    for driver in speech_drivers(platform):
        try:
            return pyttsx3.init(driver)
        except Exception as exc:
            failures.append(f"{driver}: {type(exc).__name__}: {exc}")
    raise RuntimeError("; ".join(failures))


def _configure(engine: Any, rate_wpm: float, volume: float, voice: str | None) -> str:
    """Apply the options; an unknown voice falls back to the engine default
    (returned as a warning text) rather than silencing the coach."""
    engine.setProperty("rate", int(rate_wpm))
    engine.setProperty("volume", float(volume))
    if voice:
        try:
            engine.setProperty("voice", voice)
        except Exception as exc:
            return f"voice {voice!r} not available ({exc}); using the default voice"
    return ""


def _engine_still_speaking(engine: Any) -> bool:
    """True while pyttsx3's espeak driver is still synthesising/playing.

    Its `runAndWait()` returns as soon as synthesis is queued (espeak-ng runs
    AUDIO_OUTPUT_RETRIEVAL asynchronously), so completion is read from the
    driver's own flag. Engines without that flag are taken at their word.
    """
    driver = getattr(getattr(engine, "proxy", None), "_driver", None)
    return bool(getattr(driver, "_speaking", False))


def _worker_main(cmd_in: Any, evt_out: Any, factory: EngineFactory | None,
                 rate_wpm: float, volume: float, voice: str | None) -> None:
    """Worker body: a speech thread speaks while the main thread reads commands,
    so end-of-input (the caller has gone) ends the worker even if the engine hangs.
    """
    lock = threading.Lock()

    def emit(kind: str, payload: Any) -> None:
        with lock:
            evt_out.write(json.dumps([kind, payload]) + "\n")
            evt_out.flush()

    try:
        engine = (factory or _default_engine)()
        voice_warning = _configure(engine, rate_wpm, volume, voice)
    except Exception as exc:  # any failure means "no speech here"
        emit("init_failed", f"{type(exc).__name__}: {exc}")
        return
    emit("ready", voice_warning)
    speak_q: queue.Queue = queue.Queue()

    def speak_loop() -> None:
        while True:
            item = speak_q.get()
            if item is None:
                return
            cue_id, text = item
            try:
                engine.say(text)
                engine.runAndWait()
                while _engine_still_speaking(engine):
                    time.sleep(0.02)
                emit("done", cue_id)
            except Exception as exc:
                emit("error", f"{type(exc).__name__}: {exc}")

    threading.Thread(target=speak_loop, daemon=True).start()
    for line in cmd_in:
        cmd = json.loads(line)
        if cmd[0] == "say":
            speak_q.put((cmd[1], cmd[2]))
    speak_q.put(None)


def _worker_entry() -> None:
    """`python -m neckcoach.io.voice`: read the spec line, then serve commands."""
    evt_out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # pyttsx3's espeak driver prints "Audio saved to ..." per cue
    spec = json.loads(sys.stdin.readline())
    try:
        factory = pickle.loads(base64.b64decode(spec["factory"])) if spec["factory"] else None
    except Exception as exc:
        evt_out.write(json.dumps(["init_failed", f"engine factory: {exc}"]) + "\n")
        evt_out.flush()
        return
    _worker_main(sys.stdin, evt_out, factory, spec["rate_wpm"], spec["volume"], spec["voice"])
    os._exit(0)  # do not wait for a speech thread stuck in a hung engine


@dataclass(order=True)
class _Cue:
    sort_key: tuple[int, int]
    text: str
    priority: int
    expires_t_s: float | None
    kind: str


class Voice:
    """Non-blocking speech with priorities, expiry and duplicate collapsing.

    Rules: the highest priority queued cue is spoken next (FIFO within a
    priority); a cue of priority >= `interrupt_priority` (safety) drops queued
    lower-priority guidance, which would be confusing after a warning, and cuts
    off a lower-priority utterance in progress, which is listed in
    `interrupted` and not retried; equal priorities never cut each other off;
    `tick(now)` drops cues whose `expires_t_s` has passed; a new cue of a kind
    already queued replaces it. If the engine cannot start, voice turns off
    with one warning; if it crashes or hangs it is restarted up to
    `max_restarts` times, then voice turns off with one warning. The app keeps
    its on-screen cues. `spare_worker=False` saves the idle spare process at
    the price of a slower interrupt (the warning waits for a fresh worker).
    """

    def __init__(self, rate_wpm: float = 150, volume: float = 1.0, voice: str | None = None,
                 engine_factory: EngineFactory | None = None, *,
                 interrupt_priority: int = PRIORITY_SAFETY, hang_timeout_s: float = 8.0,
                 startup_timeout_s: float = 20.0, max_restarts: int = 2,
                 spare_worker: bool = True) -> None:
        _validate(rate_wpm, volume)
        if hang_timeout_s <= 0:
            raise ValueError(f"hang_timeout_s must be > 0 seconds, got {hang_timeout_s!r}")
        if startup_timeout_s <= 0:
            raise ValueError(f"startup_timeout_s must be > 0 seconds, got {startup_timeout_s!r}")
        if max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0, got {max_restarts!r}")
        if not isinstance(spare_worker, bool):
            raise ValueError(f"spare_worker must be True or False, got {spare_worker!r}")
        self.rate_wpm = rate_wpm
        self.volume = volume
        self.voice = voice
        self.interrupt_priority = interrupt_priority
        self.hang_timeout_s = hang_timeout_s
        self.startup_timeout_s = startup_timeout_s
        self.max_restarts = max_restarts
        self._factory = engine_factory
        self._pending: list[_Cue] = []
        self._seq = 0
        self._speaking: _Cue | None = None
        self._speaking_since = 0.0
        self._ready = False
        self._started_at = 0.0
        self._restarts = 0
        self._proc: _Worker | None = None
        self._restarting = False
        self._closed = False
        self._voice_warned = False
        self._spawn_error = ""
        self._now_t_s = float("-inf")  # latest caller time seen by tick()
        self._lock = threading.Lock()  # guards the hand-over of the spare worker
        self._spare: _Worker | None = None
        self._spare_spawning = False
        self._spare_failed = not spare_worker
        self.available = True
        self.status_message = "voice starting"
        self.spoken: list[str] = []
        self.interrupted: list[str] = []
        self.dropped_stale = 0
        self._start_worker()

    @classmethod
    def from_options(cls, options: Any, **kwargs: Any) -> "Voice":
        """Build from a routine's VoiceOptions (rate_wpm, volume, voice)."""
        return cls(rate_wpm=getattr(options, "rate_wpm", 150), volume=getattr(options, "volume", 1.0),
                   voice=getattr(options, "voice", None), **kwargs)

    # -- caller API -------------------------------------------------------
    def say(self, text: str, priority: int = PRIORITY_GUIDANCE,
            expires_t_s: float | None = None, kind: str = "") -> None:
        """Queue `text`; returns at once and never raises."""
        try:
            if not self.available or not text:
                return
            kind = kind or text
            if self._speaking is not None and self._speaking.kind == kind \
                    and self._speaking.text == text:
                return
            self._pending = [c for c in self._pending if c.kind != kind]
            if priority >= self.interrupt_priority:
                self._pending = [c for c in self._pending if c.priority >= priority]
            self._seq += 1
            self._pending.append(_Cue((-priority, self._seq), text, priority, expires_t_s, kind))
            self._pending.sort()
            self._pump()
        except Exception as exc:  # the frame loop must never see a voice error
            log.debug("voice.say failed: %s", exc)

    def tick(self, now_t_s: float) -> None:
        """Drop cues stale at `now_t_s` (caller's time base) and feed the worker."""
        try:
            if not self.available:
                return
            self._now_t_s = now_t_s
            self._pump()
        except Exception as exc:
            log.debug("voice.tick failed: %s", exc)

    @property
    def busy(self) -> bool:
        """True while a cue is being spoken or waits in the queue."""
        return self.available and (self._speaking is not None or bool(self._pending))

    @property
    def pending_texts(self) -> list[str]:
        return [c.text for c in self._pending]

    @property
    def spare_ready(self) -> bool:
        """True when a started spare worker can take over at once on an interrupt."""
        return self._spare is not None

    def close(self) -> None:
        """Silence and stop the workers; bounded to a few seconds at worst."""
        self._closed = True
        self._pending.clear()
        old, self._proc = self._proc, None
        _retire(old, self._take_spare())

    def __enter__(self) -> "Voice":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # -- internals --------------------------------------------------------
    def _start_worker(self, old: Any = None) -> None:
        """Spawn the worker from a helper thread: spawning and reaping take
        10-20 ms, which the frame loop must not pay."""
        self._ready = False
        self._speaking = None
        self._restarting = True
        _background(self._respawn, old)

    def _spawn_process(self) -> _Worker:
        """Start one worker apart from the terminal and hand it the engine spec."""
        factory = (base64.b64encode(pickle.dumps(self._factory)).decode()
                   if self._factory is not None else "")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        proc = subprocess.Popen(
            [sys.executable, "-m", "neckcoach.io.voice"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, close_fds=True,
            **worker_spawn_options())
        worker = _Worker(proc)
        try:
            spec = {"factory": factory, "rate_wpm": self.rate_wpm, "volume": self.volume,
                    "voice": self.voice}
            worker.send(spec)
        except Exception:
            _retire(worker)
            raise
        return worker

    def _respawn(self, old: Any) -> None:
        _retire(old)
        try:
            proc = self._spawn_process()
        except Exception as exc:
            self._spawn_error = f"{type(exc).__name__}: {exc}"
            return
        if self._closed:
            _retire(proc)
            return
        self._proc = proc
        self._started_at = time.monotonic()
        self._restarting = False

    def _ensure_spare(self, old: Any = None) -> None:
        """Reap `old` and start a spare worker, both on a helper thread."""
        wanted = not (self._spare_failed or self._spare_spawning or self._spare is not None
                      or self._closed or not self.available)
        if not wanted and old is None:
            return
        self._spare_spawning = self._spare_spawning or wanted
        _background(self._spawn_spare, old, wanted)

    def _spawn_spare(self, old: Any, wanted: bool) -> None:
        _retire(old)
        if not wanted:
            return
        proc = None
        try:
            proc = self._spawn_process()
            ready = _await_ready(proc, self.startup_timeout_s)
        except Exception:
            ready = False
        with self._lock:
            self._spare_spawning = False
            if not ready:
                self._spare_failed = True  # interrupts fall back to a fresh respawn
            elif not self._closed and self.available:
                self._spare, proc = proc, None
        _retire(proc)

    def _take_spare(self) -> _Worker | None:
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.poll() is not None:
            _retire(spare)
            return None
        return spare

    def _replace_worker(self) -> None:
        """Kill the current worker with its audio now; the spare takes over at
        once, or a fresh worker starts in the background when there is none."""
        old, self._proc = self._proc, None
        _kill(old)
        self._speaking = None
        spare = self._take_spare()
        if spare is None:
            self._start_worker(old)
            return
        self._proc, self._ready = spare, True
        self._started_at = time.monotonic()
        self._ensure_spare(old)

    def _interrupt(self) -> None:
        self.interrupted.append(self._speaking.text)
        del self.interrupted[:-200]
        log.debug("voice: %r cut off by %r", self._speaking.text, self._pending[0].text)
        self._replace_worker()

    def _send(self, cmd: tuple) -> None:
        if self._proc is None:
            return
        with contextlib.suppress(Exception):  # a dead worker: the watchdog's job
            self._proc.send(list(cmd))

    def _disable(self, message: str) -> None:
        self.available = False
        self.status_message = message
        self._pending.clear()
        log.warning("%s", message)
        old, self._proc = self._proc, None
        spare = self._take_spare()
        _kill(old)
        _kill(spare)
        _background(_retire, old, spare)

    def _restart(self, reason: str) -> None:
        if self._restarts >= self.max_restarts:
            self._disable(f"Voice disabled after {reason}; cues stay on screen.")
            return
        self._restarts += 1
        log.info("voice worker restarting (%s)", reason)
        self._replace_worker()

    def _drain_events(self) -> None:
        for kind, payload in self._proc.events():
            if kind == "ready":
                self._ready = True
                self.status_message = "voice ready"
                self._ensure_spare()
                if payload and not self._voice_warned:
                    self._voice_warned = True
                    self.status_message = f"voice ready; {payload}"
                    log.warning("%s", payload)
            elif kind == "init_failed":
                self._disable(f"No speech engine available ({payload}); {speech_engine_hint()}; "
                              f"cues stay on screen.")
                return
            elif kind in ("done", "error"):
                if self._speaking is not None and kind == "done":
                    self.spoken.append(self._speaking.text)
                    del self.spoken[:-200]  # a recent history is enough; sessions are long
                self._speaking = None

    def _drop_stale(self) -> None:
        now = self._now_t_s
        before = len(self._pending)
        self._pending = [c for c in self._pending if c.expires_t_s is None or c.expires_t_s >= now]
        self.dropped_stale += before - len(self._pending)

    def _pump(self) -> None:
        self._drop_stale()
        if self._spawn_error:
            self._disable(f"Voice disabled: could not start the speech process "
                          f"({self._spawn_error}); cues stay on screen.")
            return
        if self._restarting or self._proc is None:
            return
        self._drain_events()
        if not self.available or self._proc is None:
            return
        now = time.monotonic()
        if not self._ready:
            if self._proc.poll() is not None:
                self._restart(f"the speech engine exited during start-up "
                              f"(code {self._proc.returncode})")
            elif now - self._started_at > self.startup_timeout_s:
                self._restart("the speech engine did not start")
            return
        if self._speaking is not None:
            if self._proc.poll() is not None:
                self._restart("the speech engine crashed")
            elif now - self._speaking_since > self._timeout_for(self._speaking.text):
                self._restart("the speech engine hung")
            elif self._outranked():
                self._interrupt()
            else:
                return
            if not (self.available and self._ready and self._proc is not None):
                return  # a fresh worker is starting in the background
        if self._pending:
            cue = self._pending.pop(0)
            self._speaking = cue
            self._speaking_since = now
            self._send(("say", cue.sort_key[1], cue.text))

    def _outranked(self) -> bool:
        """A queued safety cue outranks the cue being spoken (never its equal)."""
        top = self._pending[0] if self._pending else None
        return (top is not None and top.priority >= self.interrupt_priority
                and top.priority > self._speaking.priority)

    def _timeout_for(self, text: str) -> float:
        # ~6 characters per word; allow three times the nominal speaking time
        return self.hang_timeout_s + 3.0 * 60.0 * len(text) / 6.0 / self.rate_wpm


class _Worker:
    """One speech process and a reader thread that queues its JSON-line events."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        _background(self._read)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    def poll(self) -> int | None:
        return self.proc.poll()

    def send(self, message: Any) -> None:
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def events(self) -> list[tuple[str, Any]]:
        """The events received so far, without waiting."""
        out = []
        with contextlib.suppress(queue.Empty):
            while True:
                out.append(self._events.get_nowait())
        return out

    def next_event(self, timeout_s: float) -> tuple[str, Any] | None:
        with contextlib.suppress(queue.Empty):
            return self._events.get(timeout=timeout_s)
        return None

    def _read(self) -> None:
        """Reader thread: ends at end of file, when the worker exits or is killed."""
        with contextlib.suppress(Exception):
            for line in self.proc.stdout:
                with contextlib.suppress(ValueError):
                    kind, payload = json.loads(line)
                    self._events.put((kind, payload))
        with contextlib.suppress(Exception):
            self.proc.stdout.close()


def _kill(worker: _Worker | None) -> None:
    """Kill a worker at once, so whatever it is saying stops.

    POSIX: SIGKILL to its process group, so an `aplay` it started falls silent
    too; only a not-yet-reaped worker is signalled, because until it is reaped
    its pid (the group id) cannot belong to anyone else. Windows (no process
    groups): terminate the process, which holds the SAPI 5 voice.
    """
    if worker is None or worker.returncode is not None:
        return
    with contextlib.suppress(OSError):
        if _PROCESS_GROUPS:
            os.killpg(worker.pid, signal.SIGKILL)
        else:
            worker.proc.kill()


def _retire(*workers: _Worker | None) -> None:
    """Kill workers (if still running) and reap them; runs off the frame loop."""
    for worker in workers:
        if worker is None:
            continue
        _kill(worker)
        with contextlib.suppress(Exception):
            worker.proc.wait(timeout=2.0)
        with contextlib.suppress(Exception):
            worker.proc.stdin.close()


def _await_ready(worker: _Worker, timeout_s: float) -> bool:
    """Wait (on a helper thread) until a worker's engine is up; False if it fails."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        event = worker.next_event(0.05)
        if event is not None:
            return event[0] == "ready"
        if worker.poll() is not None:
            return False
    return False


def synthesise_to_file(text: str, path: str | Path, rate_wpm: float = 150,
                       voice: str | None = None, volume: float = 1.0) -> Path:
    """Render `text` to a WAV file with pyttsx3 (for tests and the demo's cue file).

    Raises RuntimeError with the reason when no engine is available or nothing
    was written.
    """
    _validate(rate_wpm, volume)
    if not text:
        raise ValueError("text must be a non-empty string, got ''")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        out.unlink()
    try:
        import pyttsx3

        engine = pyttsx3.init()
    except Exception as exc:
        raise RuntimeError(f"no speech engine available: {type(exc).__name__}: {exc}") from exc
    _configure(engine, rate_wpm, volume, voice)
    with contextlib.redirect_stdout(open(os.devnull, "w")):
        engine.save_to_file(text, str(out))
        engine.runAndWait()
        deadline = time.monotonic() + 30.0
        while _engine_still_speaking(engine) and time.monotonic() < deadline:
            time.sleep(0.01)
    if not out.exists() or out.stat().st_size <= 44:
        raise RuntimeError(f"speech engine wrote no audio to {out}")
    return out


def wav_stats(path: str | Path) -> tuple[float, float]:
    """(duration_s, rms as a fraction of full scale) of a 16-bit PCM WAV."""
    import numpy as np

    with wave.open(str(path), "rb") as w:
        n = w.getnframes()
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(n), dtype=np.int16).astype(np.float64)
    rms = float(np.sqrt(np.mean(data ** 2)) / 32768.0) if data.size else 0.0
    return n / float(rate), rms


if __name__ == "__main__":
    _worker_entry()
