"""Keys -> actions, the headless fallback, and a real window under Xvfb."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from neckcoach.io.display import HeadlessDisplay, open_display
from neckcoach.io.keys import ESC, Action, ScriptedKeys, WaitKeySource, action_for

REPO = Path(__file__).resolve().parents[1]


def test_key_bindings():
    assert action_for(ord(" ")) is Action.PAUSE_TOGGLE
    assert action_for(ord("c")) is Action.RECALIBRATE
    assert action_for(ord("n")) is Action.SKIP
    assert action_for(ord("q")) is Action.QUIT
    assert action_for(ESC) is Action.QUIT
    assert action_for(0x100000 | ord("q")) is Action.QUIT  # cv2 modifier bits ignored
    assert action_for(ord("x")) is None
    assert action_for(None) is None and action_for(-1) is None


def test_scripted_keys_fire_once_in_time_order():
    keys = ScriptedKeys({2.0: "q", 0.5: " ", 1.0: "n"})
    fired = []
    for i in range(100):
        keys.advance(i * 0.05)
        key = keys.poll()
        if key is not None:
            fired.append((round(i * 0.05, 2), action_for(key)))
    assert fired == [(0.5, Action.PAUSE_TOGGLE), (1.0, Action.SKIP), (2.0, Action.QUIT)]
    assert keys.remaining == 0
    with pytest.raises(ValueError, match="one character"):
        ScriptedKeys({1.0: "quit"})


def test_waitkey_source_maps_no_key_to_none():
    codes = iter([-1, ord("c"), 0x10FF00 | ord(" ")])
    src = WaitKeySource(1, wait_key=lambda ms: next(codes))
    assert [src.poll(), src.poll(), src.poll()] == [None, ord("c"), ord(" ")]
    with pytest.raises(ValueError, match="delay_ms"):
        WaitKeySource(0)


def test_no_display_falls_back_to_headless_with_one_message(monkeypatch, caplog):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    caplog.set_level(logging.WARNING, logger="neckcoach.io.display")
    disp = open_display("NeckCoach test")
    assert isinstance(disp, HeadlessDisplay)
    disp.show(np.zeros((10, 10, 3), np.uint8))
    assert disp.poll_key() is None
    disp.close()
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    assert "DISPLAY" in disp.reason
    assert isinstance(open_display("x", headless=True), HeadlessDisplay)


WINDOW_SCRIPT = r"""
import sys, time, cv2, numpy as np
from neckcoach.io.display import open_display
from neckcoach.io.overlay import OverlayState, draw_overlay
frame = np.full((480, 640, 3), 90, np.uint8)
state = OverlayState("Neck rotation", "left", 3, 10, 1, 2, live_value=25.0, target_band=(30.0, 40.0),
                     target_value=35.0, safety_limit=60.0, safety_banner="STOP - too fast")
disp = open_display("NeckCoach", headless=False)
print("headless" if disp.headless else "window", flush=True)
img = draw_overlay(frame, state)
t0 = time.monotonic()
while time.monotonic() - t0 < float(sys.argv[1]):
    disp.show(img)
    disp.poll_key()
    time.sleep(0.03)
disp.close()
"""


@pytest.mark.skipif(shutil.which("Xvfb") is None or shutil.which("ffmpeg") is None,
                    reason="needs Xvfb and ffmpeg")
def _red_pixels(img) -> int:
    b, g, r = (img[..., i].astype(int) for i in range(3))
    return int(((r > 180) & (g < 80) & (b < 80)).sum())


def test_real_window_under_xvfb_shows_the_overlay(tmp_path):
    display = f":{90 + os.getpid() % 9}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "800x600x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    app = None
    shot = Path("/tmp/neckcoach_xvfb_window.png")
    img = None
    try:
        socket = Path(f"/tmp/.X11-unix/X{display[1:]}")
        deadline = time.monotonic() + 15.0
        while not socket.exists() and time.monotonic() < deadline:  # a loaded machine starts Xvfb slowly
            time.sleep(0.1)
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
        app = subprocess.Popen([sys.executable, "-c", WINDOW_SCRIPT, "6"], env=env, cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert app.stdout.readline().strip() == "window"
        # Grab until the banner shows (the window keeps drawing for 6 s), not after a fixed sleep.
        deadline = time.monotonic() + 5.5
        while time.monotonic() < deadline:
            time.sleep(0.5)
            subprocess.run(["ffmpeg", "-y", "-loglevel", "error", "-f", "x11grab",
                            "-video_size", "800x600", "-i", display, "-frames:v", "1", str(shot)],
                           check=True, timeout=30)
            img = cv2.imread(str(shot))
            if img is not None and _red_pixels(img) > 640 * 40:
                break
        app.wait(timeout=20)
        assert app.returncode == 0, app.stderr.read()
    finally:
        if app is not None and app.poll() is None:
            app.kill()
        xvfb.terminate()
        xvfb.wait(timeout=10)
    assert img is not None and img.shape[:2] == (600, 800)
    assert _red_pixels(img) > 640 * 40  # the red safety banner made it to the screen
