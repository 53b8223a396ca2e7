"""Giving memory back to the operating system after a large response.

A registry or audit export builds and drops hundreds of thousands of short-lived objects.
Python frees them, but glibc's allocator keeps the freed pages, so a worker that served an
export stays ~15-20 MB larger for the rest of its life (make bench: RSS after the run).
`malloc_trim(0)` hands those pages back; it costs a few milliseconds, so it runs once at the
end of such a response, never per request. Elsewhere than glibc it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable, Iterable, Iterator
from functools import cache

logger = logging.getLogger(__name__)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None


def give_back() -> None:
    """Return the allocator's free pages to the operating system (glibc only)."""
    trim = _malloc_trim()
    if trim is not None:
        try:
            trim(0)
        except OSError:  # pragma: no cover - a libc that refuses
            logger.debug("malloc_trim failed", exc_info=True)


def then_give_back(lines: Iterable[str]) -> Iterator[str]:
    """Stream `lines`, then give the memory they took back (when the response is closed)."""
    try:
        yield from lines
    finally:
        give_back()
