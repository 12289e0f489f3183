"""The machine a benchmark ran on."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import psutil


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_info() -> dict:
    memory = psutil.virtual_memory()
    freq = None
    try:
        current = psutil.cpu_freq()
        freq = round(current.current) if current else None
    except (OSError, NotImplementedError, AttributeError):
        pass
    load = None
    try:
        load = [round(x, 2) for x in psutil.getloadavg()]
    except (OSError, AttributeError):
        pass
    return {
        "cpu_model": cpu_model(),
        "cpu_mhz": freq,
        "logical_cores": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "ram_bytes": memory.total,
        "ram_gib": round(memory.total / 2**30, 1),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "python_executable": sys.executable,
        "os": platform.platform(),
        "load_average_at_start": load,
    }
