"""Warnings that point at the caller's code, not at the libraries' internals."""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from types import FrameType


def _package_dirs() -> tuple[str, ...]:
    """The folders of skts and of the libraries whose wrappers call into it.

    scikit-learn's ``Pipeline`` calls its steps through joblib's ``Memory``.
    """
    dirs = [os.path.dirname(os.path.abspath(__file__))]
    for name in ("sklearn", "skorch", "joblib"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            dirs.extend(spec.submodule_search_locations)
    return tuple(os.path.join(d, "") for d in dirs)


_INTERNAL = _package_dirs()


def warn(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` pointing at the first frame outside skts and the libraries around it.

    A fixed ``stacklevel`` is right for one call path only: the same check
    runs under ``fit``, ``predict``, a transformer or a ``Pipeline``, at
    different depths.
    """
    frame: FrameType | None = sys._getframe(1)
    level = 2  # level 1 is this function
    while frame is not None and frame.f_code.co_filename.startswith(_INTERNAL):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
