"""Files are written whole or not at all: a temporary file beside the target, then renamed.

Renaming replaces whatever stands at the target, a symbolic link included, without
following it: output never lands outside the folder it is meant for.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

# A report, a signed message or a results file is as readable as the user's umask says
# (0666 & ~umask, like any file an editor or `cp` makes); a private key stays owner-only.
_SHARED_MODE = 0o666
_PRIVATE_MODE = 0o600


def write_atomically(path: Path, data: bytes, *, private: bool = False) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    The file's mode is 0666 less the process umask (the kernel applies it when the
    file is created), or 0600 when ``private`` (key material). The parent folder is
    created when missing. OSError propagates to the caller, who knows how to word it;
    the temporary file is removed either way.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = _PRIVATE_MODE if private else _SHARED_MODE
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        # tempfile.mkstemp would create the file 0600 whatever the umask: open it ourselves.
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(tmp, flags, mode)
        except FileExistsError:
            continue
        break
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def remove(path: Path) -> None:
    """Remove what stands at ``path``: a folder with its contents, a file or a symbolic link.

    A link is removed itself, never followed (nor is any link inside a folder), so
    clearing an output folder cannot reach anything outside it.
    """
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def unlink_below(path: Path, root: Path) -> None:
    """Remove symbolic links standing at ``path`` or at a folder between ``root`` and it.

    For output folders the program makes inside a folder the user named (``root``):
    writing through a link planted there would write outside it. ``root`` itself
    is the user's choice and left as it is.
    """
    path, root = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    if path == root or not path.is_relative_to(root):
        return
    current = root
    for part in path.relative_to(root).parts:
        current = current / part
        if current.is_symlink():
            current.unlink()
