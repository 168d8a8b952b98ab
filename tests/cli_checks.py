"""What every command's error tests check: one line ``error: ...`` on stderr, no traceback; and a
loopback address nothing listens on (an unreachable service)."""
from __future__ import annotations

import socket


def one_line_error(capsys) -> str:
    """The captured stderr, asserted to be exactly one ``error: ...`` line."""
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    return err


def dead_endpoint() -> str:
    """``http://127.0.0.1:PORT`` of a port that was free a moment ago: connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"
