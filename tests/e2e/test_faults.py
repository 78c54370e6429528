# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""splitd killed with SIGKILL at 20 moments of a rollout, some of them chosen
exactly (in the middle of writing the state file, after the state is written
but before its rename, between recording a decision and writing it to the
map), the others at random; and a state directory that cannot be written."""
import json
import os
import random
import re
import subprocess
import time

from fixtures import (ALL_BACKENDS, SWITCH, backends, bake, canary, pause, policy, splitd_config,
                      vip)
from harness import check, test, wait_for

VIP = "10.77.100.1:80/tcp"

CONFIG = splitd_config("100ms", [vip(VIP, backends(*ALL_BACKENDS), rollout="stepper")], [
    policy("stepper", "100ms",
           [step for share in (5, 10, 20, 30, 50) for step in (canary(share), pause("3s"))]
           + [canary(0), SWITCH, bake("3s")])])

CLOCK_LINE = re.compile(r"clock boot=[0-9a-f-]{36} now=\d+\n")
STATE_LINE = re.compile(
    r"rollout \S+ generation=[1-9]\d* \S+ phase=\d+ step=\d+ started=\d+ paused=\d+ from=\d+ to=\d+"
    r" canary=\d+ switched=[01] promote=[01] pending=[01]"
    r" consecutive=[\d,]+ total=[\d,]+ reason=.*\n")
KILLS_AT = ["state-partial"] * 3 + ["state-before-rename"] * 3 + \
    ["route-pending"] * 4 + ["random"] * 10


def state_is_whole(lab):
    """The state file is the header and whole records, nothing else."""
    with open(os.path.join(lab.state_dir, "rollouts.state")) as state:
        lines = state.readlines()
    return len(lines) >= 2 and lines[0] == "xdpsplit-state 2\n" and \
        CLOCK_LINE.fullmatch(lines[1]) and \
        all(STATE_LINE.fullmatch(line) for line in lines[2:])


def audit_is_whole(lab):
    """Every audit line is a whole JSON object ending in a newline."""
    with open(os.path.join(lab.state_dir, "audit.log"), "rb") as log:
        data = log.read()
    if data and not data.endswith(b"\n"):
        return False
    for line in data.splitlines():
        try:
            json.loads(line)
        except ValueError:
            return False
    return True


def map_route(lab):
    shown = lab.json("vip", "show", VIP)
    return {pool: shown[pool] for pool in ("blue", "green", "canary")}


def consistent(lab):
    """The map holds the route of the recorded step (read around the map, as
    splitd may take a step in between). Returns (step, phase)."""
    first = lab.json("rollout", "status", VIP)["rollouts"][0]
    in_map = map_route(lab)
    second = lab.json("rollout", "status", VIP)["rollouts"][0]
    routes = [{pool: s["route"][pool] for pool in ("blue", "green", "canary")}
              for s in (first, second)]
    check(in_map in routes, "the map has %s, the state says %s" % (in_map, routes))
    return second["step"], second["phase"]


def wait_for_log(lab, offset, needle, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with open(os.path.join(lab.state_dir, "splitd.log")) as log:
            log.seek(offset)
            if needle in log.read():
                return True
        time.sleep(0.02)
    return False


def log_size(lab):
    return os.path.getsize(os.path.join(lab.state_dir, "splitd.log"))


def invalid_routes_seen(lab):
    return lab.json("stats")["global"]["pass_invalid_route"]


@test
def twenty_kills_during_a_rollout(lab):
    """faults: kill -9 splitd at 20 moments of a rollout; state, audit, route stay whole"""
    seed = int(time.time())
    rng = random.Random(seed)
    kills = list(KILLS_AT)
    rng.shuffle(kills)
    # the first kill takes the splitd that started the rollout
    kills.remove("random")
    kills.insert(0, "random")
    lab.start_splitd(CONFIG)
    lab.ok("rollout", "start", VIP)
    invalid_before = invalid_routes_seen(lab)
    traffic = lab.client_background("hold", "10.77.100.1", 80, 10, 35)
    steps, reached = [], {}
    highest = 0
    for kind in kills:
        if kind == "random":
            if not lab.splitd:
                lab.start_splitd(CONFIG)
            step, phase = consistent(lab)
            check(step >= highest, "resumed at step %d after step %d" % (step, highest))
            check(phase in ("running", "succeeded"), "phase %s after a restart" % phase)
            highest = step
            steps.append(step)
            time.sleep(rng.uniform(0, 0.6))
        else:
            offset = log_size(lab)
            lab.start_splitd(CONFIG, {"XDPSPLIT_FAULT_PAUSE": kind}, wait=False)
            reached[kind] = reached.get(kind, 0) + wait_for_log(
                lab, offset, "fault point " + kind, 10)
        lab.stop_splitd(kill=True)
        check(state_is_whole(lab), "the state file is damaged after a kill (%s)" % kind)
        check(audit_is_whole(lab), "the audit log has a torn line after a kill (%s)" % kind)
    lab.start_splitd(CONFIG)
    wait_for(lambda: consistent(lab)[1] == "succeeded", 30, "the rollout to finish")
    final = map_route(lab)
    result = lab.finish(traffic)
    failed = [n for n in result["new"] if n[1].startswith("error")]
    invalid = invalid_routes_seen(lab) - invalid_before
    print("     seed %d: 20 kills (%s); stopped exactly at %s; steps after the random"
          " restarts %s; final route %s; %d of %d connections failed, %d packets saw an"
          " invalid route" % (seed, ", ".join(kills), reached, steps, final, len(failed),
                             len(result["new"]), invalid))
    check(all(reached.get(k, 0) == KILLS_AT.count(k) for k in reached),
          "a fault point was not reached: %s" % reached)
    check(final == {"blue": 0, "green": 100, "canary": 0}, "final route %s" % final)
    check(invalid == 0, "%d packets met an invalid route" % invalid)
    check(not failed, "connections failed: %s" % failed[:3])
    check(all(not h["broken"] for h in result["held"]), "a long-lived connection broke")


def state_write_failures(lab):
    found = re.search(r"^xdpsplit_state_write_failures_total (\d+)$", lab.metrics(), re.M)
    return int(found.group(1)) if found else -1


def holds_still(lab, what):
    """Four seconds (longer than a pause step) without a step or a route change."""
    before, route = consistent(lab), map_route(lab)
    time.sleep(4.0)
    after = consistent(lab)
    check(after == before and map_route(lab) == route,
          "the rollout moved with the state directory %s: %s -> %s" % (what, before, after))
    return after


@test
def unwritable_state_stops_the_rollout(lab):
    """faults: state directory full, then read-only: the rollout holds, says so, resumes"""
    state_dir = lab.state_dir + "-small"
    os.makedirs(state_dir, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", state_dir], check=True)
    try:
        lab.start_splitd(CONFIG, {"XDPSPLIT_STATE_DIR": state_dir})
        lab.ok("rollout", "start", VIP)
        wait_for(lambda: consistent(lab)[0] >= 2, 10, "step 2")

        # full: fill what is left, then the next step cannot be recorded
        subprocess.run(["dd", "if=/dev/zero", "of=" + state_dir + "/filler", "bs=4k"],
                       capture_output=True)
        step, _ = holds_still(lab, "full")
        failures = state_write_failures(lab)
        served = lab.client("connect", "10.77.100.1", 80, 200)
        os.unlink(state_dir + "/filler")
        wait_for(lambda: consistent(lab)[0] > step, 5, "a step once space is back")

        # read-only: the same
        subprocess.run(["mount", "-o", "remount,ro", state_dir], check=True)
        ro_step, _ = holds_still(lab, "read-only")
        ro_failures = state_write_failures(lab)
        subprocess.run(["mount", "-o", "remount,rw", state_dir], check=True)
        wait_for(lambda: consistent(lab)[0] > ro_step, 5, "a step once writable")
        with open(os.path.join(lab.state_dir, "splitd.log")) as f:
            log = f.read()
        print("     full: held at step %d, %d write failures counted, 200 connections"
              " served (%d failed); read-only: held at step %d, %d failures; resumed both"
              " times" % (step, failures, len(served["errors"]), ro_step, ro_failures))
        check(failures > 0, "no state write failure counted when full")
        check(ro_failures > failures, "no state write failure counted when read-only")
        check("No space left on device" in log and "Read-only file system" in log and
              "recorded again" in log, "splitd did not say why it held: " + log[-500:])
        check(not served["errors"], "connections failed while the rollout held")
    finally:
        lab.stop_splitd()
        subprocess.run(["umount", state_dir], check=False)
        os.rmdir(state_dir)
