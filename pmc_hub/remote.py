"""Plain HTTP(S) requests to remote services (the PMC Cloud bucket, PubMed E-utilities), retried.

`open_url` sorts every failure into `TransientError` (worth retrying), `NotFound` or `RemoteError`,
and follows redirects only within the host it was sent to (an ``http`` -> ``https`` upgrade of
the same host at most): a redirect elsewhere is refused, so a server cannot send the client to
another host. `with_retries` retries transient failures with exponential backoff and ends in one
`FetchFailed` naming what was fetched and why.
"""
from __future__ import annotations

import http.client
import logging
import random
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Callable, Optional, TypeVar

from .version import __version__
from .errors import DataError

log = logging.getLogger(__name__)

USER_AGENT = f"pmc-hub/{__version__} (+https://github.com/pmc-hub/pmc-hub)"
T = TypeVar("T")


class RemoteError(DataError):
    """A remote request failed for good (bad response, permission, refused redirect)."""


class TransientError(RemoteError):
    """A failure worth retrying: 5xx, 408, 429, timeout, dropped connection, corrupted transfer."""


class NotFound(RemoteError):
    """The server has no such object (HTTP 404)."""


class FetchFailed(RemoteError):
    """``what`` could not be fetched (after every retry, where retrying made sense); ``reason`` says why."""

    def __init__(self, what: str, reason: str):
        self.what = what
        self.reason = reason
        super().__init__(f"{what}: {reason}")


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: waits ``backoff * 2**i`` (capped, with jitter) between ``attempts``."""

    attempts: int = 5
    backoff: float = 1.0
    max_backoff: float = 60.0

    def delay(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff * (2 ** attempt)) * random.uniform(0.5, 1.0)


def with_retries(call: Callable[[], T], policy: RetryPolicy, what: str, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``call``; retry on `TransientError`; any failure ends in a `FetchFailed` naming ``what``."""
    last: Optional[Exception] = None
    for attempt in range(max(1, policy.attempts)):
        try:
            return call()
        except TransientError as exc:
            last = exc
            log.debug("%s: attempt %d failed: %s", what, attempt + 1, exc)
            if attempt + 1 < policy.attempts:
                sleep(policy.delay(attempt))
        except FetchFailed:
            raise
        except RemoteError as exc:
            raise FetchFailed(what, str(exc)) from None
    raise FetchFailed(what, f"{last} (gave up after {max(1, policy.attempts)} attempts)")


# --- redirects -------------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, Optional[int]]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(parts.scheme.lower())


def redirect_allowed(source: str, target: str) -> bool:
    """Whether a redirect from URL ``source`` to URL ``target`` stays on the source host: same
    scheme, host and port, or an upgrade of the same host from ``http`` to ``https``."""
    try:
        (s_scheme, s_host, s_port), (t_scheme, t_host, t_port) = _origin(source), _origin(target)
    except ValueError:  # unparsable target (bad IPv6 literal, bad port)
        return False
    if not t_host or t_host != s_host:
        return False
    if t_scheme == s_scheme:
        return t_port == s_port
    return s_scheme == "http" and t_scheme == "https" and (t_port == s_port or (s_port, t_port) == (80, 443))


def _host_of(url: str) -> str:
    try:
        parts = urllib.parse.urlsplit(url)
        return parts.netloc.rsplit("@", 1)[-1] or url
    except ValueError:
        return url


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not redirect_allowed(req.full_url, newurl):
            fp.close()
            raise RemoteError(f"HTTP {code} redirect from {_host_of(req.full_url)} to {_host_of(newurl)} refused "
                              f"(only redirects within the source host are followed)")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


# One opener for every thread, as `urllib.request.urlopen` shares its own.
_OPENER = urllib.request.build_opener(_SameHostRedirects)


def open_url(request: urllib.request.Request, timeout: float) -> http.client.HTTPResponse:
    """Send ``request``; failures become `TransientError` / `NotFound` / `RemoteError`."""
    try:
        return _OPENER.open(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        body = exc.read(2000).decode("utf-8", "replace")
        exc.close()
        detail = _s3_error_code(body) or exc.reason
        if exc.code == 404:
            raise NotFound(f"not found: HTTP 404 from {request.full_url} ({detail})") from None
        reason = f"HTTP {exc.code} from {request.full_url}: {detail}"
        if exc.code >= 500 or exc.code in (408, 429):
            raise TransientError(reason) from None
        raise RemoteError(reason) from None
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, http.client.HTTPException) as exc:
        raise TransientError(f"{request.full_url}: {getattr(exc, 'reason', exc)}") from None


def build_request(url: str, data: Optional[bytes] = None, headers: Optional[dict[str, str]] = None) -> urllib.request.Request:
    """A GET (or, with ``data``, a POST) carrying pmc-hub's User-Agent."""
    return urllib.request.Request(url, data=data, method="POST" if data is not None else "GET",
                                  headers={"User-Agent": USER_AGENT, **(headers or {})})


def content_length(value: Optional[str]) -> Optional[int]:
    """A Content-Length header as a number; None when absent or not a whole number (then unknown)."""
    text = (value or "").strip()
    return int(text) if text.isdigit() and len(text) < 20 else None


def _s3_error_code(body: str) -> str:
    m = re.search(r"<Code>([^<]*)</Code>", body)
    return m.group(1) if m else ""
