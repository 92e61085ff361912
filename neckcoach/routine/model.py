"""The routine language: what a therapist writes in YAML, as a validated model.

Pydantic does the checking so that every rule lives next to the field it
constrains and the same model yields the JSON Schema that editors use.
Units are in the names (`hold_s`, `target_deg`, `target_mm`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationInfo, field_validator, model_validator

from neckcoach.core.depth_scale import DEPTH_READ_MAX_GAIN, DEPTH_READ_MIN_GAIN
from neckcoach.core.safety import HOME_MAX_SPEED_DEG_S
from neckcoach.core.samples import MOVEMENT_AXIS, Axis

Movement = Literal[
    "rotation", "flexion", "extension", "flexion_extension", "side_bend", "retraction", "chin_nod"
]
Sides = Literal["left", "right", "alternate", "both", "none"]

SIDED = {"rotation", "side_bend"}
TWO_WAY = {"flexion_extension"}

# Upper bound of a sensible target per movement (deg, or mm for retraction):
# a little beyond typical adult active range, so a typo like 300 is caught but
# a flexible patient's real end range is not.
TARGET_LIMIT = {
    "rotation": 85.0,
    "side_bend": 50.0,
    "flexion": 65.0,
    "extension": 75.0,
    "flexion_extension": 65.0,
    "chin_nod": 25.0,
    "retraction": 40.0,
}

_MOVEMENT_WORDS = {
    "rotation": "turn your head",
    "side_bend": "tilt your ear towards your shoulder",
    "flexion": "lower your chin towards your chest",
    "extension": "look up towards the ceiling",
    "flexion_extension": "nod down towards your chest, then up towards the ceiling",
    "chin_nod": "make a small nod, as if saying yes",
    "retraction": "slide your chin straight back, making a double chin",
}

# Texts are shown and spoken: control characters (including YAML's own line
# breaks such as NEL) would garble both, so one-line texts refuse them and
# multi-line texts allow only newline and tab.
LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
TEXT_PATTERN = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]*$"

# Peak speed of a minimum-jerk movement relative to its mean speed: the
# smooth, unhurried profile the coach expects a patient to follow.
MIN_JERK_PEAK_FACTOR = 1.875

_STRICT = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)


class Cues(BaseModel):
    """Texts spoken and shown; `{side}` and `{target}` are filled in.

    Left empty, each falls back to a default suited to the movement, so a
    therapist overrides only the phrases they want in their own words.
    """

    model_config = _STRICT

    start: str | None = Field(None, max_length=200, pattern=LINE_PATTERN, description="Said when the exercise begins.")
    hold: str | None = Field(None, max_length=200, pattern=LINE_PATTERN, description="Said when the target is reached.")
    release: str | None = Field(None, max_length=200, pattern=LINE_PATTERN, description="Said when the hold is over.")
    too_fast: str | None = Field(None, max_length=200, pattern=LINE_PATTERN, description="Said when moving faster than max_speed.")
    jerk: str | None = Field(None, max_length=200, pattern=LINE_PATTERN, description="Said on a sudden or jerky movement.")
    out_of_range: str | None = Field(None, max_length=200, pattern=LINE_PATTERN, description="Said beyond the safety limit.")
    almost: str | None = Field(None, max_length=200, pattern=LINE_PATTERN, description="Said when a rep stalls short of target.")
    done: str | None = Field(None, max_length=200, pattern=LINE_PATTERN, description="Said when the exercise is finished.")

    def text(self, kind: str, movement: str, side: str = "", target: float = 0.0) -> str:
        template = getattr(self, kind, None) or DEFAULT_CUES[kind].get(movement) or DEFAULT_CUES[kind]["*"]
        return template.format(side=side, target=f"{target:.0f}")


DEFAULT_CUES: dict[str, dict[str, str]] = {
    "start": {
        "rotation": "Turn your head slowly to the {side}.",
        "side_bend": "Tilt your ear slowly towards your {side} shoulder.",
        "flexion": "Lower your chin slowly towards your chest.",
        "extension": "Look slowly up towards the ceiling.",
        "flexion_extension": "Nod slowly down, then up.",
        "chin_nod": "Make a small, slow nod.",
        "retraction": "Slide your chin straight back.",
        "*": "Begin slowly.",
    },
    "hold": {"*": "Hold."},
    "release": {"*": "And slowly back."},
    "too_fast": {"*": "Slowly. Move more slowly."},
    "jerk": {"*": "Careful! Smooth and steady, no sudden moves."},
    "out_of_range": {"*": "That's far enough. Come back a little."},
    "almost": {"*": "Almost there, a little further if it's comfortable."},
    "done": {"*": "Well done, that exercise is complete."},
}


class VoiceOptions(BaseModel):
    model_config = _STRICT

    rate_wpm: int = Field(150, ge=80, le=300, description="Speaking rate in words per minute.")
    volume: float = Field(1.0, ge=0.0, le=1.0, description="Speech volume, 0 to 1.")
    voice: str | None = Field(None, max_length=100, description="Engine voice id or name; default voice if empty.")


class Ranges(BaseModel):
    """The person's full active range per direction, for `target_fraction`.

    Defaults are typical adult active ranges (see neckcoach/report/norms.py
    for sources); a therapist replaces them with what they measured.
    """

    model_config = _STRICT

    rotation_deg: float = Field(70.0, gt=0, le=90, description="Rotation each way.")
    side_bend_deg: float = Field(40.0, gt=0, le=60, description="Side bend each way.")
    flexion_deg: float = Field(50.0, gt=0, le=80, description="Flexion (chin to chest).")
    extension_deg: float = Field(60.0, gt=0, le=90, description="Extension (looking up).")
    chin_nod_deg: float = Field(15.0, gt=0, le=30, description="Cranio-cervical flexion (nod).")
    retraction_mm: float = Field(20.0, gt=0, le=50, description="Chin-tuck translation.")

    def for_direction(self, movement: str, direction: str) -> float:
        if movement in ("rotation", "side_bend", "chin_nod", "retraction"):
            key = {"rotation": "rotation_deg", "side_bend": "side_bend_deg",
                   "chin_nod": "chin_nod_deg", "retraction": "retraction_mm"}[movement]
        else:
            key = "extension_deg" if direction == "extension" else "flexion_deg"
        return float(getattr(self, key))


class Exercise(BaseModel):
    """One exercise: a movement done `reps` times per set, with pacing and limits."""

    model_config = _STRICT

    id: str = Field(..., pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$",
                    description="Short unique id: lower-case letters, digits, - and _.")
    name: str = Field(..., min_length=1, max_length=80, pattern=LINE_PATTERN, description="Name shown to the patient.")
    movement: Movement = Field(..., description="Which movement is exercised.")
    sides: Sides | None = Field(
        None,
        description="left, right, alternate (L, R, L...; reps in total) or both (reps on each side); "
        "for flexion_extension alternate/both mean flexion and extension; none for one-way movements. "
        "Default: alternate where there are two directions, none otherwise.",
    )
    reps: int = Field(..., ge=1, le=50, description="Repetitions per set (per side for `both`).")
    sets: int = Field(1, ge=1, le=10, description="Number of sets.")
    rest_s: float = Field(30.0, ge=0, le=600, description="Rest between sets, seconds.")
    target_deg: float | None = Field(None, gt=0, le=90, description="Target angle from neutral, degrees.")
    target_mm: float | None = Field(None, gt=0, le=50, description="Target retraction, millimetres.")
    target_fraction: float | None = Field(
        None, gt=0, le=1.0, description="Target as a fraction of the person's range (see `ranges`)."
    )
    hold_s: float = Field(0.0, ge=0, le=60, description="Hold at the target, seconds.")
    tempo_s: float = Field(6.0, ge=1, le=120, description="Seconds per repetition (out, hold and back).")
    max_speed_deg_s: float = Field(HOME_MAX_SPEED_DEG_S, gt=0, le=400, description="Faster than this is 'too fast', deg/s.")
    max_speed_mm_s: float = Field(60.0, gt=0, le=400, description="Too-fast limit for retraction, mm/s "
                                 f"(warned once the reading passes {DEPTH_READ_MAX_GAIN:g}x it: a tuck's depth reads "
                                 f"{DEPTH_READ_MIN_GAIN:g}-{DEPTH_READ_MAX_GAIN:g}x its size).")
    max_deg: float | None = Field(None, gt=0, le=90, description="Safety limit, degrees from neutral.")
    max_mm: float | None = Field(None, gt=0, le=60, description="Safety limit for retraction, mm "
                                  f"(warned once the reading passes {DEPTH_READ_MAX_GAIN:g}x it, as max_speed_mm_s).")
    instructions: str | None = Field(None, max_length=500, pattern=TEXT_PATTERN, description="Extra words for the patient.")
    cues: Cues = Field(default_factory=Cues, description="Override any spoken/shown text.")

    @model_validator(mode="after")
    def _check(self) -> "Exercise":
        mm = self.movement == "retraction"
        if mm and (self.target_deg is not None or self.max_deg is not None):
            raise ValueError("retraction is measured in mm: use target_mm / max_mm, not target_deg / max_deg")
        if not mm and (self.target_mm is not None or self.max_mm is not None):
            raise ValueError(f"{self.movement} is measured in degrees: use target_deg / max_deg, not target_mm / max_mm")
        given = [k for k in ("target_deg", "target_mm", "target_fraction") if getattr(self, k) is not None]
        if len(given) != 1:
            unit = "target_mm" if mm else "target_deg"
            raise ValueError(f"give exactly one of {unit} or target_fraction (got {', '.join(given) or 'none'})")
        absolute = self.target_mm if mm else self.target_deg
        limit = TARGET_LIMIT[self.movement]
        if absolute is not None and absolute > limit:
            raise ValueError(f"target {absolute:g} is beyond a safe {self.movement} target (at most {limit:g})")
        safety = self.max_mm if mm else self.max_deg
        if absolute is not None and safety is not None and absolute >= safety:
            raise ValueError(f"target ({absolute:g}) must be below the safety limit ({safety:g})")
        sides = self.resolved_sides
        if self.movement in SIDED and sides == "none":
            raise ValueError(f"{self.movement} needs sides: left, right, alternate or both")
        if self.movement in TWO_WAY and sides not in ("alternate", "both"):
            raise ValueError("flexion_extension goes both ways: sides must be alternate or both")
        if self.movement not in SIDED | TWO_WAY and sides != "none":
            raise ValueError(f"{self.movement} has no sides: leave sides out or use none (got {sides})")
        move_s = self.tempo_s - self.hold_s
        if move_s < 2.0:
            raise ValueError(
                f"tempo_s ({self.tempo_s:g}) leaves {move_s:g} s to move out and back after hold_s "
                f"({self.hold_s:g}); allow at least 2 s"
            )
        one_way_s = move_s / 2.0
        peak_speed = MIN_JERK_PEAK_FACTOR * self.target_value(self.directions()[0]) / one_way_s
        if absolute is not None and peak_speed > self.speed_limit:
            raise ValueError(
                f"tempo_s ({self.tempo_s:g}) is too quick for this target: a smooth rep would peak at "
                f"{peak_speed:.0f} {self.unit}/s, above the too-fast limit ({self.speed_limit:g}); "
                "slow the tempo or raise the limit"
            )
        return self

    @property
    def resolved_sides(self) -> str:
        if self.sides is not None:
            return self.sides
        return "alternate" if self.movement in SIDED | TWO_WAY else "none"

    @property
    def axis(self) -> Axis:
        return MOVEMENT_AXIS[self.movement]

    @property
    def unit(self) -> str:
        return "mm" if self.movement == "retraction" else "deg"

    @property
    def speed_limit(self) -> float:
        """Too-fast limit in the exercise's own unit per second."""
        return self.max_speed_mm_s if self.movement == "retraction" else self.max_speed_deg_s

    @property
    def safety_limit(self) -> float | None:
        return self.max_mm if self.movement == "retraction" else self.max_deg

    def directions(self) -> list[str]:
        """Direction names this exercise moves in, in the order they are done."""
        if self.movement in SIDED:
            return {"left": ["left"], "right": ["right"]}.get(self.resolved_sides, ["left", "right"])
        if self.movement in TWO_WAY:
            return ["flexion", "extension"]
        if self.movement == "retraction":
            return ["back"]
        if self.movement == "extension":
            return ["extension"]
        return ["flexion"]

    @staticmethod
    def sign(direction: str) -> int:
        """+1 or -1: the sign of the axis value when moving in `direction`."""
        if direction in ("left", "flexion", "back"):
            return 1
        if direction in ("right", "extension"):
            return -1
        raise ValueError(f"direction must be one of left, right, flexion, extension, back (got {direction!r})")

    def target_value(self, direction: str, ranges: Ranges | None = None) -> float:
        """Target magnitude (deg, or mm for retraction) for one direction."""
        absolute = self.target_mm if self.movement == "retraction" else self.target_deg
        if absolute is not None:
            return float(absolute)
        rng = (ranges or Ranges()).for_direction(self.movement, direction)
        return float(self.target_fraction) * rng

    @property
    def reps_per_set(self) -> int:
        """Movements to count in one set, all directions together."""
        if self.resolved_sides == "both":
            return self.reps * 2
        return self.reps

    def reps_target(self) -> int:
        return self.reps_per_set * self.sets

    def estimated_duration_s(self) -> float:
        intro_s = 6.0
        return intro_s + self.reps_target() * self.tempo_s + (self.sets - 1) * self.rest_s

    def describe(self, ranges: Ranges | None = None) -> str:
        """The plan for this exercise in plain words a patient understands."""
        unit = "mm" if self.unit == "mm" else "degrees"
        dirs = self.directions()
        targets = sorted({round(self.target_value(d, ranges)) for d in dirs})
        target = " / ".join(str(t) for t in targets)
        sides = self.resolved_sides
        if sides == "alternate" and self.movement in SIDED:
            how_often = f"{self.reps} times, alternating left and right"
        elif sides == "both" and self.movement in SIDED:
            how_often = f"{self.reps} times to each side"
        elif sides in ("left", "right"):
            how_often = f"{self.reps} times to the {sides}"
        elif self.movement in TWO_WAY:
            how_often = f"{self.reps} times" + (" each way" if sides == "both" else "")
        else:
            how_often = f"{self.reps} times"
        parts = [f"{self.name}: {_MOVEMENT_WORDS[self.movement]}, about {target} {unit}, {how_often}."]
        if self.hold_s:
            parts.append(f"Hold each one for {self.hold_s:g} seconds.")
        parts.append(f"Take about {self.tempo_s:g} seconds for each repetition.")
        if self.sets > 1:
            parts.append(f"Do {self.sets} sets with {self.rest_s:g} seconds of rest between them.")
        if self.instructions:
            parts.append(self.instructions)
        return " ".join(parts)


StopSymptom = Literal["dizziness", "arm_tingling", "visual_disturbance", "pain_rise"]
# The built-in stop rules, as listed to the patient. Dizziness, arm symptoms and
# visual disturbance are the warning signs of cervical arterial dysfunction or
# nerve root irritation that the IFOMPT framework (Rushton et al. 2023) asks
# therapists to screen for before and during neck exercise.
STOP_LABELS: dict[str, str] = {
    "dizziness": "Dizziness or light-headedness",
    "arm_tingling": "Tingling or numbness in your arms",
    "visual_disturbance": "Blurred, double or flickering vision",
    "pain_rise": "More neck pain",
}
DEFAULT_STOP_IF: tuple[str, ...] = ("dizziness", "arm_tingling", "visual_disturbance", "pain_rise")
# Ids the check-in uses for its own questions: a routine's questions and own
# stop symptoms must not reuse them.
RESERVED_IDS = frozenset({"pain", "headache", "symptoms", "symptoms_now", *DEFAULT_STOP_IF})
_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"


class OwnSymptom(BaseModel):
    """A symptom of the therapist's choosing that also means "stop and call"."""

    model_config = _STRICT

    id: str = Field(..., pattern=_ID_PATTERN, description="Short unique id: lower-case letters, digits, - and _.")
    label: str = Field(..., min_length=1, max_length=60, pattern=LINE_PATTERN,
                       description="The symptom as listed to the patient, e.g. 'Nausea'.")


def _stop_rule_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "symptom"
    if isinstance(value, (dict, OwnSymptom)):
        return "own_symptom"
    return None


StopRule = Annotated[
    Union[Annotated[StopSymptom, Tag("symptom")], Annotated[OwnSymptom, Tag("own_symptom")]],
    Discriminator(_stop_rule_kind, custom_error_type="stop_rule",
                  custom_error_message="a stop rule is dizziness, arm_tingling, visual_disturbance, "
                                       "pain_rise or an own symptom with id and label"),
]


class Question(BaseModel):
    """A yes/no question of the therapist's own, asked at the check-in and recorded."""

    model_config = _STRICT

    id: str = Field(..., pattern=_ID_PATTERN, description="Short unique id: lower-case letters, digits, - and _.")
    text: str = Field(..., min_length=1, max_length=120, pattern=LINE_PATTERN,
                      description="The question, answered yes or no, e.g. 'Did you sleep well?'.")
    when: Literal["before", "after", "both"] = Field("before", description="Asked before the session, after it, or both.")


class Schedule(BaseModel):
    """How often the programme is to be done, for adherence in `progress`."""

    model_config = _STRICT

    times: int = Field(..., ge=1, le=12, description="Sessions per day or per week.")
    per: Literal["day", "week"] = Field(..., description="day or week.")

    @property
    def per_week(self) -> int:
        return self.times * 7 if self.per == "day" else self.times


class Routine(BaseModel):
    """A home programme: the exercises a therapist prescribed, in order."""

    model_config = _STRICT

    title: str = Field(..., min_length=1, max_length=120, pattern=LINE_PATTERN, description="Title shown to the patient.")
    author: str | None = Field(None, max_length=120, pattern=LINE_PATTERN, description="Who wrote or prescribed it.")
    notes: str | None = Field(None, max_length=2000, pattern=TEXT_PATTERN, description="Notes for the patient or therapist.")
    language: str = Field("en", pattern=r"^[a-z]{2}(-[A-Za-z]{2})?$", description="Language of the cues, e.g. en.")
    voice: VoiceOptions = Field(default_factory=VoiceOptions, description="Speech options.")
    ranges: Ranges = Field(default_factory=Ranges, description="The person's range, for target_fraction.")
    exercises: list[Exercise] = Field(..., min_length=1, max_length=30, description="Exercises in order.")
    schedule: Schedule | None = Field(
        None, description="How often to do it, e.g. {times: 2, per: day}; progress then shows sessions done "
        "against sessions planned.")
    checkin: bool = Field(
        True, description="Before and after the session, ask neck pain now (0-10), whether a headache is "
        "present and the stop symptoms (at most 20 s, always skippable). false: no check-ins; the stop key "
        "still works during the session.")
    stop_if: list[StopRule] = Field(
        default_factory=lambda: list(DEFAULT_STOP_IF), max_length=9,  # keys 1-9 in the stop menu
        description="Symptoms that end the session with 'stop and contact your therapist': asked at the "
        "check-ins and offered during the session on the S key. Names: dizziness, arm_tingling (tingling or "
        "numbness in the arms), visual_disturbance, pain_rise (neck pain up by pain_rise_points from the "
        "start); or an own symptom {id, label}. [] turns the stop rules off.")
    pain_rise_points: int = Field(
        2, ge=1, le=10,
        description="For the pain_rise stop rule: a rise of this many points on the 0-10 scale. Default 2: "
        "the usual minimal clinically important change of the numeric pain rating scale (Farrar et al. "
        "2001), a little above the 1.3 points found in mechanical neck pain (Cleland et al. 2008), so a "
        "one-point wobble does not end a session.")
    questions: list[Question] = Field(
        default_factory=list, max_length=3,
        description="Your own yes/no questions for the check-in (at most 3, to keep it under 20 s).")

    @model_validator(mode="after")
    def _unique_ids(self) -> "Routine":
        seen: set[str] = set()
        for ex in self.exercises:
            if ex.id in seen:
                raise ValueError(f"exercise id {ex.id!r} is used twice; ids must be unique")
            seen.add(ex.id)
        return self

    @field_validator("stop_if")
    @classmethod
    def _stop_ids(cls, rules: list) -> list:
        seen: set[str] = set()
        for rule in rules:
            key = rule if isinstance(rule, str) else rule.id
            if not isinstance(rule, str) and key in RESERVED_IDS:
                raise ValueError(f"{key!r} is a built-in name; give your own symptom another id")
            if key in seen:
                raise ValueError(f"{key!r} is listed twice")
            seen.add(key)
        return rules

    @field_validator("questions")
    @classmethod
    def _question_ids(cls, questions: list, info: ValidationInfo) -> list:
        taken = set(RESERVED_IDS) | {r.id for r in info.data.get("stop_if") or [] if not isinstance(r, str)}
        for q in questions:
            if q.id in taken:
                raise ValueError(f"the id {q.id!r} is already used; choose another")
            taken.add(q.id)
        return questions

    def stop_symptoms(self) -> list[tuple[str, str]]:
        """(id, label) of every stop symptom the patient can name, in order (pain_rise aside)."""
        return [(r, STOP_LABELS[r]) if isinstance(r, str) else (r.id, r.label)
                for r in self.stop_if if r != "pain_rise"]

    @property
    def pain_rise_stop(self) -> int | None:
        """Points of pain rise that stop the session, or None when pain_rise is not a stop rule."""
        return self.pain_rise_points if "pain_rise" in self.stop_if else None

    def largest_target(self, direction: str) -> float:
        """The largest target of any exercise in `direction` (e.g. "extension"), 0 if none
        moves that way: what the camera must be able to measure for this routine."""
        return max((ex.target_value(direction, self.ranges) for ex in self.exercises
                    if direction in ex.directions()), default=0.0)

    def estimated_duration_s(self) -> float:
        calibration_s = 10.0
        return calibration_s + sum(ex.estimated_duration_s() for ex in self.exercises)
