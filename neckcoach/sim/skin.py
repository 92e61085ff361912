"""Re-tint the head scan's colour texture to another human skin tone.

Why: the scan is one light-skinned man (ITA about +52); a face detector and
the picture-quality limits must work for every skin. Skin colour is described
by CIELAB lightness L* and yellowness b*, and its tone by the individual
typology angle ITA = atan((L* - 50) / b*) in degrees.

How: the texture's median skin colour is moved to the target (L*, b*) by
scaling L* and b* about zero, so every freckle, eyebrow, lip and shadow keeps
its contrast relative to the skin around it; a* (redness) is kept.
The target b* follows the measured "banana" of human skin colour (Del Bino &
Bernerd 2013, Br J Dermatol 169 s3: b* ~12-14 at both ends of the ITA range,
~19 in between), and L* = 50 + b* tan(ITA) then gives L* ~75 at ITA +60 and
~32 at ITA -55, the measured range.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from neckcoach.sim.scene import SKIN_ITA_RANGE_DEG


def skin_target_lab(ita_deg: float) -> tuple[float, float]:
    """(L*, b*) of the median skin colour for an ITA angle."""
    lo, hi = SKIN_ITA_RANGE_DEG
    if not lo <= ita_deg <= hi:
        raise ValueError(f"ita_deg must be in [{lo}, {hi}], got {ita_deg!r}")
    b = 12.0 + 7.5 * math.exp(-(((ita_deg - 15.0) / 40.0) ** 2))
    return 50.0 + b * math.tan(math.radians(ita_deg)), b


def skin_ita(texture_rgb: np.ndarray) -> float:
    """Median skin ITA (degrees) of an RGB uint8 texture (texels darker than L* 5 are padding)."""
    lab = _lab(texture_rgb)
    skin = lab[..., 0] > 5.0
    light, yellow = float(np.median(lab[..., 0][skin])), float(np.median(lab[..., 2][skin]))
    return math.degrees(math.atan2(light - 50.0, yellow))


def retint_skin(texture_rgb: np.ndarray, ita_deg: float) -> np.ndarray:
    """The texture with its median skin moved to `ita_deg` (RGB uint8 in, RGB uint8 out)."""
    target_l, target_b = skin_target_lab(ita_deg)
    lab = _lab(texture_rgb)
    skin = lab[..., 0] > 5.0
    median_l, median_b = float(np.median(lab[..., 0][skin])), float(np.median(lab[..., 2][skin]))
    lab[..., 0] = np.clip(lab[..., 0] * (target_l / median_l), 0.0, 100.0)
    lab[..., 2] *= target_b / median_b
    rgb = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    return np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _lab(texture_rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.asarray(texture_rgb, np.float32) / 255.0, cv2.COLOR_RGB2LAB)


__all__ = ["retint_skin", "skin_ita", "skin_target_lab"]
