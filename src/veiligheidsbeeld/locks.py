"""Advisory file locks between processes (two flows at once, two analysts on one machine)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from veiligheidsbeeld.errors import VeiligheidsbeeldError


@contextlib.contextmanager
def exclusive(lock_path: Path, *, wait_seconds: float, what: str,
              error: type[VeiligheidsbeeldError]) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path``, waiting up to ``wait_seconds`` for another holder.

    The holder writes its pid into the file, so that the error can say who holds it. ``what`` is
    the holder's activity in Dutch ("schrijft al in het warehouse …").
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as fh:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    fh.seek(0)
                    holder = fh.read().strip() or "onbekend proces"
                    raise error(
                        f"Een ander proces ({holder}) {what}; na {wait_seconds:.0f} s wachten gestopt. "
                        "Er is niets gewijzigd."
                    ) from None
                time.sleep(0.2)
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()} sinds {time.strftime('%Y-%m-%d %H:%M:%S')}")
            fh.flush()
            yield
        finally:
            with contextlib.suppress(OSError):
                fh.seek(0)
                fh.truncate()
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
