#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Idle splitd: what the control plane costs at rest. A real splitd on the
e2e lab (namespaces, real servers, the splitter attached) with probes on:
two VIPs, a TCP probe and an HTTP probe, every 200 ms, on five backends; no
traffic, no rollout. After it settles, its CPU (utime + stime of every
thread, /proc/PID/stat) over SECONDS of wall time, as a share of one core.

Then what the cheapness must not cost: a backend that splitctl adds to a
probed VIP while splitd runs, with no server behind it, is taken DOWN by
the probes; the time from the add to DOWN bounds how soon a new backend is
probed (it includes fall=2 probe intervals).

Usage: idle.py [BUILD_DIR]   (default build; another build's splitd and
splitctl, e.g. an older one, are measured the same way). Prints a markdown
table row and a target line.
"""
import os
import sys
import time

BUILD_ARGUMENT = sys.argv[1] if len(sys.argv) > 1 else "build"
os.environ["XDPSPLIT_BUILD"] = os.path.abspath(BUILD_ARGUMENT)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../tests/e2e"))
import harness  # noqa: E402

SETTLE_SECONDS = 3
SECONDS = 10
TARGET_PERCENT = 0.5
CONFIG = """
daemon: {metrics: 127.0.0.1:9464}
vips:
  - vip: 10.77.100.1:80/tcp
    probe: {type: tcp, port: 80, interval: 200ms, timeout: 150ms, rise: 2, fall: 2}
    backends:
      - {address: 10.77.0.11, pool: blue}
      - {address: 10.77.0.12, pool: blue}
      - {address: 10.77.0.31, pool: canary}
  - vip: 10.77.100.2:80/tcp
    probe: {type: http, port: 8080, path: /healthz, interval: 200ms, timeout: 150ms, rise: 2, fall: 2}
    backends:
      - {address: 10.77.0.21, pool: blue}
      - {address: 10.77.0.22, pool: canary}
"""


def cpu_seconds(pid):
    """utime + stime of the whole process (all its threads)."""
    with open("/proc/%d/stat" % pid) as stat:
        # the command may hold spaces: fields are counted after its ')'
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    build = BUILD_ARGUMENT
    lab = harness.Lab()
    try:
        lab.up()
        splitd = lab.start_splitd(CONFIG)
        # nsenter execs splitd in place: the child is splitd itself
        with open("/proc/%d/comm" % splitd.pid) as comm:
            harness.check(comm.read().strip() == "splitd", "not splitd's pid")
        time.sleep(SETTLE_SECONDS)
        harness.check(all(b["state"] == "up" for vip in ("10.77.100.1:80/tcp", "10.77.100.2:80/tcp")
                          for b in lab.json("backend", "list", vip)),
                      "a probed backend is not UP")
        started, used = time.monotonic(), cpu_seconds(splitd.pid)
        time.sleep(SECONDS)
        used = cpu_seconds(splitd.pid) - used
        percent = 100.0 * used / (time.monotonic() - started)
        # canary2 is in no VIP yet; without its server it fails every probe
        lab.stop_server("canary2")
        added = time.monotonic()
        lab.ok("backend", "add", "10.77.100.1:80/tcp", "green", "10.77.0.32")
        harness.wait_for(lambda: harness.backend_state(
            lab, "10.77.100.1:80/tcp", "10.77.0.32") == "down", 30, "the added backend DOWN")
        down_ms = (time.monotonic() - added) * 1000
        harness.check(splitd.poll() is None, "splitd died")
    finally:
        lab.down()
    print("| idle splitd, probes on (2 VIPs, 5 backends, TCP and HTTP every 200 ms, no traffic), CPU over %d s | %.2f%% of a core (%.2f s) | `bench/idle.py %s` |"
          % (SECONDS, percent, used, build))
    print("| a backend added by splitctl while splitd runs, no server: add to DOWN (200 ms interval, fall 2) | %.0f ms | `bench/idle.py %s` |"
          % (down_ms, build))
    print("target: idle splitd with probes on <= %.1f%% of a core: %.2f%%%s"
          % (TARGET_PERCENT, percent, "" if percent <= TARGET_PERCENT else " (MISSED)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
