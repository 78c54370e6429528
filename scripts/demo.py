#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""make demo: a progressive delivery, live, on namespaces of this machine.

A client sends steady traffic to a VIP with blue, green and canary backends.
splitd (with examples/xdpsplit.yaml) rolls a canary out 1% -> 5% -> 25%; the
canary is then broken on purpose and splitd rolls it back on its own. A
second rollout is healthy, promoted at its gate, and switches blue -> green.
The audit log is printed at the end and everything is cleaned up.
"""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../tests/e2e"))
from harness import ROOT, Lab  # noqa: E402  (the tests' namespace lab)

VIP = "10.77.100.1:80/tcp"
RATE = 60


class Traffic:
    """The client's running totals, read from its JSON lines."""

    def __init__(self, lab):
        self.totals = {"servers": {}, "failed": 0}
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", lab.ns("client"), "/usr/bin/python3",
             os.path.join(ROOT, "tests/e2e/client.py"), "steady", "10.77.100.1", "80",
             str(RATE)], stdout=subprocess.PIPE, text=True)
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.process.stdout:
            self.totals = json.loads(line)

    def stop(self):
        self.process.kill()
        self.process.wait()


def pools(servers):
    counts = {"blue": 0, "green": 0, "canary": 0}
    for name, count in servers.items():
        for pool in counts:
            if name.startswith(pool):
                counts[pool] += count
    return counts


def watch(lab, traffic, seconds, until=None, started=[time.monotonic()]):
    """A line a second: step, weights, connections per pool in that second."""
    last = pools(traffic.totals["servers"])
    last_failed = traffic.totals["failed"]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(1)
        rollout = lab.json("rollout", "status", VIP)["rollouts"][0]
        now, failed = pools(traffic.totals["servers"]), traffic.totals["failed"]
        route = rollout["route"]
        print("%4.0fs  %-11s step %2s/%-2s %-7s  weights blue %6.2f%% green %6.2f%% canary %6.2f%%"
              "  |  conn/s  blue %3d  green %3d  canary %3d  failed %d"
              % (time.monotonic() - started[0], rollout["phase"], rollout["step"],
                 rollout["steps"], rollout.get("step_kind", ""), route["blue"],
                 route["green"], route["canary"], now["blue"] - last["blue"],
                 now["green"] - last["green"], now["canary"] - last["canary"],
                 failed - last_failed), flush=True)
        last, last_failed = now, failed
        if until and until(rollout):
            return rollout
    return None


def say(text):
    print("\n== " + text, flush=True)


def main():
    if os.geteuid() != 0:
        sys.exit("make demo needs root: it builds network namespaces and loads XDP")
    lab = Lab()
    lab.prefix = "demo"
    traffic = None
    try:
        say("network: a client, the load balancer, two backends each for blue, green, canary")
        lab.up(attach=False)  # splitd attaches XDP itself, from the configuration
        with open(os.path.join(ROOT, "examples/xdpsplit.yaml")) as example:
            config = example.read()
        say("splitd starts with examples/xdpsplit.yaml (attaches XDP to the LB's eth0)")
        lab.start_splitd(config)
        print(lab.ok("vip", "show", VIP), end="")
        traffic = Traffic(lab)
        time.sleep(2)

        say("rollout 1: canary 1% -> 5% -> 25%, analysed every second")
        lab.ok("rollout", "start", VIP)
        watch(lab, traffic, 60, until=lambda r: r["route"]["canary"] >= 25)
        watch(lab, traffic, 3)
        say("the canary breaks: its servers stop answering")
        lab.stop_server("canary1")
        lab.stop_server("canary2")
        rolled = watch(lab, traffic, 15, until=lambda r: r["phase"] != "running")
        say("splitd %s: %s" % (rolled["phase"], rolled.get("reason", "")) if rolled
            else "no rollback?")
        watch(lab, traffic, 2)
        lab.start_server("canary1")
        lab.start_server("canary2")

        say("rollout 2: the fixed canary, promoted at its gate, then blue -> green")
        time.sleep(1)
        lab.ok("rollout", "start", VIP)
        watch(lab, traffic, 60, until=lambda r: r.get("step_kind") == "gate")
        watch(lab, traffic, 2)
        say("the operator promotes: splitctl rollout promote " + VIP)
        lab.ok("rollout", "promote", VIP)
        done = watch(lab, traffic, 30, until=lambda r: r["phase"] == "succeeded")
        watch(lab, traffic, 2)
        say("rollout 2 %s: %s" % (done["phase"], done.get("reason", "")) if done
            else "rollout 2 did not finish")
        totals = traffic.totals
        print("client: %d connections served, %d failed (the broken canary's, before the rollback)"
              % (sum(totals["servers"].values()), totals["failed"]))

        say("audit log (splitctl history)")
        print(lab.ok("history"), end="")
    finally:
        if traffic:
            traffic.stop()
        say("cleaning up: splitd, XDP, namespaces, pins")
        lab.down()


if __name__ == "__main__":
    main()
