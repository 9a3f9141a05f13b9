"""Files are written whole or not at all: a temporary file beside the target, then renamed."""

from __future__ import annotations

import os
import secrets
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
