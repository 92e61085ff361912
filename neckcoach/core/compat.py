"""What the core needs to run the same on every Python a patient may have (3.9-3.12).

`dataclass(slots=True)` exists from Python 3.10: it saves memory and attribute-lookup time
on the per-frame samples and events, and changes nothing else the code relies on. On 3.9
the same classes are plain dataclasses.
"""

from __future__ import annotations

import sys

SLOTS: dict[str, bool] = {"slots": True} if sys.version_info >= (3, 10) else {}
"""Keyword arguments for `dataclass(...)`: `@dataclass(frozen=True, **SLOTS)`."""
