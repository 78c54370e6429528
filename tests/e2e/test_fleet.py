# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The fleet, end to end: LB hosts behind a real BGP router (BIRD 2, ECMP
with an L4 hash), each with a real splitd in fleet mode, one etcd (three
members where quorum is the point), real TCP clients and servers. Each test
builds its own fleet (fleet_lab.py) and takes it down."""
import json
import os
import re
import statistics
import subprocess
import time

import fleet_net
from fleet_lab import FleetLab, POOLS, document, vip_entry
from fixtures import IMPORT_CHECKSUM, canary, pause, policy
from harness import PYTHON, ROOT, Skip, audit_time, check, test

VIP = fleet_net.VIPS_V4[0]
SERVICE = VIP + ":80/tcp"
CLIENT = "10.77.1.2"
ALL = ["lb1", "lb2", "lb3"]


def fleet(text, **options):
    for tool in ("bird", "birdc", "etcd"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            raise Skip("no %s (make deps installs bird2 and etcd-server)" % tool)
    lab = FleetLab(**options)
    try:
        lab.up(text)
        lab.wait_hosts(["lb%d" % n for n in range(1, lab.lb_count + 1)])
        lab.net.wait_announced(VIP, list(range(1, lab.lb_count + 1)), 30)
    except Exception:
        lab.down()
        raise
    return lab


def connect(lab, count, client="client"):
    result = lab.net.in_ns(client, PYTHON, os.path.join(ROOT, "tests/e2e/client.py"),
                           "connect", VIP, 80, count, check=False)
    check(result.returncode == 0, "client failed: " + result.stderr[-500:])
    return json.loads(result.stdout)


def backend_macs(lab):
    """MAC -> backend name, read in each backend's namespace."""
    macs = {}
    for name in fleet_net.BACKENDS:
        out = lab.net.in_ns(name, "cat", "/sys/class/net/eth0/address").stdout.strip()
        macs[out] = name
    return macs


def route_audits(lab, n):
    """{fleet revision: time} of host n's route writes (its audit log)."""
    out = {}
    path = os.path.join(lab.host_dir(n), "audit.log")
    if not os.path.exists(path):
        return out
    with open(path) as log:
        for line in log:
            entry = json.loads(line)
            found = re.search(r"fleet: route of \S+ at revision (\d+)",
                              entry.get("command", ""))
            if found:
                out[int(found.group(1))] = audit_time(entry)
    return out


@test
def fleet_decisions(_):
    """fleet: every host decides alike (10,000 new flows each) and a weight change reaches all of them at once"""
    lab = fleet(document([vip_entry(SERVICE, POOLS,
                                    "{blue: 80, green: 0, canary: 20}")]))
    try:
        macs = backend_macs(lab)
        decisions = [lab.decide(n, VIP + ":80", CLIENT, 20000, 10000)
                     for n in (1, 2, 3)]
        disagreements = sum(1 for port in decisions[0]
                            if not decisions[0][port] == decisions[1].get(port)
                            == decisions[2].get(port))
        pools = {}
        for rest in decisions[0].values():
            backend = macs.get(rest.split()[1], "?")
            pools[backend.rstrip("12")] = pools.get(backend.rstrip("12"), 0) + 1
        print("    10,000 flows on each of 3 hosts: %d disagreements; pools %s"
              % (disagreements, pools))
        check(disagreements == 0, "%d of 10,000 flows decided differently" % disagreements)
        # not a trivial agreement: the split really splits, by the weights
        check(1700 <= pools.get("canary", 0) <= 2300 and "?" not in pools,
              "the decisions are not the weights' 80/20: %s" % pools)
        # one write, every host: the skew between the first and last
        skews = []
        for i in range(20):
            canary = "20" if i % 2 else "10"  # the document says 20
            lab.fleet("weights", SERVICE, "blue", str(100 - int(canary)),
                      "green", "0", "canary", canary)
            time.sleep(0.3)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            audits = [route_audits(lab, n) for n in (1, 2, 3)]
            revisions = set(audits[0]) & set(audits[1]) & set(audits[2])
            if len(revisions) >= 20:
                break
            time.sleep(0.2)
        check(len(revisions) >= 20, "only %d of 20 weight changes reached all 3 hosts: %s"
              % (len(revisions), [sorted(a) for a in audits]))
        for revision in revisions:
            times = [a[revision] for a in audits]
            skews.append(max(times) - min(times))
        skews.sort()
        p50 = statistics.median(skews) * 1000
        p99 = skews[min(len(skews) - 1, int(len(skews) * 0.99))] * 1000
        print("    weight change skew first->last host over %d changes: p50 %.0f ms, p99 %.0f ms"
              % (len(skews), p50, p99))
        check(skews[-1] < 2.0, "a change took %.1f s to reach the last host" % skews[-1])
    finally:
        lab.down()


@test
def fleet_drain(_):
    """fleet: a drained host withdraws its VIPs, the others carry every connection, and it comes back; a second host of one name is refused"""
    lab = fleet(document([vip_entry(SERVICE, POOLS)]))
    try:
        lab.fleet("drain", "lb2")
        seconds = lab.net.wait_announced(VIP, [1, 3], 10)
        status = {h["host"]: h for h in lab.status()["hosts"]}
        check(status["lb2"]["announce"] == "withdrawn" and status["lb2"]["draining"],
              "lb2 does not say it is drained: %s" % status["lb2"])
        result = connect(lab, 200)
        check(not result["errors"] and sum(result["servers"].values()) == 200,
              "connections failed while lb2 was drained: %s" % result)
        lab.fleet("undrain", "lb2")
        back = lab.net.wait_announced(VIP, [1, 2, 3], 10)
        print("    withdrawn %.2f s after the drain, back %.2f s after the undrain"
              % (seconds, back))
        # a host that is not there cannot be drained by a typo silently:
        # the key names a host, whatever it is; status shows it
        result = lab.fleet("drain", "no/such", check=False)
        check(result.returncode == 2, "a host name with '/' was taken: %s" % result.stdout)
        # a fourth host configured with lb1's name: it must not pass for
        # lb1 (nor overwrite its report), and it withdraws saying why
        config = lab.config
        lab.config = lambda n: config(n).replace("host: lb4", "host: lb1")
        lab.start_host(4)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and "another splitd reports as host lb1" not in lab.log(4):
            time.sleep(0.1)
        check("another splitd reports as host lb1" in lab.log(4),
              "a second lb1 was taken silently: %s" % lab.log(4)[-500:])
        time.sleep(1)
        check(lab.net.router_nexthops(VIP) == [1, 2, 3],
              "a second lb1 announced: %s" % lab.net.router_nexthops(VIP))
        check([h["host"] for h in lab.status()["hosts"]] == ALL and
              lab.status()["hosts"][0]["announce"] == "announced",
              "the hosts as reported: %s" % lab.status()["hosts"])
        lab.config = config
        # "p" is pause or promote: refused, not guessed
        result = lab.fleet("rollout", "p", SERVICE, check=False)
        check(result.returncode == 2 and "ambiguous" in result.stdout + result.stderr,
              "an ambiguous rollout command was taken: %s%s" % (result.stdout, result.stderr))
    finally:
        lab.down()


RAMP = policy("ramp", "500ms",
              [canary(5), pause("3s"), canary(10), pause("3s"), canary(15), pause("3s"),
               canary(20), pause("3s"), canary(25)])


def history(lab):
    return lab.fleet_json("rollout", "status", SERVICE)


def wait_phase(lab, phase, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = lab.fleet("rollout", "status", SERVICE, check=False)
        if result.returncode == 0:
            status = json.loads(result.stdout)
            if status["phase"] == phase:
                return status
        time.sleep(0.2)
    raise AssertionError("the rollout is not %s within %d s: %s" % (
        phase, timeout, lab.fleet("rollout", "status", SERVICE, check=False).stdout))


def check_history(status, expected):
    """Each line once, in order, and the steps the policy has, each once:
    no repeat, no skip."""
    lines = status["history"]
    seqs = [line["seq"] for line in lines]
    check(seqs == list(range(len(seqs))), "history lines repeat or skip: %s" % seqs)
    steps = [line["step"] for line in lines if line["phase"] == "running"]
    check(steps == expected, "steps %s, not the policy's %s" % (steps, expected))
    check(lines[-1]["phase"] == "succeeded", "the last line: %s" % lines[-1])
    return steps


def route_of(lab, n):
    """Host n's own map: the route its program splits by now."""
    result = lab.splitctl(n, "-j", "vip", "show", SERVICE)
    check(result.returncode == 0, "lb%d: vip show: %s" % (n, result.stderr))
    vip = json.loads(result.stdout)
    return {"weights": {pool: vip[pool] for pool in ("blue", "green", "canary")},
            "live": vip["live"]}


@test
def fleet_leader_killed(_):
    """fleet: the rollout leader killed mid-rollout; another host takes over within the lease and no step repeats or is skipped"""
    lab = fleet(document([vip_entry(SERVICE, POOLS, rollout="ramp")], RAMP))
    try:
        lab.fleet("rollout", "start", SERVICE)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and len(history(lab)["history"]) < 3:
            time.sleep(0.1)
        leader = lab.status()["leader"]
        check(leader in ALL, "no leader: %s" % leader)
        killed = time.monotonic()
        lab.kill_splitd(int(leader[2:]))
        deadline = killed + 15
        while time.monotonic() < deadline:
            now = lab.status()["leader"]
            if now and now != leader:
                break
            time.sleep(0.05)
        takeover = time.monotonic() - killed
        check(now and now != leader, "no other host took the lead within 15 s")
        status = wait_phase(lab, "succeeded", 40)
        # weights steps take no time: each pause is where the ramp waits
        # the pauses: steps 2, 4, 6 and 8 of 9, numbered as rollout status does
        steps = check_history(status, [2, 4, 6, 8])
        leaders = sorted(set(line["leader"] for line in status["history"]))
        print("    leader %s killed; %s took over in %.2f s (lease 3 s); steps %s, recorded by %s"
              % (leader, now, takeover, steps, leaders))
        check(len(leaders) == 2, "the history was not written by both leaders: %s" % leaders)
        check(status["canary"] == 25, "the rollout did not end at 25%%: %s" % status)
    finally:
        lab.down()


# a verdict needs more new canary flows in one interval than any one host
# gets below (about 120 of its 400), and fewer than the three together
ROLLBACK = policy("judged", "3s", [canary(30), pause("60s")],
                  analysis=["name: canary-handshakes\n"
                            "        metric: handshake_ratio\n"
                            "        pool: canary\n"
                            "        min: 0.9\n"
                            "        min_samples: 250\n"
                            "        failures: 1"],
                  on_failure="rollback", flush_canary="true")


@test
def fleet_rollback(_):
    """fleet: a broken canary is judged on the whole fleet's counters (no host alone has enough) and rolled back on every host"""
    lab = fleet(document([vip_entry(SERVICE, POOLS, rollout="judged")], ROLLBACK))
    try:
        lab.fleet("rollout", "start", SERVICE)
        wait_phase(lab, "running", 10)
        time.sleep(3.5)  # the first window is a baseline
        # 400 handshakes that never complete on each host, all at once
        # (the program's own path, BPF_PROG_TEST_RUN): ~120 canary each
        runs = [subprocess.Popen(
            ["nsenter", "--net=/run/netns/" + lab.net.ns("lb%d" % n),
             os.path.join(fleet_net.BUILD, "xdpsplit-decide"), "eth0", VIP + ":80",
             CLIENT, str(30000 + 1000 * n), "400"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE) for n in (1, 2, 3)]
        for run in runs:
            run.communicate(timeout=60)
            check(run.returncode == 0, "xdpsplit-decide failed")
        status = wait_phase(lab, "rolled-back", 20)
        check("canary-handshakes" in status["reason"],
              "rolled back for another reason: %s" % status["reason"])
        rule = status["rules"][0]
        print("    rolled back on %d new canary flows in one window (min_samples 250, 3 hosts x ~120): %s"
              % (rule["samples"], status["reason"]))
        check(rule["samples"] >= 250, "the verdict's window: %s" % rule)
        for n in (1, 2, 3):
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                vip = route_of(lab, n)
                if vip["weights"]["canary"] == 0:
                    break
                time.sleep(0.1)
            check(vip["weights"]["canary"] == 0, "lb%d still sends to the canary: %s" % (n, vip))
        # the canary's flows flushed once on every host; an operator's
        # weights afterwards carry the flush counts over: no second flush
        flushed = lambda: [lab.log(n).count("flushed the canary flows") for n in (1, 2, 3)]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and flushed() != [1, 1, 1]:
            time.sleep(0.1)
        check(flushed() == [1, 1, 1], "canary flushes per host: %s" % flushed())
        lab.fleet("weights", SERVICE, "blue", "90", "green", "0", "canary", "10")
        lab.wait_hosts(ALL)
        check(flushed() == [1, 1, 1], "an operator's weights flushed again: %s" % flushed())
    finally:
        lab.down()


QUORUM = policy("slow", "500ms",
                [canary(5), pause("2s"), canary(10), pause("2s"), canary(15), pause("2s"),
                 canary(20)])


@test
def fleet_quorum(_):
    """fleet: an etcd member lost, then quorum lost and regained: forwarding never stops, the rollout pauses and goes on, a host restarted meanwhile announces only once caught up"""
    lab = fleet(document([vip_entry(SERVICE, POOLS, rollout="slow")], QUORUM),
                etcd_members=3)
    try:
        lab.fleet("rollout", "start", SERVICE)
        lab.net.kill_etcd(3)  # one of three: quorum stays
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and history(lab)["step"] < 3:
            time.sleep(0.2)
        check(history(lab)["step"] >= 3, "the rollout stopped with one member of three gone")
        lab.net.kill_etcd(2)  # no quorum
        lost = time.monotonic()
        before = [route_of(lab, n)["weights"] for n in (1, 2, 3)]
        probes = lab.net.probe(VIP, 80, 6, timeout=0.5)
        failed = sum(1 for _, name in probes if name is None)
        after = [route_of(lab, n)["weights"] for n in (1, 2, 3)]
        print("    without quorum: %d connections, %d failed; weights held: %s"
              % (len(probes), failed, after == before))
        check(failed == 0, "%d of %d connections failed without quorum" % (failed, len(probes)))
        check(after == before, "weights changed without quorum: %s -> %s" % (before, after))
        check(time.monotonic() - lost > 4, "the probe was too short to cover a pause")
        # a host that restarts now cannot catch up: it must not announce
        # (the others go on serving) until etcd is back
        lab.kill_splitd(3)
        lab.net.wait_announced(VIP, [1, 2], 10)
        lab.start_splitd(3)
        time.sleep(3)
        check(lab.net.router_nexthops(VIP) == [1, 2],
              "lb3 announced before it could catch up: %s" % lab.net.router_nexthops(VIP))
        lab.net.restart_etcd(2)
        lab.net.restart_etcd(3)
        lab.net.wait_announced(VIP, [1, 2, 3], 30)
        status = wait_phase(lab, "succeeded", 30)
        check_history(status, [2, 4, 6])  # the pauses, as status numbers them
        for n in (1, 2, 3):
            check(lab.splitds[n].poll() is None, "lb%d's splitd died" % n)
    finally:
        lab.down()


GROW = policy("grow", "500ms",
              [canary(10), pause("2s"), canary(15), pause("4s"), canary(20), pause("2s"),
               canary(25), pause("60s")])


def wait_canary(lab, percent, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if history(lab)["canary"] >= percent:
            return
        time.sleep(0.1)
    raise AssertionError("the canary did not reach %d%%: %s" % (percent, history(lab)))


def failure_window(new, since):
    """The failed new connections started after since: (first, last)
    start times, and the count."""
    failed = [started for started, name, *_ in new
              if started >= since and not (name and not name.startswith("error"))]
    return (min(failed), max(failed), len(failed)) if failed else (None, None, 0)


@test
def fleet_host_changes(_):
    """fleet: 200 long-lived connections opened at canary 5% survive the canary's growth to 25%, a host killed and one added; new ones fail only while the router withdraws the dead host"""
    lab = fleet(document([vip_entry(SERVICE, POOLS, "{blue: 95, green: 0, canary: 5}",
                                    rollout="grow")], GROW))
    try:
        client = subprocess.Popen(
            ["ip", "netns", "exec", lab.net.ns("client"), PYTHON,
             os.path.join(ROOT, "tests/e2e/client.py"), "hold", VIP, "80", "200", "0", "0.5"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if client.stdout.readline().strip() != "ready":
            client.kill()
            raise AssertionError("the client could not open its 200 connections: "
                                 + client.stderr.read()[-300:])
        lab.fleet("rollout", "start", SERVICE)
        wait_canary(lab, 15, 20)
        # new connections with a 100 ms connect timeout, one after another:
        # the ones that fail show the router's withdraw window
        probe = lab.net.probe_background(VIP, 80, 4, timeout=0.1)
        time.sleep(0.5)
        kill_clock = time.monotonic()  # one clock for every namespace
        lab.kill_host(2)
        lab.net.wait_announced(VIP, [1, 3], 10)
        wait_canary(lab, 25, 30)
        added = time.monotonic()
        lab.start_host(4)
        lab.wait_hosts(["lb4"], timeout=30)
        lab.net.wait_announced(VIP, [1, 3, 4], 20)
        joined = time.monotonic() - added
        time.sleep(3)  # new connections through the new host
        out, err = client.communicate("stop\n", timeout=120)
        result = json.loads(out)
        held = result["held"]
        broken = [c for c in held if c["broken"]]
        moved = [c for c in held if len(c["servers_seen"]) > 1]
        pools = {}
        for c in held:
            pools[c["server"].split()[0].rstrip("12")] = pools.get(
                c["server"].split()[0].rstrip("12"), 0) + 1
        probes = probe.finish()
        lost = [started for started, name in probes if name is None]
        window = (max(lost) - kill_clock) if lost else 0.0
        first, last, failed = failure_window(result["new"], 0)
        total = len(result["new"])
        print("    %d long-lived (%s): %d broken, %d moved; %d new connections (2 s timeout), %d failed; probes (100 ms timeout) lost %d of %d, the last %.2f s after the kill; lb4 serving %.1f s after it started"
              % (len(held), pools, len(broken), len(moved), total, failed, len(lost),
                 len(probes), window, joined))
        check(len(held) == 200 and not broken and not moved,
              "long-lived connections broke or moved: %s" % (broken or moved)[:3])
        check(failed == 0, "%d new connections failed (first at %s)" % (failed, first))
        early = [started for started in lost if started < kill_clock]
        check(not early, "%d probes failed before the host was lost" % len(early))
        # BFD finds a dead host in 150 ms; a failure a second on is not
        # the withdraw
        check(window < 1.0, "probes failed %.2f s after the kill" % window)
        for n in (1, 3, 4):
            check(lab.splitds[n].poll() is None, "lb%d's splitd died" % n)
    finally:
        lab.down()


# In the router's namespace: one frame straight to an LB host's MAC (no
# ECMP: the host is the test's choice), a frag-needed about the backend's
# reply VIP:80 -> client:PORT (UDP), as a router on the client's path
# sends it.
TOO_BIG = IMPORT_CHECKSUM + r"""
import socket, struct, sys
device, mac, vip, client, port, mtu = sys.argv[1:7]
def ipv4(source, destination, protocol, payload):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64,
                         protocol, 0, socket.inet_aton(source), socket.inet_aton(destination))
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + payload
quoted = ipv4(vip, client, 17, b"")[:20]
quoted = struct.pack("!BBH", 0x45, 0, 1500) + quoted[4:]
quoted = quoted[:10] + b"\0\0" + quoted[12:]
quoted = quoted[:10] + struct.pack("!H", checksum(quoted)) + quoted[12:]
quoted += struct.pack("!HHHH", 80, int(port), 1480, 0)
icmp = struct.pack("!BBHHH", 3, 4, 0, 0, int(mtu)) + quoted
icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
sock.bind((device, 0))
own = open("/sys/class/net/%s/address" % device).read().strip()
frame = bytes.fromhex(mac.replace(":", "")) + bytes.fromhex(own.replace(":", "")) + b"\x08\x00"
sock.send(frame + ipv4("10.77.0.1", vip, 1, icmp))
"""

HELLO = r"""
import socket, sys
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind((sys.argv[2], int(sys.argv[3])))
udp.settimeout(3)
udp.sendto(b"hello", (sys.argv[1], 80))
print(udp.recvfrom(100)[0].decode().split()[0])
"""

UDP_SERVICE = VIP + ":80/udp"


def carriers(lab, port):
    """The hosts whose flow table holds the client's UDP flow from port."""
    out = []
    for n in (1, 2, 3):
        explained = json.loads(lab.splitctl(n, "-j", "explain", UDP_SERVICE, CLIENT,
                                            str(port)).stdout)
        if "existing_flow" in explained:
            out.append(n)
    return out


def path_mtus(lab):
    out = {}
    for name in fleet_net.BACKENDS:
        words = lab.net.in_ns(name, "ip", "-4", "route", "get", CLIENT).stdout.split()
        out[name] = int(words[words.index("mtu") + 1]) if "mtu" in words else None
    return out


@test
def fleet_icmp_too_big(_):
    """fleet: ICMP too-big quoting a flow, sent to a host that never saw it, reaches the flow's backend after the weights moved it"""
    lab = fleet(document([vip_entry(SERVICE, POOLS),
                          vip_entry(UDP_SERVICE, POOLS, "{blue: 100, green: 0, canary: 0}")]))
    try:
        flows = {}
        for port in range(42000, 42040):
            result = lab.net.in_ns("client", PYTHON, "-c", HELLO, VIP, CLIENT, str(port))
            flows[port] = (result.stdout.strip(), carriers(lab, port))
        # a switch: every flow's new packet would now go to green
        lab.fleet("weights", UDP_SERVICE, "blue", "0", "green", "100", "canary", "0")
        lab.wait_hosts(ALL)
        time.sleep(1)  # the changed flows shared
        macs = {n: lab.net.in_ns("lb%d" % n, "cat", "/sys/class/net/eth0/address").stdout.strip()
                for n in (1, 2, 3)}
        right = wrong = 0
        tried = []
        for port, (backend, carried) in list(flows.items())[:8]:
            check(len(carried) == 1, "flow %d is on %s, not one host" % (port, carried))
            stranger = [n for n in (1, 2, 3) if n != carried[0]][0]
            for name in fleet_net.BACKENDS:
                lab.net.in_ns(name, "ip", "-4", "route", "flush", "cache", check=False)
            lab.net.in_ns("router", PYTHON, "-c", TOO_BIG, "eth0", macs[stranger], VIP,
                          CLIENT, str(port), "1300")
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                lowered = {name for name, mtu in path_mtus(lab).items() if mtu == 1300}
                if lowered:
                    break
                time.sleep(0.05)
            tried.append((port, backend, carried[0], stranger, sorted(lowered)))
            if lowered == {backend}:
                right += 1
            else:
                wrong += 1
        print("    too-big for 8 flows (all on blue, now switched to green), each to a host that never carried it: %d reached the flow's backend, %d did not" % (right, wrong))
        check(wrong == 0, "(port, backend, carrier, sent to, MTU lowered on): %s" % tried)
    finally:
        for name in fleet_net.BACKENDS:
            lab.net.in_ns(name, "ip", "-4", "route", "flush", "cache", check=False)
        lab.down()
