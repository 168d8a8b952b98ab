"""Run a command and measure it: wall seconds, CPU seconds and peak RSS of its whole process tree
(main process and workers), sampled with psutil. Shared by bench.py and scale_run.py."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Optional


def measured(args: list[str], env: Optional[dict] = None, python: bool = True, sample: float = 0.02) -> dict:
    """Run ``python *args`` (or ``args`` itself); returns its last JSON stdout line, if any, plus
    ``wall_seconds``, ``cpu_seconds`` and ``peak_rss_bytes`` of the tree. Raises on failure."""
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args] if python else args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    root = psutil.Process(proc.pid)
    peak, cpu = 0, {}
    while proc.poll() is None:
        try:
            rss = 0
            for p in [root, *root.children(recursive=True)]:
                with p.oneshot():
                    rss += p.memory_info().rss
                    t = p.cpu_times()
                    cpu[p.pid] = t.user + t.system
            peak = max(peak, rss)
        except psutil.Error:
            pass  # a process ended between listing and reading it
        time.sleep(sample)
    wall = time.perf_counter() - start
    stdout, stderr = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"{' '.join(map(str, args[:3]))} failed ({proc.returncode}):\n{stderr[-3000:]}")
    lines = [line for line in stdout.strip().splitlines() if line.startswith("{")]
    raw = json.loads(lines[-1]) if lines else {}
    return {**raw, "wall_seconds": round(wall, 3), "cpu_seconds": round(sum(cpu.values()), 3), "peak_rss_bytes": peak}
