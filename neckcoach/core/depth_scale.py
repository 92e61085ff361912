"""How far a chin tuck's millimetres can be from the head's.

The depth is read from how much larger the face looks as it comes back. That
scales with the camera's lens, which nothing in a face tells, and with where the
camera sees the face from (benchmarks/README.md, "Limits" and "The chin tuck's
scale by camera placement"): with the right lens a tuck read 0.65-1.35 times its
depth by placement; the rendered population, its lenses 55-78 deg and the 60
deg lens assumed, 1.3-1.6 times. A reading of d mm is a head's movement of
somewhere between d / DEPTH_READ_MAX_GAIN and d / DEPTH_READ_MIN_GAIN, and so
is a speed in mm/s: a limit in millimetres is known to be passed only once the
reading passes DEPTH_READ_MAX_GAIN times it.
"""

from __future__ import annotations

DEPTH_READ_MIN_GAIN = 0.65
DEPTH_READ_MAX_GAIN = 1.6
