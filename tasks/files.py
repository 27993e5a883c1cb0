"""The one way this package makes a file appear: written under a temporary name beside its
destination, then given its final name in one step.

Invariant: a reader never sees a half-written file under a final name, whatever line the
writer crashes on; a file created `once` is never replaced, even by another process (a
hard link fails when the name exists, where a rename would overwrite). Temporary names are
unique per call (`mkstemp`), so two threads of one process never share one.

A destination may also be an fsspec URL (`s3://bucket/exports/x.parquet`, with that
backend installed), for files every worker must reach: the file is written locally, then
uploaded under a temporary name and moved to its own (object stores make an object
visible only once whole). `file://` URLs are local paths. URLs are shown without any
credentials they carry (`shown`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from .private import private_dir, private_file


def is_url(location: str | os.PathLike[str]) -> bool:
    """A URL of a remote filesystem (not a local path, not file://)."""
    scheme = urlsplit(str(location)).scheme
    return len(scheme) > 1 and scheme != "file"  # one letter: a Windows drive


def local_path(location: str | os.PathLike[str]) -> Path:
    text = str(location)
    if urlsplit(text).scheme == "file":
        return Path(unquote(urlsplit(text).path))
    return Path(text).expanduser()


def check_location(location: str | os.PathLike[str]) -> None:
    """Refuse a URL this process cannot write (no fsspec backend for its scheme) before
    anything is read or written, rather than after an export has been built."""
    if not is_url(location):
        return
    import fsspec

    scheme = urlsplit(str(location)).scheme
    try:
        fsspec.get_filesystem_class(scheme)
    except (ImportError, ValueError) as exc:
        raise ValueError(
            f"{shown(location)}: this worker cannot write {scheme}:// URLs ({exc}); install "
            "the fsspec backend for it (s3fs for s3://, gcsfs for gs://, adlfs for az://)"
        ) from None


def destination(location: str) -> str:
    """A destination a caller gave, checked (`check_location`) and absolute: a URL as
    given, a path resolved."""
    check_location(location)
    return location if is_url(location) else str(local_path(location).resolve())


def join(location: str | os.PathLike[str], name: str) -> str:
    """`name` inside the directory `location` (a path or a URL)."""
    if is_url(location):
        return f"{str(location).rstrip('/')}/{name}"
    return str(local_path(location).resolve() / name)


def shown(location: str | os.PathLike[str]) -> str:
    """`location` as it may be logged: a URL's user and password, and its query (where
    signed URLs carry their signature), become ***."""
    text = str(location)
    parts = urlsplit(text)
    if not is_url(text):
        return text
    if "@" in parts.netloc:
        parts = parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1])
    if parts.query:
        parts = parts._replace(query="***")
    return urlunsplit(parts)


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, once: bool = False) -> Iterator[Path]:
    """A temporary path (0600) beside `path`: fill it in the block; when the block succeeds
    it becomes `path`. With `once`, an existing `path` is kept and FileExistsError raised."""
    if is_url(path):
        if once:
            raise ValueError(f"{shown(path)}: files created once are kept on a local path")
        with _uploaded(str(path)) as temporary:
            yield temporary
        return
    final = local_path(path)
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


@contextmanager
def _uploaded(url: str) -> Iterator[Path]:
    import fsspec

    scratch = Path(tempfile.mkdtemp(prefix="leads-upload-"))
    try:
        temporary = scratch / url.rsplit("/", 1)[-1]
        yield temporary
        fs, remote = fsspec.core.url_to_fs(url)
        parent = remote.rsplit("/", 1)[0] if "/" in remote else ""
        if parent:
            fs.makedirs(parent, exist_ok=True)
        partial = f"{remote}.{uuid.uuid4().hex}.part"
        fs.put_file(str(temporary), partial)
        try:
            fs.mv(partial, remote)
        except BaseException:
            fs.rm(partial)
            raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
