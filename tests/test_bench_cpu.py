"""The benches' CPU accounting from /proc: a process tree, processes by name, odd command names."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import cpu

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")

BURN = "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end: pass\n"


def _child(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


def test_tree_counts_a_live_child_and_a_reaped_one() -> None:
    before = cpu.tree(os.getpid())
    sleeper = _child(BURN.format(seconds=0.3) + "time.sleep(30)\n")
    try:
        subprocess.run([sys.executable, "-c", BURN.format(seconds=0.3)], check=True)  # reaped: cutime
        deadline = time.monotonic() + 10
        while (cpu.read_process(sleeper.pid) or cpu.ProcessCpu(0, 0, "", 0.0)).seconds < 0.3:
            assert time.monotonic() < deadline, "the child never burnt its CPU"
            time.sleep(0.05)
        after = cpu.tree(os.getpid())
    finally:
        sleeper.kill()
        sleeper.wait()
    assert after - before >= 0.5
    assert cpu.tree(sleeper.pid) == 0.0  # gone: nothing left to count


def test_a_command_name_with_spaces_and_parentheses_is_read() -> None:
    code = (
        "open('/proc/self/comm', 'w').write('a) (b c')\n"
        + BURN.format(seconds=0.2)
        + "import time\ntime.sleep(30)\n"
    )
    odd = _child(code)
    try:
        deadline = time.monotonic() + 10
        while (found := cpu.read_process(odd.pid)) is None or found.name != "a) (b c" or found.seconds < 0.2:
            assert time.monotonic() < deadline, f"never read the renamed child: {found}"
            time.sleep(0.05)
        assert found.parent == os.getpid()
        assert cpu.named(["a) (b"]) >= 0.2
        assert cpu.named(["no such program"]) == 0.0
    finally:
        odd.kill()
        odd.wait()


def test_a_split_subtracts_an_earlier_reading() -> None:
    earlier = cpu.CpuSplit(workers=1.0, database=2.0, broker=0.5)
    later = cpu.CpuSplit(workers=4.0, database=3.5, broker=0.75)
    used = later.minus(earlier)
    assert used == cpu.CpuSplit(3.0, 1.5, 0.25)
    assert used.total == pytest.approx(4.75)
