"""Code that differs by platform, each path run here: for real where Linux allows it,
otherwise by simulating Windows or macOS (the platform is an argument, or the
platform's own module is stood in for).

Speech driver (sapi5 / nsss / espeak), stopping a speech worker (process group or
plain process), camera backend (DirectShow / Media Foundation, AVFoundation, V4L2),
data folders, termination signals (SIGTERM and SIGHUP; SIGBREAK on Windows), the
window check and the OpenGL platform.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import types
from pathlib import Path

import cv2
import pytest

from neckcoach.app import demo_clip
from neckcoach.app.runner import SessionLoop
from neckcoach.io import display, history, platforms, sources, voice
from neckcoach.io.records import SessionRecorder
from neckcoach.io.sources import CameraSource, SourceError, camera_backends, open_camera
from neckcoach.routine import load_routine
from tests.conftest import ROUTINES
from tests.test_app_loop import FakeMeasurement, _frames
from tests.test_io_voice import RecordingEngine, _log_lines, _process_alive, _pump_until

# -- speech ---------------------------------------------------------------------------


@pytest.mark.parametrize("platform, drivers, hint", [
    ("win32", ("sapi5",), "SAPI 5"),
    ("darwin", ("nsss", "avspeech"), "pip install pyobjc"),
    ("linux", ("espeak",), "sudo apt install espeak-ng"),
    ("freebsd14", ("espeak",), "eSpeak NG"),
])
def test_speech_driver_and_install_hint_per_platform(platform, drivers, hint):
    assert voice.speech_drivers(platform) == drivers
    assert hint in voice.speech_engine_hint(platform)


def test_default_engine_tries_the_platform_drivers_in_turn(monkeypatch):
    """macOS: NSSpeechSynthesizer first, AVSpeechSynthesizer when it does not start."""
    tried = []

    def init(driver):
        tried.append(driver)
        if driver == "nsss":
            raise ImportError("No module named 'AppKit'")
        if driver == "sapi5":
            raise OSError("no voice")
        return f"engine:{driver}"

    monkeypatch.setitem(sys.modules, "pyttsx3", types.SimpleNamespace(init=init))
    assert voice._default_engine("darwin") == "engine:avspeech"
    assert tried == ["nsss", "avspeech"]
    tried.clear()
    with pytest.raises(RuntimeError, match=r"^sapi5: OSError: no voice$"):
        voice._default_engine("win32")  # Windows: only SAPI 5, and it fails here
    assert tried == ["sapi5"]


def test_no_engine_message_says_what_to_install_here(monkeypatch):
    v = voice.Voice(engine_factory=_broken_engine)
    try:
        assert _pump_until(v, lambda: not v.available)
    finally:
        v.close()
    assert v.status_message == (f"No speech engine available (RuntimeError: no driver started); "
                                f"{voice.speech_engine_hint()}; cues stay on screen.")


def _broken_engine():
    raise RuntimeError("no driver started")


@pytest.mark.parametrize("platform, expected", [
    ("win32", {"creationflags": 0x00000200 | 0x08000000}),  # CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW
    ("darwin", {"start_new_session": True}),
    ("linux", {"start_new_session": True}),
])
def test_speech_worker_is_started_apart_from_the_terminal(platform, expected):
    assert voice.worker_spawn_options(platform) == expected


def test_kill_without_process_groups_terminates_the_worker(monkeypatch):
    """Windows' path (no killpg): the worker process itself is terminated."""
    monkeypatch.setattr(voice, "_PROCESS_GROUPS", False)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    worker = voice._Worker(proc)
    voice._kill(worker)
    assert proc.wait(timeout=5) == -signal.SIGKILL  # Popen.kill: SIGKILL here, TerminateProcess on Windows
    assert worker.events() == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see the old worker die")
def test_safety_cue_cuts_off_speech_without_process_groups(tmp_path, monkeypatch):
    """The whole interrupt path as on Windows: no process group is ever signalled,
    the speaking worker is terminated and the warning is spoken next."""
    monkeypatch.setattr(voice, "_PROCESS_GROUPS", False)

    def no_killpg(*args):
        raise AssertionError("killpg used without process groups")

    monkeypatch.setattr(os, "killpg", no_killpg)
    log_path = tmp_path / "engine.log"
    v = voice.Voice(engine_factory=functools.partial(RecordingEngine, str(log_path), 1.5))
    try:
        assert _pump_until(v, lambda: v.status_message == "voice ready")
        v.say("Turn slowly to the left.", voice.PRIORITY_GUIDANCE, None, kind="turn")
        assert _pump_until(v, lambda: "start:Turn slowly to the left." in _log_lines(log_path))
        speaking_pid = v._proc.pid
        v.say("Stop. Too fast.", voice.PRIORITY_SAFETY, None, kind="too_fast")
        assert _pump_until(v, lambda: not v.busy)
        assert _pump_until(v, lambda: not _process_alive(speaking_pid), timeout_s=5.0)
    finally:
        v.close()
    assert _log_lines(log_path) == ["start:Turn slowly to the left.", "start:Stop. Too fast.", "end:Stop. Too fast."]
    assert v.interrupted == ["Turn slowly to the left."] and v.spoken == ["Stop. Too fast."]


# -- camera ---------------------------------------------------------------------------


@pytest.mark.parametrize("platform, names", [
    ("win32", ["DSHOW", "MSMF", "ANY"]),
    ("darwin", ["AVFOUNDATION", "ANY"]),
    ("linux", ["V4L2", "ANY"]),
])
def test_camera_backends_per_platform(platform, names):
    assert camera_backends(platform) == [(n, getattr(cv2, f"CAP_{n}")) for n in names]


class StubCapture:
    def __init__(self, index, api, opens):
        self.index, self.api, self.opens, self.released = index, api, opens, False

    def isOpened(self):
        return self.opens

    def release(self):
        self.released = True


def test_windows_camera_falls_back_from_directshow_to_media_foundation():
    made = []

    def capture(index, api):
        made.append(StubCapture(index, api, opens=api == cv2.CAP_MSMF))
        return made[-1]

    cap, backend = open_camera(1, "win32", capture)
    assert backend == "MSMF" and cap is made[-1]
    assert [(c.index, c.api, c.released) for c in made] == [(1, cv2.CAP_DSHOW, True), (1, cv2.CAP_MSMF, False)]


@pytest.mark.parametrize("platform, message", [
    ("win32", "camera 2 could not be opened (tried DirectShow, Media Foundation, OpenCV's default): check that "
              "no other program (video calls, the Camera app) is using it and that Settings > Privacy & security > "
              "Camera lets desktop apps use the camera; another camera may have another number (--camera 1)"),
    ("darwin", "camera 2 could not be opened (tried AVFoundation, OpenCV's default): allow camera access for the "
               "app you started NeckCoach from (Terminal, iTerm, VS Code) in System Settings > Privacy & Security > "
               "Camera, and quit other programs using the camera; another camera may have another number "
               "(--camera 1)"),
    ("linux", "camera 2 could not be opened (tried V4L2, OpenCV's default): check that /dev/video2 exists, that "
              "you may read it (the 'video' group) and that no other program is using it; another camera may have "
              "another number (--camera 1)"),
])
def test_no_camera_says_what_to_check_on_each_platform(platform, message):
    def capture(index, api):
        if api == cv2.CAP_ANY:
            raise cv2.error("backend missing")  # a backend absent from the build counts as not opening
        return StubCapture(index, api, opens=False)

    with pytest.raises(SourceError) as err:
        open_camera(2, platform, capture)
    assert str(err.value) == message


def test_camera_source_opens_through_the_platform_backends(monkeypatch):
    from tests.test_io_sources import FakeCapture

    monkeypatch.setattr(sources, "open_camera", lambda index: (FakeCapture(index), "AVFOUNDATION"))
    with CameraSource(0) as cam:
        assert cam.backend == "AVFOUNDATION"
        assert cam.read() is not None


# -- folders --------------------------------------------------------------------------


@pytest.fixture
def no_home(monkeypatch, tmp_path):
    monkeypatch.delenv("NECKCOACH_HOME", raising=False)
    for var in ("XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_data_and_cache_folders_on_linux(no_home):
    assert platforms.data_dir("linux") == no_home / ".local" / "share" / "neckcoach"
    assert platforms.cache_dir("linux") == no_home / ".cache" / "neckcoach"


def test_data_and_cache_folders_on_macos(no_home):
    assert platforms.data_dir("darwin") == no_home / "Library" / "Application Support" / "neckcoach"
    assert platforms.cache_dir("darwin") == no_home / "Library" / "Caches" / "neckcoach"


def test_data_and_cache_folders_on_windows(no_home, monkeypatch):
    """Local (not roaming) AppData, one folder level: no app-author folder around it."""
    import platformdirs.windows

    local = str(no_home / "AppData" / "Local")
    monkeypatch.setattr(platformdirs.windows, "get_win_folder",
                        lambda csidl: {"CSIDL_LOCAL_APPDATA": local}[csidl])
    assert platforms.data_dir("win32") == Path(local) / "neckcoach"
    assert platforms.cache_dir("win32") == Path(local) / "neckcoach" / "Cache"


def test_neckcoach_home_holds_everything_on_every_platform(tmp_path, monkeypatch):
    monkeypatch.setenv("NECKCOACH_HOME", str(tmp_path / "portable"))
    for platform in ("win32", "darwin", "linux"):
        assert platforms.data_dir(platform) == tmp_path / "portable"
        assert platforms.cache_dir(platform) == tmp_path / "portable" / "cache"
    assert history.data_home() == tmp_path / "portable"
    assert demo_clip.cache_dir() == tmp_path / "portable" / "cache" / "demo"


# -- signals --------------------------------------------------------------------------


def test_termination_signals_per_platform():
    assert platforms.termination_signals("win32") == ("SIGBREAK", "SIGTERM")
    assert platforms.termination_signals("darwin") == ("SIGTERM", "SIGHUP")
    assert platforms.termination_signals("linux") == ("SIGTERM", "SIGHUP")


def _windows_signals():
    """Windows' signal module as far as on_termination sees it; SIGBREAK (Ctrl+Break or the
    console window closing) is stood in for by SIGUSR1, which Linux can deliver."""
    return types.SimpleNamespace(SIGBREAK=signal.SIGUSR1, SIGTERM=signal.SIGTERM, signal=signal.signal)


def _session_ended_by(tmp_path, signum, monkeypatch, platform=None):
    if platform is not None:
        from neckcoach.app import runner

        monkeypatch.setattr(runner, "on_termination", lambda handler: platforms.on_termination(
            handler, platform, _windows_signals()))
    routine = load_routine(ROUTINES / "rotation.yaml")
    recorder = SessionRecorder(tmp_path / "s", {"title": routine.title}, index=False)

    def frames():
        for i, item in enumerate(_frames(3)):
            if i == 45:
                os.kill(os.getpid(), signum)
            yield item

    result = SessionLoop(routine, FakeMeasurement(), recorder=recorder).run(frames())
    saved = json.loads((tmp_path / "s" / "session.json").read_text())
    return result.ended_reason, saved["ended_reason"], saved["complete"]


def test_closing_the_terminal_keeps_the_record(tmp_path, monkeypatch):
    before = signal.getsignal(signal.SIGHUP)
    assert _session_ended_by(tmp_path, signal.SIGHUP, monkeypatch) == ("terminated", "terminated", False)
    assert signal.getsignal(signal.SIGHUP) == before


def test_closing_the_console_on_windows_keeps_the_record(tmp_path, monkeypatch):
    before = {s: signal.getsignal(s) for s in (signal.SIGUSR1, signal.SIGTERM, signal.SIGHUP)}
    ended = _session_ended_by(tmp_path, signal.SIGUSR1, monkeypatch, platform="win32")
    assert ended == ("terminated", "terminated", False)
    assert {s: signal.getsignal(s) for s in before} == before  # handlers put back; SIGHUP never touched


def test_no_handlers_are_installed_off_the_main_thread():
    import threading

    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGHUP)}
    restore = []
    worker = threading.Thread(target=lambda: restore.append(platforms.on_termination(print)))
    worker.start()
    worker.join()
    restore[0]()  # nothing to put back, and no error
    assert {s: signal.getsignal(s) for s in before} == before


# -- window and OpenGL ----------------------------------------------------------------


@pytest.mark.parametrize("platform, environ, expected", [
    ("win32", {}, (True, "")),
    ("darwin", {}, (True, "")),
    ("linux", {}, (False, "no display found (DISPLAY is not set)")),
    ("linux", {"WAYLAND_DISPLAY": "wayland-0"},
     (False, "no X display (DISPLAY is not set): the window needs XWayland on a Wayland desktop")),
    ("linux", {"DISPLAY": ":4242"}, (False, "no X server answers at DISPLAY=:4242 ({sockets}/X4242 does not exist)")),
    ("linux", {"DISPLAY": ":7.0"}, (True, "")),
    ("linux", {"DISPLAY": "localhost:10.0"}, (True, "")),  # ssh X forwarding: not checked
])
def test_window_only_where_a_display_answers(platform, environ, expected, tmp_path, monkeypatch):
    monkeypatch.setattr(display, "X11_SOCKETS", tmp_path)
    (tmp_path / "X7").touch()
    ok, reason = display.display_available(platform, environ)
    assert (ok, reason) == (expected[0], expected[1].format(sockets=tmp_path))


def test_opengl_platform_per_platform():
    assert platforms.opengl_platform("linux") == "egl"
    assert platforms.opengl_platform("win32") is None and platforms.opengl_platform("darwin") is None
