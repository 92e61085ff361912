"""How a command's failure reaches the person at the keyboard: one line, never a traceback.

A problem they can fix (a missing file, asset, camera or dependency) is
``neckcoach: <what is wrong>; <what to do>`` with exit code 2. Anything else is a
bug: one line asking for a report, exit code 1. ``neckcoach --debug`` (or
``NECKCOACH_DEBUG=1``) lets the exception through with its traceback instead.
"""

from __future__ import annotations

import click

from neckcoach.errors import UserFacingError

USER_ERROR_EXIT = 2
BUG_EXIT = 1

# Modules that only the virtual patient (demo, simulate, preview) needs: the "render" extra.
_RENDER_MODULES = ("pyrender", "trimesh", "OpenGL", "pyglet")
_OPENGL_HINT = ("on Debian/Ubuntu: sudo apt install libegl1 libgl1-mesa-dri; elsewhere update the graphics "
                "driver, or set PYOPENGL_PLATFORM=osmesa with OSMesa installed")


class UserError(click.ClickException):
    """A problem the user can fix: printed as one ``neckcoach: ...`` line, exit code 2."""

    exit_code = USER_ERROR_EXIT

    def show(self, file=None) -> None:
        click.echo(f"neckcoach: {self.format_message()}", err=True)


class Bug(UserError):
    """An unexpected exception, shown without its traceback (that needs --debug)."""

    exit_code = BUG_EXIT


def _missing_module(exc: ImportError) -> str:
    name = (exc.name or "").split(".")[0]
    text = str(exc)
    if name in _RENDER_MODULES or "OpenGL" in text or "EGL" in text:
        if isinstance(exc, ModuleNotFoundError) and name in _RENDER_MODULES:
            return (f"the virtual patient needs the render extra ({text}): "
                    "pip install \"neckcoach[render]\" (./neckcoach.sh installs it)")
        return f"cannot render the virtual patient, OpenGL is not available ({text}): {_OPENGL_HINT}"
    return (f"a library NeckCoach needs is missing ({text}): reinstall NeckCoach "
            "(pip install --force-reinstall neckcoach, or ./neckcoach.sh from a clone) on Python 3.9-3.12")


def user_error(exc: BaseException) -> UserError:
    """The one line to show for an exception that escaped a command."""
    from neckcoach.io.records import RecordError

    if isinstance(exc, (UserFacingError, RecordError)):
        return UserError(str(exc))
    if isinstance(exc, ImportError):
        return UserError(_missing_module(exc))
    if type(exc).__module__.split(".")[0] in _RENDER_MODULES:  # e.g. OpenGL.error.GLError
        return UserError(f"cannot render the virtual patient ({type(exc).__name__}: {exc}): {_OPENGL_HINT}")
    if isinstance(exc, (FileExistsError, NotADirectoryError)) and exc.filename is not None:
        return UserError(f"cannot make the folder {exc.filename}: a file is in the way")
    if isinstance(exc, OSError) and exc.filename is not None:
        return UserError(f"cannot use {exc.filename}: {exc.strerror or exc}")
    return Bug(f"unexpected error ({type(exc).__name__}: {exc}); this is a bug in NeckCoach: please "
               "report it with the traceback that `neckcoach --debug COMMAND ...` prints")
