# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""splitd end to end: automatic rollback of a broken canary, a healthy
rollout through a blue->green switch, kill -9 in the middle of a rollout,
and the control socket refusing what it must."""
import json
import os
import re
import socket
import subprocess
import time

import harness
from fixtures import (ALL_BACKENDS, GATE, SWITCH, backends, bake, canary, handshake_rule,
                      p99_rule, pause, policy, probe, prometheus_errors_rule, splitd_config,
                      start_canary, stop_canary, vip)
from harness import BUILD, Skip, audit_entries, audit_time, check, test, wait_for

VIP = "10.77.100.1:80/tcp"

CONFIG = splitd_config("500ms", [vip(VIP, backends(*ALL_BACKENDS), rollout="%(policy)s")], [
    policy("broken-canary", "500ms", [canary(20), pause("60s")],
           analysis=[handshake_rule(0.9, 5, 1)]),
    policy("healthy", "500ms",
           [canary(10), pause("1s"), canary(50), pause("1s"), GATE, canary(0), SWITCH,
            bake("1s")],
           analysis=[handshake_rule(0.9, 5, 2)]),
    policy("slow", "500ms", [canary(10), pause("2s"), canary(20), pause("60s")])])


def config(policy):
    return CONFIG % {"policy": policy}


def status(lab):
    return lab.json("rollout", "status", VIP)["rollouts"][0]


@test
def broken_canary_rolls_back(lab):
    """splitd: a canary whose servers stop is rolled back within one interval"""
    lab.start_splitd(config("broken-canary"))
    lab.ok("rollout", "start", VIP)
    process = lab.client_background("hold", "10.77.100.1", 80, 1, 6)
    try:
        time.sleep(2.0)
        killed_wall, killed = time.time(), time.monotonic()
        stop_canary(lab)
        result = lab.finish(process)
    finally:
        start_canary(lab)
    state = status(lab)
    check(state["phase"] == "rolled-back", "phase %s" % state["phase"])
    check(state["route"]["canary"] == 0, "route %s" % state["route"])
    rollback = audit_entries(lab, "rolled back")[-1]
    reaction = audit_time(rollback) - killed_wall
    failed = [n for n in result["new"] if n[1].startswith("error")]
    late = [n for n in result["new"] if n[0] > killed + reaction + 0.5 and
            (n[1].startswith("error") or n[1].startswith("canary"))]
    print("     rollback %.0f ms after the canary's servers stopped (interval 500 ms); "
          "%d of %d new connections failed, all before it; %d reached the canary after"
          % (reaction * 1000, len(failed), len(result["new"]), len(late)))
    check(reaction < 1.5, "reaction %.2f s" % reaction)
    check(not late, "after the rollback: %s" % late[:3])
    check("canary-handshakes" in rollback["command"], "audit reason: %s" % rollback)
    metrics = lab.metrics()
    check(re.search(r'xdpsplit_rollbacks_total\{vip="%s",reason="canary-handshakes"\} 1'
                    % re.escape(VIP), metrics),
          "xdpsplit_rollbacks_total{reason=canary-handshakes} is not 1")
    # every connection of the test confirmed its flow: none is only pending
    confirmed = re.search(r'xdpsplit_flow_table_entries\{table="confirmed"\} (\d+)', metrics)
    check(confirmed and int(confirmed.group(1)) >= len(result["new"]) - len(failed),
          "confirmed flow entries: %s" % (confirmed and confirmed.group(1)))
    # one table, two kinds of entry: 65,536 flows in 131,072 ways
    check('xdpsplit_flow_table_capacity{table="pending"} 131072' in metrics and
          'xdpsplit_flow_table_capacity{table="confirmed"} 131072' in metrics,
          "no flow table capacity in the metrics")


@test
def healthy_rollout_switches_to_green(lab):
    """splitd: a healthy rollout reaches the gate, is promoted and switches to green"""
    lab.start_splitd(config("healthy"))
    lab.ok("rollout", "start", VIP)
    process = lab.client_background("hold", "10.77.100.1", 80, 10, 7)
    wait_for(lambda: status(lab)["step_kind"] == "gate", 10, "the gate")
    gate = status(lab)
    lab.ok("rollout", "promote", VIP)
    result = lab.finish(process)
    final = wait_for(lambda: status(lab)["phase"] == "succeeded" and status(lab), 10,
                     "success")
    failed = [n for n in result["new"] if n[1].startswith("error")]
    print("     at the gate: canary %s%%; after: %s; %d new connections, %d failed"
          % (gate["route"]["canary"], final["route"], len(result["new"]), len(failed)))
    check(gate["route"]["canary"] == 50, "gate route %s" % gate["route"])
    check(final["route"]["green"] == 100 and final["route"]["live"] == "green",
          "final route %s" % final["route"])
    check(not failed, "failed: %s" % failed[:3])
    check(all(not h["broken"] for h in result["held"]), "a long-lived connection broke")
    shown = lab.json("vip", "show", VIP)
    check(shown["green"] == 100, "the map says %s" % shown)


@test
def kill_splitd_mid_rollout(lab):
    """splitd: kill -9 mid-rollout keeps traffic flowing; restart resumes the step"""
    lab.start_splitd(config("slow"))
    lab.ok("rollout", "start", VIP)
    wait_for(lambda: status(lab)["step"] == 4, 10, "step 4")
    before = status(lab)
    process = lab.client_background("hold", "10.77.100.1", 80, 10, 4)
    lab.stop_splitd(kill=True)
    time.sleep(1.5)
    shown = lab.json("vip", "show", VIP)
    lab.start_splitd(config("slow"))
    after = status(lab)
    result = lab.finish(process)
    failed = [n for n in result["new"] if n[1].startswith("error")]
    print("     killed at step %d (canary %s%%); restarted at step %d (%s), canary %s%%; "
          "%d connections during, %d failed"
          % (before["step"], before["route"]["canary"], after["step"], after["phase"],
             after["route"]["canary"], len(result["new"]), len(failed)))
    check(shown["canary"] == 20, "weights changed while splitd was dead: %s" % shown)
    check(after["step"] == 4 and after["phase"] == "running", "resumed at %s" % after)
    check(after["route"]["canary"] == 20, "route after restart %s" % after["route"])
    check(not failed and all(not h["broken"] for h in result["held"]),
          "connections failed while splitd was down")


def raw_request(lab, payload, user=None):
    """Sends bytes to the control socket (as another user if given)."""
    code = ("import socket,sys;s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);"
            "s.sendall(sys.stdin.buffer.read());s.shutdown(socket.SHUT_WR);"
            "print(s.recv(65536).decode())")
    command = ["/usr/bin/python3", "-c", code, os.path.join(lab.run_dir, "splitd.sock")]
    if user:
        command = ["setpriv", "--reuid=%d" % user, "--regid=%d" % user,
                   "--clear-groups"] + command
    result = subprocess.run(command, input=payload, capture_output=True, timeout=20)
    return result.stdout.decode() + result.stderr.decode()


@test
def control_socket_refuses_bad_requests(lab):
    """splitd: malformed, oversized and unauthorised control requests change nothing"""
    lab.start_splitd(config("slow"))
    os.chmod(lab.run_dir, 0o755)
    before = lab.json("vip", "show", VIP)
    for payload, expect in ((b"rollout launch 10.77.100.1:80/tcp\n", "unknown request"),
                            (b"rollout start\n", "unknown request"),
                            (b"rollout start 10.77.100.1:80/tcp slow extra\n", "unknown request"),
                            (b"\x00\xff garbage\n", "one line of text"),
                            (b"\xff\xfe rollout\n", "unknown request"),
                            (b"x" * 10000 + b"\n", "at most 4096 bytes"),
                            (b"rollout status", "one line of text"),
                            (b"rollout start not-a-vip\n", "not a VIP"),
                            (b"rollout start 10.77.100.9:80/tcp\n", "no VIP"),
                            (b"rollout start 10.77.100.1:80/tcp nosuch\n", "no rollout policy")):
        answer = raw_request(lab, payload)
        check(expect in answer, "%r: %s" % (payload[:40], answer[:200]))
    os.chmod(lab.run_dir, 0o755)
    answer = raw_request(lab, b"rollout start 10.77.100.1:80/tcp\n", user=65534)
    check("permission denied" in answer or "Permission denied" in answer,
          "nobody was let in: %s" % answer[:200])
    check(lab.json("rollout", "status")["rollouts"] == [], "a rollout exists")
    check(lab.json("vip", "show", VIP) == before, "the VIP changed")
    check(lab.splitd.poll() is None, "splitd died")


PROBED = splitd_config("500ms", [vip(VIP, backends("blue1", "blue2"),
                                     probe=probe(kind="%s"))])


def backend_state(lab, address):
    return harness.backend_state(lab, VIP, address)


@test
def probe_takes_a_dead_backend_out_and_back(lab):
    """probes: a backend that stops answering goes DOWN, and UP when it is back"""
    lab.start_splitd(PROBED % "tcp")
    check(backend_state(lab, "10.77.0.11") == "up", "blue1 not up at start")
    try:
        stopped = time.monotonic()
        lab.stop_server("blue1")
        wait_for(lambda: backend_state(lab, "10.77.0.11") == "down", 5, "blue1 DOWN")
        detected = time.monotonic() - stopped
        result = lab.client("connect", "10.77.100.1", 80, 200)
    finally:
        lab.start_server("blue1")
    wait_for(lambda: backend_state(lab, "10.77.0.11") == "up", 5, "blue1 UP again")
    back = lab.client("connect", "10.77.100.1", 80, 200)
    print("     DOWN %.0f ms after its server stopped (200 ms interval, fall 2); "
          "while down %s; back up: %s" % (detected * 1000, result["servers"], back["servers"]))
    check(result["servers"] == {"blue2": 200} and not result["errors"],
          "while down: %s %s" % (result["servers"], result["errors"][:2]))
    check(back["servers"].get("blue1", 0) > 0, "blue1 gets nothing after coming back")
    check(audit_entries(lab, "DOWN after 2 failed probes"), "no audit entry for DOWN")


@test
def http_probe_checks_the_status(lab):
    """probes: an HTTP probe keeps 200-answering backends UP and takes down the others"""
    healthy = (PROBED % "http").replace("port: 80,", "port: 8080, path: /healthz, status: 200,")
    lab.start_splitd(healthy)
    time.sleep(1.5)
    check(backend_state(lab, "10.77.0.11") == "up" and
          backend_state(lab, "10.77.0.12") == "up", "a healthy backend went down")
    lab.stop_splitd()
    lab.start_splitd(healthy.replace("/healthz", "/broken"))
    wait_for(lambda: backend_state(lab, "10.77.0.11") == "down" and
             backend_state(lab, "10.77.0.12") == "down", 5, "both DOWN on HTTP 500")
    result = lab.client("connect", "10.77.100.1", 80, 2)
    check(len(result["errors"]) == 2, "a VIP with no healthy backend still served: %s"
          % result["servers"])


@test
def probe_finds_a_backend_splitctl_adds(lab):
    """probes: a backend splitctl adds while splitd runs is probed within a second: DOWN with no server, UP once it has one"""
    lab.start_splitd(PROBED % "tcp")
    # splitd reads the backends map when splitctl lets go of the pin
    # directory (about fall probe intervals to DOWN then), and every second
    # if it cannot watch the directory: 2 s bounds both
    lab.stop_server("green1")
    try:
        added = time.monotonic()
        lab.ok("backend", "add", VIP, "green", "10.77.0.21")
        wait_for(lambda: backend_state(lab, "10.77.0.21") == "down", 2, "the added backend DOWN")
        down = time.monotonic() - added
    finally:
        lab.start_server("green1")
    wait_for(lambda: backend_state(lab, "10.77.0.21") == "up", 2, "the added backend UP again")
    print("     added with no server: DOWN %.0f ms later (200 ms interval, fall 2)" % (down * 1000))


PROMQL = splitd_config(
    "500ms", [vip(VIP, backends("blue1", "blue2", "canary1", "canary2"), rollout="promql")],
    [policy("promql", "1s", [canary(20), pause("120s")],
            analysis=[prometheus_errors_rule("http://127.0.0.1:9090")])])


@test
def prometheus_scrapes_and_fails_a_canary(lab):
    """prometheus: a real server scrapes splitd, and its PromQL fails an erroring canary"""
    lab.start_prometheus()
    for name in ("canary1", "canary2"):
        lab.stop_server(name)
        lab.start_server(name, errors=True)
    try:
        lab.start_splitd(PROMQL)
        lab.ok("rollout", "start", VIP)
        started = time.monotonic()
        process = lab.client_background("hold", "10.77.100.1", 80, 1, 25)
        rolled = wait_for(lambda: status(lab)["phase"] != "running" and status(lab), 25,
                          "the PromQL rollback")
        took = time.monotonic() - started
        process.kill()
        process.wait()
        scraped = wait_for(lambda: lab.prometheus_query(
            'sum(xdpsplit_pool_new_flows_total{pool="canary"})'), 10, "splitd's series")
    finally:
        for name in ("canary1", "canary2"):
            lab.stop_server(name)
            lab.start_server(name)
    print("     rolled back %.1f s after the start: %s; Prometheus has splitd's canary "
          "new flows = %s" % (took, rolled["reason"], scraped[0]["value"][1]))
    check(rolled["phase"] == "rolled-back" and "canary-errors" in rolled["reason"],
          "phase %s: %s" % (rolled["phase"], rolled.get("reason")))
    check(float(scraped[0]["value"][1]) > 0, "Prometheus did not scrape splitd")


@test
def backend_mac_change_is_followed(lab):
    """neighbours: when a backend's MAC changes in the neighbour table, its entry follows"""
    lab.start_splitd(PROBED.replace("    probe: {type: %s, port: 80, interval: 200ms, "
                                    "timeout: 150ms, rise: 2, fall: 2}\n", ""))
    new_mac = "02:77:00:00:00:12"
    old = [b for b in lab.json("backend", "list", VIP) if b["backend"] == "10.77.0.12"][0]
    subprocess.run(["ip", "-n", lab.ns("blue2"), "link", "set", "eth0", "address", new_mac],
                   check=True)
    try:
        # what the LB's kernel learns when blue2 next answers ARP
        subprocess.run(["ip", "-n", lab.ns("lb"), "neigh", "replace", "10.77.0.12",
                        "lladdr", new_mac, "dev", "eth0", "nud", "reachable"], check=True)
        wait_for(lambda: [b for b in lab.json("backend", "list", VIP)
                          if b["backend"] == "10.77.0.12"][0]["mac"] == new_mac, 5,
                 "the backend entry to follow")
        result = lab.client("connect", "10.77.100.1", 80, 100)
    finally:
        subprocess.run(["ip", "-n", lab.ns("blue2"), "link", "set", "eth0", "address",
                        old["mac"]], check=True)
        subprocess.run(["ip", "-n", lab.ns("lb"), "neigh", "replace", "10.77.0.12",
                        "lladdr", old["mac"], "dev", "eth0", "nud", "reachable"], check=True)
    print("     %s -> %s; then %s, %d failed" % (old["mac"], new_mac, result["servers"],
                                                 len(result["errors"])))
    check(not result["errors"] and result["servers"].get("blue2", 0) > 0,
          "after the MAC change: %s %s" % (result["servers"], result["errors"][:2]))


@test
def splitd_keeps_only_two_capabilities(lab):
    """splitd: after start-up every thread keeps CAP_BPF and CAP_NET_ADMIN only, with no_new_privs"""
    if os.path.basename(BUILD) != "build":
        raise Skip("the sanitizer runtime starts a thread of its own before main, which"
                   " keeps the start-up capabilities; the plain run covers it")
    splitd = lab.start_splitd(config("slow"))
    expected = (1 << 39) | (1 << 12)  # CAP_BPF, CAP_NET_ADMIN
    threads = os.listdir("/proc/%d/task" % splitd.pid)
    seen = []
    for thread in threads:
        with open("/proc/%d/task/%s/status" % (splitd.pid, thread)) as proc:
            fields = dict(line.split(":", 1) for line in proc if ":" in line)
        caps = {name: int(fields[name].strip(), 16)
                for name in ("CapPrm", "CapEff", "CapBnd", "CapInh", "CapAmb")}
        seen.append((thread, caps, fields["NoNewPrivs"].strip()))
        check(caps["CapPrm"] == caps["CapEff"] == caps["CapBnd"] == expected and
              caps["CapInh"] == caps["CapAmb"] == 0 and fields["NoNewPrivs"].strip() == "1",
              "thread %s: %s, NoNewPrivs %s" % (thread, {k: hex(v) for k, v in caps.items()},
                                                fields["NoNewPrivs"].strip()))
    print("     %d threads, each with capabilities %#x (CAP_BPF, CAP_NET_ADMIN), no_new_privs"
          % (len(threads), expected))
    # and it still does its work: metrics (the entry counter), a rollout step
    check("xdpsplit_flow_table_entries" in lab.metrics(), "no flow table metrics")
    lab.ok("rollout", "start", VIP)
    wait_for(lambda: status(lab)["route"]["canary"] == 10, 5, "the first step")


VALGRIND_CONFIG = splitd_config(
    "300ms", [vip(VIP, backends("blue1", "green1", "canary1"), rollout="quick",
                  probe=probe("http", 8080, "/healthz", "300ms", "250ms", rise=1))],
    [policy("quick", "300ms",
            [canary(20), pause("1s"), canary(50), GATE, canary(0), SWITCH, bake("1s")],
            analysis=[handshake_rule(0.5, 5, 3), p99_rule(50, 5, 3, relative=True)])])


@test
def splitd_under_valgrind(lab):
    """splitd: under valgrind, a full rollout with probes, metrics and control requests: no invalid access, no leak"""
    if os.path.basename(BUILD) != "build":
        raise Skip("valgrind cannot run the AddressSanitizer build; the plain run covers it")
    log = os.path.join(lab.state_dir, "valgrind.log")
    lab.start_splitd(VALGRIND_CONFIG, seconds=60, wrapper=[
        "valgrind", "--quiet", "--leak-check=full", "--show-leak-kinds=definite,indirect",
        "--errors-for-leak-kinds=definite,indirect",
        "--suppressions=" + os.path.join(os.path.dirname(__file__), "valgrind.supp"),
        "--log-file=" + log])
    # the first request runs code valgrind has not translated yet: seconds
    wait_for(lambda: lab.splitctl("rollout", "status").returncode == 0, 30,
             "splitd under valgrind to answer")
    traffic = lab.client_background("hold", "10.77.100.1", 80, 5, 12)
    lab.ok("rollout", "start", VIP)
    wait_for(lambda: status(lab)["step_kind"] == "gate", 20, "the gate")
    lab.metrics()
    raw_request(lab, b"nonsense\n")
    lab.ok("rollout", "promote", VIP)
    wait_for(lambda: status(lab)["phase"] == "succeeded", 20, "the end of the rollout")
    lab.metrics()
    result = lab.finish(traffic)
    lab.stop_splitd()
    with open(log) as f:
        # "==PID== ..." lines are findings; "--PID-- WARNING" lines name
        # bpf(2) commands valgrind does not model (batch, link, iterator)
        findings = [line for line in f if line.startswith("==") and
                    line.split("==", 2)[-1].strip()]
    failed = [n for n in result["new"] if n[1].startswith("error")]
    print("     rollout succeeded under valgrind (probes, analysis, metrics, a bad request);"
          " %d connections, %d failed; %d valgrind findings"
          % (len(result["new"]), len(failed), len(findings)))
    check(not findings, "valgrind found:\n" + "".join(findings[:60]))
