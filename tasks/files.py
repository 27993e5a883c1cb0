"""The one way this package makes a file appear: written under a temporary name beside its
destination, then given its final name in one step.

Invariant: a reader never sees a half-written file under a final name, whatever line the
writer crashes on; a file created `once` is never replaced, even by another process (a
hard link fails when the name exists, where a rename would overwrite). Temporary names are
unique per call (`mkstemp`), so two threads of one process never share one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .private import private_dir, private_file


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, once: bool = False) -> Iterator[Path]:
    """A temporary path (0600) beside `path`: fill it in the block; when the block succeeds
    it becomes `path`. With `once`, an existing `path` is kept and FileExistsError raised."""
    final = Path(path)
    private_dir(final.parent)
    # Same directory, so the last step is a rename or a link, never a copy.
    fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".part")
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        private_file(temporary)  # a writer that recreated the file got the umask's mode
        if once:
            os.link(temporary, final)
        else:
            os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)


def create_once(path: str | os.PathLike[str], data: bytes) -> bool:
    """Create `path` holding `data`; False (and nothing changed) when it already exists."""
    try:
        with atomic_path(path, once=True) as temporary:
            temporary.write_bytes(data)
    except FileExistsError:
        return False
    return True


def replace_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Make `path` hold `data`, replacing what it held."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
