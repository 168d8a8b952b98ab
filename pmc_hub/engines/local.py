"""Local engine: the per-article stage in worker processes, each article under a time and memory budget.

The main process hands one package at a time to each worker over a pipe and watches it: a worker
that takes longer than ``article_seconds`` on one article, grows past ``article_memory_mb``, or
dies (a crash in a C library, the kernel's OOM killer) is killed and replaced, and that article
becomes a reported skip. A budget is enforced from outside the worker, so it holds even inside C
code (an XML parser, an image decoder, a regex) that never returns to Python.

Results are yielded in source order (a small reorder buffer), so the output does not depend on
the number of workers.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Iterable, Iterator, Optional

from ..config import BuildConfig
from ..errors import DataError
from ..models import ArticlePackage, ArticleResult
from ..report import ARTICLE_MEMORY, ARTICLE_TIMEOUT, WORKER_DIED
from ..spool import convert_without_pandas, spool, unspool
from ..stage import ArticleStage, failed

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.05
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class EngineError(DataError, RuntimeError):
    """The workers cannot run at all (not one article's fault)."""


def _worker(conn: Connection, config: BuildConfig, subfigure_batch: int, spool_dir: Optional[str]) -> None:
    convert_without_pandas()
    stage = ArticleStage(config, subfigure_batch)
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        seq, package = task
        result = stage(package)
        if spool_dir is not None:
            result = spool(result, Path(spool_dir), seq)
        try:
            conn.send((seq, result))
        except Exception as exc:  # a result that cannot be pickled must still come back as a skip
            conn.send((seq, failed(package, f"sending the result: {type(exc).__name__}: {exc}", result)))


def _rss_mb(pid: int) -> Optional[float]:
    """Resident memory of a process in MB (Linux /proc; None where unavailable)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE / 2**20
    except (OSError, ValueError, IndexError):
        return None


class _ReadAhead:
    """An iterator that can read its next item before it is asked for (`read`)."""

    def __init__(self, items: Iterable):
        self._items = iter(items)
        self._next: list = []  # the item read ahead, if any

    def read(self) -> None:
        if not self._next:
            self._next.append(next(self._items, None))

    def __iter__(self) -> "_ReadAhead":
        return self

    def __next__(self):
        item = self._next.pop() if self._next else next(self._items, None)
        if item is None:
            raise StopIteration
        return item


@dataclass
class _Slot:
    process: multiprocessing.Process
    conn: Connection
    seq: Optional[int] = None
    package: Optional[ArticlePackage] = None
    started: float = 0.0
    baseline_mb: float = 0.0  # the worker's memory between articles (its models): not the article's


class LocalEngine:
    """``workers`` processes running `ArticleStage`, each article within its budgets."""

    def __init__(self, config: BuildConfig, workers: int = 1, article_seconds: float = 300.0,
                 article_memory_mb: int = 4096, subfigure_batch: int = 16, backlog: int = 64,
                 spool_dir: Optional[Path] = None):
        self.config = config
        self.workers = workers
        self.article_seconds = article_seconds
        self.article_memory_mb = article_memory_mb
        self.subfigure_batch = subfigure_batch
        self.backlog = backlog  # finished results waiting for an earlier, slower article
        self.spool_dir = str(spool_dir) if spool_dir is not None else None  # results come back as Arrow files
        self._ctx = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
        self._slots: list[_Slot] = []
        self._deaths = 0  # worker deaths since the last article that came back

    def _start(self) -> _Slot:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(target=_worker, args=(child, self.config, self.subfigure_batch, self.spool_dir), daemon=True,
                                    name="pmc-hub-worker")
        process.start()
        child.close()
        return _Slot(process, parent)

    def _replace(self, slot: _Slot) -> _Slot:
        slot.process.kill()
        slot.process.join(5)
        slot.conn.close()
        fresh = self._start()
        self._slots[self._slots.index(slot)] = fresh
        return fresh

    def results(self, packages: Iterable[ArticlePackage]) -> Iterator[ArticleResult]:
        self._begin(self.workers)
        source = _ReadAhead(enumerate(packages))
        done: dict[int, ArticleResult] = {}
        next_out, exhausted = 0, False
        try:
            while True:
                exhausted = self._dispatch(source, done, next_out, exhausted)
                busy = [s for s in self._slots if s.seq is not None]
                if not busy and exhausted:
                    break
                source.read()  # the next package, while the workers build: a free worker need not wait for it
                self._collect(busy, done)
                # A worker whose result just came back gets its next article before that result
                # is written: the worker builds while the main process writes.
                exhausted = self._dispatch(source, done, next_out, exhausted)
                while next_out in done:
                    yield unspool(done.pop(next_out))
                    next_out += 1
        finally:
            self.close()

    def run_one(self, package: ArticlePackage) -> ArticleResult:
        """One article in a worker, under the same budgets, outside any `results` stream (an
        update's unchanged article built again: decided only when the articles before it are
        placed). The worker stays up for the next call until `close`."""
        if not self._slots:
            self._begin(1)
        slot, done = self._slots[0], {}
        self._send(slot, (0, package), done)
        while 0 not in done:
            self._collect([slot], done)
        return unspool(done.pop(0))

    def _begin(self, workers: int) -> None:
        if self._ctx.get_start_method() == "forkserver":
            self._ctx.set_forkserver_preload(["pmc_hub.stage", "pmc_hub.spool"])
        self._slots = [self._start() for _ in range(workers)]

    def _dispatch(self, source: Iterator, done: dict, next_out: int, exhausted: bool) -> bool:
        for slot in self._slots:
            if exhausted or slot.seq is not None or len(done) >= self.backlog:
                continue
            item = next(source, None)
            if item is None:
                return True
            self._send(slot, item, done)
        return exhausted

    def _send(self, slot: _Slot, item: tuple[int, ArticlePackage], done: dict) -> None:
        slot.seq, slot.package = item
        slot.started = time.monotonic()
        slot.baseline_mb = _rss_mb(slot.process.pid) or 0.0
        try:
            slot.conn.send(item)
        except (OSError, ValueError):  # the worker is gone (crashed at start, killed from outside)
            self._give_up(slot, done, WORKER_DIED, self._death(slot))

    def _collect(self, busy: list[_Slot], done: dict) -> None:
        ready = wait([s.conn for s in busy] + [s.process.sentinel for s in busy], timeout=_POLL_SECONDS)
        for slot in busy:
            if slot.conn in ready:
                try:
                    seq, result = slot.conn.recv()
                except (EOFError, OSError):  # the worker died while sending
                    self._give_up(slot, done, WORKER_DIED, self._death(slot))
                    continue
                done[seq] = result
                slot.seq = slot.package = None
                self._deaths = 0
            elif slot.process.sentinel in ready or not slot.process.is_alive():
                self._give_up(slot, done, WORKER_DIED, self._death(slot))
            else:
                self._check_budgets(slot, done)

    def _check_budgets(self, slot: _Slot, done: dict) -> None:
        elapsed = time.monotonic() - slot.started
        if elapsed > self.article_seconds:
            self._give_up(slot, done, ARTICLE_TIMEOUT, f"still running after {self.article_seconds:g} s (the per-article "
                                                        "time budget); the worker was stopped")
            return
        rss = _rss_mb(slot.process.pid)
        if rss is not None and rss - slot.baseline_mb > self.article_memory_mb:
            self._give_up(slot, done, ARTICLE_MEMORY, f"used {rss - slot.baseline_mb:.0f} MB (budget "
                                                       f"{self.article_memory_mb} MB); the worker was stopped")

    def _death(self, slot: _Slot) -> str:
        slot.process.join(1)
        code = slot.process.exitcode
        return f"the worker process died (exit code {code}){' - out of memory?' if code == -9 else ''}"

    def _give_up(self, slot: _Slot, done: dict, reason: str, detail: str) -> None:
        if reason == WORKER_DIED:
            self._deaths += 1
            if self._deaths > self.workers + 2:
                raise EngineError(f"worker processes keep dying ({detail}); if you call pmc_hub from a script, run it "
                                  "under `if __name__ == \"__main__\":`")
        package = slot.package
        log.warning("%s: %s: %s", package.package_id, reason, detail)
        done[slot.seq] = failed(package, detail, reason=reason)
        self._replace(slot)

    def close(self) -> None:
        for slot in self._slots:
            try:
                slot.conn.send(None)
            except (OSError, ValueError):
                pass
        for slot in self._slots:
            slot.process.join(2)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(2)
            slot.conn.close()
        self._slots = []
