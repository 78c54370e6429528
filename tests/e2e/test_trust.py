# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The control plane left alone: a rollout writes only to the VIP it was
started on, a restart changes no weights, one writer owns a route, an
operator's abort or undo breaks no healthy connection, probes never lose a
transition, and a wall-clock step changes no decision."""
import fcntl
import os
import signal
import time

import harness
from fixtures import (ALL_BACKENDS, SWITCH, backends, bake, canary, handshake_rule, pause, policy,
                      splitd_config, start_canary, stop_canary, vip)
from harness import audit_entries, audit_time, check, test, wait_for
from test_network import PROBED  # tcp probes every 200 ms, fall 2, rise 2

VIP = "10.77.100.1:80/tcp"
OTHER = "10.77.100.2:80/tcp"

CONFIG = splitd_config(
    "500ms",
    # the VIPs a test adds (extra) after the first
    [vip(VIP, backends(*ALL_BACKENDS), weights="%(weights)s", rollout="slow"), "%(extra)s\n"],
    [policy("slow", "500ms", [canary(10), pause("2s"), canary(20), pause("60s")]),
     policy("steady", "500ms", [canary(10), pause("60s")]),
     policy("green-now", "500ms", [SWITCH, bake("1s")]),
     policy("bake-long", "500ms", [canary(0), SWITCH, bake("60s")]),
     policy("half-canary", "500ms", [canary(50), pause("60s")], flush_canary="true"),
     policy("on-time", "1s", [canary(10), pause("4200ms"), canary(20), pause("60s")]),
     policy("watched", "500ms", [canary(20), pause("10s"), canary(30), pause("60s")],
            analysis=[handshake_rule(0.9, 5, 1)])])

ONLY_OTHER = splitd_config("500ms", [vip(OTHER, backends("blue1"))])


SECOND_VIP = vip(OTHER, backends("blue2"))


def config(weights="{blue: 100, green: 0, canary: 0}", extra=""):
    return CONFIG % {"weights": weights, "extra": extra}


def status(lab, vip=VIP):
    return lab.json("rollout", "status", vip)["rollouts"][0]


def route(lab, vip=VIP):
    shown = lab.json("vip", "show", vip)
    return {pool: shown[pool] for pool in ("blue", "green", "canary", "live")}


def recreate(lab):
    lab.service(VIP, {"blue": ["blue1"], "canary": ["canary1"]})


def stays(get, good, seconds, what):
    """good(get()) holds at every look for the whole time."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = get()
        check(good(value), "%s: %s" % (what, value))
        time.sleep(0.1)


@test
def rollout_never_writes_to_a_recreated_vip(lab):
    """trust: a rollout ends when its VIP is deleted or dropped by apply, and never writes to the VIP re-created on its id"""
    lab.start_splitd(config())
    for how in ("vip del", "apply"):
        lab.ok("rollout", "start", VIP, "slow")
        wait_for(lambda: route(lab)["canary"] == 10, 10, "canary 10%")
        if how == "vip del":
            lab.ok("vip", "del", VIP)
        else:
            path = os.path.join(lab.state_dir, "other.yaml")
            with open(path, "w") as other:
                other.write(ONLY_OTHER)
            lab.ok("apply", "-f", path)
            check(lab.json("vip", "list")[0]["vip"] == OTHER, "apply kept the VIP")
        recreate(lab)
        fresh = route(lab)
        # apply gave the freed id to OTHER: that one must not be written either
        other = route(lab, OTHER) if how == "apply" else None
        check(fresh["canary"] == 0 and fresh["blue"] == 100, "re-created as %s" % fresh)
        # the old rollout's next step (canary 20%) is due 2 s after its first
        stays(lambda: (route(lab), other and route(lab, OTHER)),
              lambda now: now == (fresh, other), 3.5,
              "the old rollout wrote to the re-created VIP or the id's new VIP (%s)" % how)
        ended = status(lab)
        print("     after %s and re-create: the rollout is %s (%s); the new VIP stayed %s"
              % (how, ended["phase"], ended.get("reason"), fresh))
        check(ended["phase"] == "aborted" and "deleted" in ended.get("reason", ""),
              "rollout after %s: %s" % (how, ended))
        check(audit_entries(lab, "ended: its VIP was deleted"), "no audit line for the end")
        for vip in lab.json("vip", "list"):
            lab.ok("vip", "del", vip["vip"])
        recreate(lab)
        lab.forget_rollouts()
        lab.stop_splitd()
        lab.start_splitd(config())


@test
def restart_keeps_weights(lab):
    """trust: restarts keep a rollout's weights (VIP written 10.77.100.1:0080/tcp) and a finished rollout's outcome; an edited file's weights take effect"""
    lab.start_splitd(config())
    lab.ok("rollout", "start", "10.77.100.1:0080/tcp", "steady")
    wait_for(lambda: route(lab)["canary"] == 10, 10, "canary 10%")
    lab.stop_splitd()
    lab.start_splitd(config())
    after = route(lab)
    check(after["canary"] == 10, "restart mid-rollout gave %s" % after)
    lab.ok("rollout", "abort", VIP)
    lab.ok("rollout", "start", VIP, "green-now")
    wait_for(lambda: status(lab)["phase"] == "succeeded", 10, "the switch to green")
    finished = route(lab)
    check(finished["green"] == 100 and finished["live"] == "green", "finished at %s" % finished)
    lab.stop_splitd()
    lab.start_splitd(config())  # the file still says blue 100
    restarted = route(lab)
    # a reboot: the data plane is new, the state directory is not
    lab.stop_splitd()
    lab.ok("vip", "del", VIP)
    lab.start_splitd(config())
    rebooted = route(lab)
    lab.stop_splitd()
    lab.start_splitd(config("{blue: 50, green: 50, canary: 0}"))
    edited = route(lab)
    print("     mid-rollout restart: canary %s%%; finished rollout %s; after a restart %s; "
          "re-created %s; file edited to 50/50: %s" % (after["canary"], finished, restarted,
                                                        rebooted, edited))
    check(restarted == finished, "a restart changed the weights to %s" % restarted)
    check(rebooted == finished, "a re-created data plane got %s" % rebooted)
    check(edited["blue"] == 50 and edited["green"] == 50, "the edit was not applied: %s" % edited)


@test
def one_writer_per_route(lab):
    """trust: weights, switch and apply on a VIP under rollout are refused or kept, naming it; --force pauses it first"""
    lab.start_splitd(config())
    lab.ok("rollout", "start", VIP, "steady")
    wait_for(lambda: route(lab)["canary"] == 10, 10, "canary 10%")
    before = route(lab)
    weights = lab.splitctl("weights", VIP, "blue", "50", "green", "0", "canary", "50")
    switch = lab.splitctl("switch", VIP, "green")
    path = os.path.join(lab.state_dir, "half.yaml")
    with open(path, "w") as half:
        half.write(config("{blue: 50, green: 0, canary: 50}"))
    dry = lab.ok("apply", "--dry-run", "-f", path)
    print("     weights: exit %d: %s" % (weights.returncode, weights.stderr.strip()))
    check(weights.returncode == 1 and "under a rollout" in weights.stderr and
          "steady" in weights.stderr, "weights under a rollout: %d %s" %
          (weights.returncode, weights.stderr))
    check(switch.returncode == 1 and "under a rollout" in switch.stderr,
          "switch under a rollout: %d %s" % (switch.returncode, switch.stderr))
    check("= weights %s: kept" % VIP in dry and "~ weights" not in dry,
          "apply --dry-run: %s" % dry)
    check(route(lab) == before, "the route changed: %s" % route(lab))
    lab.ok("weights", VIP, "blue", "50", "green", "0", "canary", "50", "--force")
    forced = route(lab)
    state = status(lab)
    check(state["phase"] == "paused", "rollout after --force: %s" % state["phase"])
    check(forced["canary"] == 50 and state["route"]["canary"] == 50,
          "map %s, status %s" % (forced, state["route"]))
    stays(lambda: route(lab), lambda now: now == forced, 3,
          "the paused rollout wrote its route")
    check(audit_entries(lab, "pause by uid 0") and audit_entries(lab, "--force"),
          "the forced write or the pause is not in the audit log")


@test
def operator_abort_and_undo_drain(lab):
    """trust: abort and undo keep the canary's healthy connections (drain); undo works during the bake"""
    lab.start_splitd(config())
    lab.ok("rollout", "start", VIP, "half-canary")
    wait_for(lambda: route(lab)["canary"] == 50, 10, "canary 50%")
    process = lab.client_background("hold", "10.77.100.1", 80, 30, 3)
    time.sleep(0.5)
    lab.ok("rollout", "abort", VIP)
    aborted = time.monotonic()  # the route is written before splitd answers
    result = lab.finish(process)
    held_on_canary = [h for h in result["held"] if h["server"].startswith("canary")]
    broken = [h for h in result["held"] if h["broken"]]
    late = [n for n in result["new"] if n[0] > aborted + 0.2 and n[1].startswith("canary")]
    print("     abort: %d of 30 long-lived connections on the canary, %d broken; "
          "%d new connections to the canary after it" % (len(held_on_canary), len(broken),
                                                        len(late)))
    check(held_on_canary, "no long-lived connection on the canary")
    check(not broken, "abort broke: %s" % broken[:2])
    check(all(h["servers_seen"] == [h["server"].split()[0]] for h in result["held"]),
          "a connection moved")
    check(not late, "new connections still reach the canary: %s" % late[:3])
    lab.ok("rollout", "start", VIP, "bake-long")
    wait_for(lambda: status(lab).get("step_kind") == "bake", 10, "the bake")
    undo = lab.splitctl("rollout", "undo", VIP)
    check(undo.returncode == 0, "undo during the bake: %s" % undo.stderr)
    state = status(lab)
    check(state["phase"] == "rolled-back" and route(lab)["blue"] == 100 and
          route(lab)["live"] == "blue", "after undo: %s %s" % (state["phase"], route(lab)))


def backend_state(lab, address):
    return harness.backend_state(lab, VIP, address)


def hold_pin_lock(lab, seconds, address, state):
    """Holds the pin directory's lock as a slow splitctl would; the
    backend's state must not change meanwhile (the change waits)."""
    fd = os.open(lab.pin_dir, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    time.sleep(seconds)
    held = backend_state(lab, address)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
    check(held == state, "the state changed under the lock: %s" % held)
    return time.monotonic()


@test
def probes_never_lose_a_transition(lab):
    """trust: a backend that dies (or returns) while the pin lock is busy goes DOWN (or UP) once it is free"""
    lab.start_splitd(PROBED)
    wait_for(lambda: backend_state(lab, "10.77.0.11") == "up", 5, "blue1 up")
    lab.stop_server("blue1")
    released = hold_pin_lock(lab, 4, "10.77.0.11", "up")
    down = wait_for(lambda: backend_state(lab, "10.77.0.11") == "down" and time.monotonic(),
                    5, "blue1 DOWN after the lock was released")
    lab.start_server("blue1")
    released_up = hold_pin_lock(lab, 4, "10.77.0.11", "down")
    up = wait_for(lambda: backend_state(lab, "10.77.0.11") == "up" and time.monotonic(),
                  5, "blue1 UP after the lock was released")
    print("     lock held 4 s each time: DOWN %.0f ms and UP %.0f ms after it was free"
          % ((down - released) * 1000, (up - released_up) * 1000))


@test
def steps_end_on_time(lab):
    """trust: a 4.2 s pause with a 1 s interval ends on time, across a restart"""
    lab.start_splitd(config())
    lab.ok("rollout", "start", VIP, "on-time")
    wait_for(lambda: route(lab)["canary"] == 10, 10, "canary 10%")
    started = audit_time(audit_entries(lab, "started with policy on-time")[-1])
    time.sleep(0.5)
    lab.stop_splitd()
    lab.start_splitd(config())
    wait_for(lambda: route(lab)["canary"] == 20, 10, "canary 20%")
    ended = audit_time(audit_entries(lab, "step 4/4 (pause)")[-1])
    late = ended - started - 4.2
    print("     the pause lasted %.3f s (4.2 s asked, a restart in it): %.0f ms late"
          % (ended - started, late * 1000))
    check(-0.05 < late < 0.25, "the pause ended %.0f ms late" % (late * 1000))


def step_wall_clock(seconds):
    """The machine's real clock, as an operator's date(1) or a bad NTP
    answer steps it: namespaces do not isolate it, so the test restores it
    (from the monotonic time that passed) however it ends."""
    time.clock_settime(time.CLOCK_REALTIME, time.clock_gettime(time.CLOCK_REALTIME) + seconds)


@test
def wall_clock_steps_change_nothing(lab):
    """trust: a wall-clock step of +1 h ends no pause, one of -1 h stops no analysis"""
    lab.start_splitd(config())
    lab.ok("rollout", "start", VIP, "watched")
    wait_for(lambda: route(lab)["canary"] == 20, 10, "canary 20%")
    wall, mono = time.clock_gettime(time.CLOCK_REALTIME), time.monotonic()
    try:
        step_wall_clock(3600)
        stays(lambda: route(lab), lambda now: now["canary"] == 20, 2,
              "+1 h ended the 10 s pause")
        step_wall_clock(-7200)
        process = lab.client_background("hold", "10.77.100.1", 80, 1, 4)
        time.sleep(0.5)
        stop_canary(lab)
        stopped = time.monotonic()
        rolled = wait_for(lambda: route(lab)["canary"] == 0 and time.monotonic(), 5,
                          "a rollback with the clock 1 h behind")
        lab.finish(process)
    finally:
        time.clock_settime(time.CLOCK_REALTIME, wall + time.monotonic() - mono)
        start_canary(lab)
    print("     +1 h: the pause held; -1 h: the broken canary rolled back %.0f ms after "
          "its servers stopped" % ((rolled - stopped) * 1000))
    check(status(lab)["phase"] == "rolled-back", "phase %s" % status(lab)["phase"])


def reload(lab, text, outcome):
    """Writes the file splitd reads, sends SIGHUP, waits for the audit line."""
    before = len(audit_entries(lab, "splitd: reload"))
    with open(os.path.join(lab.state_dir, "splitd.yaml"), "w") as config_file:
        config_file.write(text)
    sent = time.monotonic()
    lab.splitd.send_signal(signal.SIGHUP)
    entry = wait_for(lambda: len(audit_entries(lab, "splitd: reload")) > before and
                     audit_entries(lab, "splitd: reload")[-1], 10, "the reload's audit line")
    check(outcome in entry["command"], "reload said: %s" % entry["command"])
    return time.monotonic() - sent


@test
def sighup_reloads(lab):
    """trust: SIGHUP applies the edited file as apply -f would, audited; a bad file changes nothing; a rollout keeps its weights"""
    lab.start_splitd(config())
    took = reload(lab, config("{blue: 90, green: 0, canary: 10}", SECOND_VIP), "reloaded")
    check(route(lab)["canary"] == 10, "the edited weights: %s" % route(lab))
    check(sorted(v["vip"] for v in lab.json("vip", "list")) == [VIP, OTHER],
          "VIPs after the reload: %s" % lab.json("vip", "list"))
    before = (route(lab), lab.json("vip", "list"), lab.json("backend", "list", VIP))
    reload(lab, "vips: [[[\n", "refused")
    reload(lab, config("{blue: 90, green: 0, canary: 10}").replace("10.77.0.11", "10.77.0.311"),
           "refused")
    check(lab.splitd.poll() is None, "splitd died on a bad file")
    check((route(lab), lab.json("vip", "list"), lab.json("backend", "list", VIP)) == before,
          "a refused reload changed something")
    lab.ok("rollout", "start", VIP, "slow")
    wait_for(lambda: route(lab)["canary"] == 20, 10, "canary 20%")
    reload(lab, config("{blue: 50, green: 0, canary: 50}", SECOND_VIP), "reloaded")
    during = route(lab)
    print("     reload applied in %.0f ms; two bad files refused, nothing changed; "
          "under a rollout the file's 50/50 gave %s" % (took * 1000, during))
    check(during["canary"] == 20, "the reload took the route from the rollout: %s" % during)
    check(status(lab)["phase"] == "running", "the rollout after the reload: %s" % status(lab))


V6 = "[fd77:100::1]:80/tcp"


def first_mixed(answers):
    """Connections answered by blue after another one had been answered by
    green: moments when the two families saw different weights."""
    seen_green, mixed = False, []
    for when, address, server in sorted(answers):
        if server.startswith("green"):
            seen_green = True
        elif server.startswith("blue") and seen_green:
            mixed.append([when, address, server])
    return mixed


def switch_under_traffic(lab, commands):
    process = lab.client_background("alternate", "10.77.100.1,fd77:100::1", 80, 3)
    time.sleep(1.0)
    for command in commands:
        lab.ok(*command)
    answers = lab.finish(process)["answers"]
    failed = [a for a in answers if a[2].startswith("error")]
    check(not failed, "connections failed: %s" % failed[:3])
    for address in ("10.77.100.1", "fd77:100::1"):
        servers = {a[2].rstrip("0123456789") for a in answers if a[1] == address}
        check(servers == {"blue", "green"}, "%s saw %s" % (address, servers))
    return answers, first_mixed(answers)


@test
def service_switches_as_one(lab):
    """trust: a dual-stack service (v4 and v6 VIPs sharing one route) switches blue->green in one write: no moment where v4 and v6 clients see different weights"""
    def services(shared):
        lab.service(VIP, {"blue": ["blue1"], "green": ["green1"], "canary": ["canary1"]})
        lab.ok("vip", "add", V6, *(["share", VIP] if shared else []))
        for pool, name in (("blue", "blue1"), ("green", "green1"), ("canary", "canary1")):
            lab.ok("backend", "add", V6, pool, "fd77::" + {"blue1": "11", "green1": "21",
                                                           "canary1": "31"}[name])

    def clear():
        lab.ok("vip", "del", V6)
        lab.ok("vip", "del", VIP)

    services(shared=False)
    answers, apart = switch_under_traffic(lab, [("switch", VIP, "green"),
                                                ("switch", V6, "green")])
    clear()
    services(shared=True)
    refused = lab.splitctl("vip", "del", VIP)
    check(refused.returncode == 1 and "first of a service" in refused.stderr,
          "deleting the service's first VIP: %s" % refused.stderr)
    answers, together = switch_under_traffic(lab, [("switch", V6, "green")])
    print("     %d connections alternating v4/v6 across the switch; two route entries: %d "
          "answered by blue after another had green; one shared entry: %d"
          % (len(answers), len(apart), len(together)))
    check(not together, "v4 and v6 saw different weights: %s" % together[:3])
    lab.start_splitd(CONFIG_SERVICE)
    lab.ok("rollout", "start", V6, "slow")
    wait_for(lambda: route(lab)["canary"] == 10 and route(lab, V6)["canary"] == 10, 10,
             "canary 10% on both")
    state = status(lab, V6)
    check(state["vip"] == VIP and state["service"] == [VIP, V6],
          "the service's rollout: %s %s" % (state["vip"], state["service"]))
    check(lab.splitctl("weights", V6, "blue", "50", "green", "0", "canary", "50").returncode
          == 1, "weights on the service's other VIP during its rollout")
    lab.ok("rollout", "abort", V6)
    check(route(lab)["canary"] == 0 and route(lab, V6)["canary"] == 0, "after the abort")
    lab.stop_splitd()
    clear()


CONFIG_SERVICE = splitd_config(
    "500ms",
    [vip(VIP, backends("blue1", "green1", "canary1")),
     vip('"%s"' % V6, backends("blue1", "green1", "canary1", v6=True), share=VIP)],
    [policy("slow", "500ms", [canary(10), pause("60s")])])


@test
def sigterm_during_a_reload(lab):
    """trust: SIGTERM while a reload waits for a backend's MAC: splitd exits within 1 s and the reload changes nothing"""
    lab.start_splitd(config())
    before = (route(lab), lab.json("vip", "list"), lab.json("backend", "list", VIP))
    # on the backends' network, but no host answers ARP for it: 3 s of resolving
    with open(os.path.join(lab.state_dir, "splitd.yaml"), "w") as config_file:
        config_file.write(config("{blue: 50, green: 50, canary: 0}").replace(
            "      - {address: 10.77.0.32, pool: canary}\n",
            "      - {address: 10.77.0.32, pool: canary}\n"
            "      - {address: 10.77.0.99, pool: canary}\n"))
    lab.splitd.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    sent = time.monotonic()
    lab.splitd.terminate()
    lab.splitd.wait(timeout=10)
    took = time.monotonic() - sent
    lab.splitd = None
    after = (route(lab), lab.json("vip", "list"), lab.json("backend", "list", VIP))
    print("     SIGTERM 0.5 s into a reload resolving an absent backend: exited in %.0f ms"
          % (took * 1000))
    check(took < 1.0, "splitd took %.2f s to stop" % took)
    check(after == before, "the abandoned reload changed something")
