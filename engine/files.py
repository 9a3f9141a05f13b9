"""Files are written whole or not at all: a temporary file beside the target, then renamed.

Renaming replaces whatever stands at the target, a symbolic link included, without
following it: output never lands outside the folder it is meant for.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    The parent folder is created when missing. OSError propagates to the caller,
    who knows how to word it; the temporary file is removed either way.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
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
