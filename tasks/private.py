"""Files that hold leads' personal data (journals, before-images, exports, suppression
state, copies of DNC tables): directories 0700, files 0600, whatever the umask.

Invariant: every file this package writes under the journal root is created through
`tasks.files` (a `mkstemp` temporary, 0600 by construction and set again before it gets its
final name); every directory through `private_dir`.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) readable by this user only. A directory that
    already exists keeps its mode: it may be the user's own (an export into ~/exports)."""
    missing = []
    cursor = path
    while not cursor.exists():
        missing.append(cursor)
        if cursor.parent == cursor:
            break
        cursor = cursor.parent
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    # mkdir's mode is masked by the umask and ignored for parents: set it outright.
    for created in missing:
        os.chmod(created, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    os.chmod(path, FILE_MODE)
    return path

