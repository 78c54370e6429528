# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The fleet's network (fleet_net.py): announcements through the kernel
table reach the router by BGP, the router spreads connections over the LB
hosts by ECMP, and a host that dies stops getting them within the
detection window. Each test builds its own fleet (namespaces xsfPID-*) and
takes it down; the single-LB lab the runner builds is not used."""
import base64
import collections
import json
import os
import signal
import subprocess
import time

import fleet_net
from fleet_net import FleetNet, VIPS_V4, VIPS_V6
from harness import PYTHON, ROOT, Skip, check, test, within_binomial_bound

VIP, VIP6 = VIPS_V4[0], VIPS_V6[0]
ANNOUNCED = VIPS_V4 + VIPS_V6
# BGP between fresh BIRDs (connect retry 1 s) plus the first update
ESTABLISH_SECONDS = 20
# a withdraw the kernel and BIRD make: netlink notification (or the
# device's removal) to BIRD, one BGP UPDATE, the router's FIB
WITHDRAW_SECONDS = 2
# a connection in these namespaces takes a millisecond or two: one not made
# in 100 ms went to a dead host (the window's resolution)
PROBE_TIMEOUT = 0.1


def fleet(**options):
    if not os.path.exists(os.path.join(fleet_net.BUILD, "xdpsplit-announce")):
        raise Skip("no build/xdpsplit-announce (make)")
    for tool in ("bird", "birdc"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            raise Skip("no %s (make deps installs bird2)" % tool)
    net = FleetNet("xsf%d" % (os.getpid() % 100000), **options)
    try:
        net.up()
    except Exception:
        net.down()
        raise
    return net


def wait_hops(net, vip, lbs, seconds):
    try:
        return net.wait_announced(vip, lbs, seconds)
    except TimeoutError as error:
        raise AssertionError(str(error) + "\nrouter: " + net.birdc(
            "router", "show protocols", check=False).stdout[-1500:])


def client_connect(net, address, count, client="client"):
    result = net.in_ns(client, PYTHON, os.path.join(ROOT, "tests/e2e/client.py"),
                       "connect", address, 80, count, check=False)
    check(result.returncode == 0, "client failed: " + result.stderr[-500:])
    return json.loads(result.stdout)


def kernel_stand_ins(net, lbs, expect=None):
    """No XDP yet: each LB takes the VIPs itself (on lo) and answers with
    its name, so a connection names the LB that ECMP chose."""
    for n in lbs:
        name = "lb%d" % n
        for vip in VIPS_V4:
            net.in_ns(name, "ip", "addr", "add", vip + "/32", "dev", "lo")
        for vip in VIPS_V6:
            net.in_ns(name, "ip", "-6", "addr", "add", vip + "/128", "dev", "lo", "nodad")
        net.start_server(name)
        net.announce(n, ANNOUNCED)
    for address in (VIP, VIP6):
        wait_hops(net, address, expect or lbs, ESTABLISH_SECONDS)
    time.sleep(0.3)  # the servers listening


@test
def fleet_net_announcer(lab):  # noqa: ARG001 (the runner's lab is not used)
    """fleet net: announcements reach the router by BGP; SIGKILL withdraws"""
    net = fleet()
    try:
        for n in (1, 2, 3):
            net.announce(n, ANNOUNCED)
        for address in (VIP, VIP6, VIPS_V4[2], VIPS_V6[2]):
            wait_hops(net, address, [1, 2, 3], ESTABLISH_SECONDS)
        check(net.announcer_command(1, "list") ==
              " ".join(p + ("/128" if ":" in p else "/32") for p in ANNOUNCED),
              "lb1's announcer lists " + net.announcer_command(1, "list"))
        # a second announcer on the same host is refused: the device is not its own
        second = subprocess.run(["ip", "netns", "exec", net.ns("lb1"),
                                 os.path.join(fleet_net.BUILD, "xdpsplit-announce"), VIP],
                                capture_output=True, text=True, timeout=10)
        check(second.returncode == 1 and "already exists and is not ours" in second.stderr,
              "a second announcer: %d %s" % (second.returncode, second.stderr))
        # set: exact, idempotent, both families
        check(net.announcer_command(1, "set " + " ".join(ANNOUNCED)) == "announced 6", "set again")
        check(net.announcer_command(1, "set %s %s" % (VIPS_V4[1], VIPS_V6[1])) == "announced 2",
              "set a subset")
        started = time.monotonic()
        wait_hops(net, VIP, [2, 3], WITHDRAW_SECONDS)
        wait_hops(net, VIP6, [2, 3], WITHDRAW_SECONDS)
        deliberate = time.monotonic() - started
        wait_hops(net, VIPS_V4[1], [1, 2, 3], 1)
        check(net.announcer_command(1, "list") == "%s/32 %s/128" % (VIPS_V4[1], VIPS_V6[1]),
              "lb1 after the subset: " + net.announcer_command(1, "list"))
        check(net.announcer_command(1, "set " + " ".join(ANNOUNCED)) == "announced 6", "set all")
        wait_hops(net, VIP, [1, 2, 3], WITHDRAW_SECONDS)
        wait_hops(net, VIP6, [1, 2, 3], WITHDRAW_SECONDS)

        # the owner dies: the kernel removes its device and routes, BIRD
        # withdraws without its help
        net.processes["announce-lb2"].send_signal(signal.SIGKILL)
        killed = time.monotonic()
        withdrawn = {}
        while len(withdrawn) < 2 and time.monotonic() - killed < WITHDRAW_SECONDS:
            for address in (VIP, VIP6):
                if address not in withdrawn and net.router_nexthops(address) == [1, 3]:
                    withdrawn[address] = time.monotonic() - killed
            time.sleep(0.005)
        check(len(withdrawn) == 2, "after SIGKILL of lb2's announcer the router has %s, %s"
              % (net.router_nexthops(VIP), net.router_nexthops(VIP6)))
        check(net.in_ns("lb2", "ip", "link", "show", "xsplit-vips", check=False).returncode != 0,
              "lb2's device outlived its owner")
        check(not net.in_ns("lb2", "ip", "route", "show", "table", "80").stdout.strip()
              and not net.in_ns("lb2", "ip", "-6", "route", "show", "table", "80").stdout.strip(),
              "lb2's table 80 kept routes")
        for address in VIPS_V4[1:] + VIPS_V6[1:]:
            wait_hops(net, address, [1, 3], 1)
        print("    withdraw: route deleted %.0f ms (both families); announcer SIGKILLed "
              "IPv4 %.0f ms, IPv6 %.0f ms" % (deliberate * 1000, withdrawn[VIP] * 1000,
                                              withdrawn[VIP6] * 1000))
    finally:
        net.down()


@test
def fleet_net_ecmp_spread(lab):  # noqa: ARG001 (the runner's lab is not used)
    """fleet net: the router's L4 hash spreads connections over the LB hosts"""
    net = fleet()
    try:
        kernel_stand_ins(net, [1, 2, 3])
        for address, count in ((VIP, 900), (VIP6, 450)):
            result = client_connect(net, address, count)
            check(not result["errors"], "connections to %s failed: %s" % (address, result["errors"][:3]))
            servers = result["servers"]
            check(set(servers) == {"lb1", "lb2", "lb3"}, "%s answered by %s" % (address, servers))
            for name in ("lb1", "lb2", "lb3"):
                check(within_binomial_bound(servers[name], count, 1 / 3),
                      "%s: %s got %d of %d (%s)" % (address, name, servers[name], count, servers))
            print("    %s: %d connections, %s" % (address, count, dict(sorted(servers.items()))))
    finally:
        net.down()


@test
def fleet_net_host_death(lab):  # noqa: ARG001 (the runner's lab is not used)
    """fleet net: a dead LB host (link down) stops getting connections in BFD time"""
    net = fleet()
    try:
        kernel_stand_ins(net, [1, 2, 3])
        for address in (VIP, VIP6):
            probe = net.probe_background(address, 80, 6, timeout=PROBE_TIMEOUT)
            time.sleep(2)
            killed = time.monotonic()
            net.kill_lb(2)
            attempts = probe.finish()
            before = [a for a in attempts if a[0] < killed]
            after = [a for a in attempts if a[0] >= killed]
            check(before and all(a[1] for a in before), "%s before the kill: %d of %d failed" % (
                address, sum(1 for a in before if not a[1]), len(before)))
            failures = [a for a in after if not a[1]]
            # the window: from the kill to the end of the last failed attempt
            window = (failures[-1][0] + PROBE_TIMEOUT - killed) if failures else 0.0
            late = [a for a in after if a[0] > killed + window]
            check(window < WITHDRAW_SECONDS, "%s: connections failed for %.2f s after the kill"
                  % (address, window))
            check(len(late) > 50 and all(a[1] in ("lb1", "lb3") for a in late),
                  "%s after the window: %s" % (address, sorted({str(a[1]) for a in late})))
            withdrawn = net.router_nexthops(address)
            check(withdrawn == [1, 3], "%s: router next hops %s" % (address, withdrawn))
            print("    %s: lb2 killed: %d of %d new connections failed, window %.0f ms, "
                  "then %d succeeded on lb1/lb3" % (address, len(failures), len(after),
                                                    window * 1000, len(late)))
            if address == VIP:
                # the second family on a fresh lb2
                net.remove_lb(2)
                net.add_lb(2)
                kernel_stand_ins(net, [2], expect=[1, 2, 3])
                time.sleep(1)  # BFD up on the new sessions
    finally:
        net.down()


def etcd_request(net, host, member, method, body):
    """POST /v3/kv/METHOD to a member from host's namespace: the JSON
    answer, or None when the member does not answer."""
    code = ("import sys,urllib.request;"
            "r=urllib.request.Request(sys.argv[1],data=sys.argv[2].encode(),method='POST');"
            "print(urllib.request.urlopen(r,timeout=2).read().decode())")
    result = net.in_ns(host, PYTHON, "-c", code, "http://%s:2379/v3/kv/%s" % (
        fleet_net.etcd_address(member), method), json.dumps(body), check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


@test
def fleet_net_etcd(lab):  # noqa: ARG001 (the runner's lab is not used)
    """fleet net: a 3-member etcd cluster on the segment survives a member's death"""
    net = fleet()
    try:
        started = time.monotonic()
        endpoints = net.start_etcd(3)
        ready = time.monotonic() - started
        check(len(endpoints) == 3, "endpoints %s" % endpoints)
        key, value = [base64.b64encode(text).decode() for text in (b"/xdpsplit/test", b"blue")]
        check(etcd_request(net, "lb1", 1, "put", {"key": key, "value": value}), "put via etcd1")
        net.kill_etcd(1)
        killed = time.monotonic()
        check(etcd_request(net, "lb1", 1, "range", {"key": key}) is None, "etcd1 answers dead")
        # a linearizable read waits for a leader: etcd1 may have been it
        answer = None
        while not answer and time.monotonic() - killed < 10:
            answer = etcd_request(net, "lb2", 2, "range", {"key": key})
        check(answer and answer["kvs"][0]["value"] == value, "etcd2 after etcd1's death: %s" % answer)
        served = time.monotonic() - killed
        started = time.monotonic()
        net.restart_etcd(1)
        restarted = time.monotonic() - started
        answer = etcd_request(net, "lb3", 1, "range", {"key": key})
        check(answer and answer["kvs"][0]["value"] == value, "etcd1 restarted: %s" % answer)
        print("    3 members healthy in %.1f s; reads again %.1f s after a member's death; "
              "the member back in %.1f s" % (ready, served, restarted))
    finally:
        net.down()


class Splitters:
    """splitctl on each LB host, each with its own pins (one machine's
    bpffs holds them all), as an operator runs it: nsenter keeps bpffs."""

    def __init__(self, net, lbs):
        self.net, self.lbs = net, lbs
        self.base = "xdpsplit-fleet-%d" % os.getpid()

    def environment(self, n):
        env = dict(os.environ)
        env["XDPSPLIT_PIN_DIR"] = "/sys/fs/bpf/%s-lb%d" % (self.base, n)
        env["LIBXDP_BPFFS"] = "/sys/fs/bpf/%s-lb%d-libxdp" % (self.base, n)
        env["XDPSPLIT_STATE_DIR"] = "/tmp/%s-lb%d" % (self.base, n)
        env["XDPSPLIT_RUN_DIR"] = "/tmp/%s-lb%d-run" % (self.base, n)
        return env

    def ok(self, n, *args):
        result = subprocess.run(
            ["nsenter", "--net=/run/netns/" + self.net.ns("lb%d" % n),
             os.path.join(fleet_net.BUILD, "splitctl")] + list(args),
            capture_output=True, text=True, env=self.environment(n), timeout=60)
        check(result.returncode == 0, "lb%d: splitctl %s: %s" % (
            n, " ".join(args), (result.stderr + result.stdout)[-500:]))
        return result.stdout

    def json(self, n, *args):
        return json.loads(self.ok(n, "-j", *args))

    def up(self):
        for n in self.lbs:
            env = self.environment(n)
            try:
                os.makedirs(env["LIBXDP_BPFFS"], exist_ok=True)
            except OSError:
                pass
            # one seed everywhere: identical configuration, identical decisions
            self.ok(n, "attach", "eth0", "seed", "7")
            os.makedirs(env["LIBXDP_BPFFS"], exist_ok=True)

    def down(self):
        for n in self.lbs:
            env = self.environment(n)
            subprocess.run(["rm", "-rf", env["XDPSPLIT_PIN_DIR"], env["LIBXDP_BPFFS"],
                            env["XDPSPLIT_STATE_DIR"], env["XDPSPLIT_RUN_DIR"]], check=False)


@test
def fleet_net_xdp(lab):  # noqa: ARG001 (the runner's lab is not used)
    """fleet net: XDP on every LB host; connections survive an LB host's death"""
    net = fleet()
    splitters = Splitters(net, [1, 2, 3])
    service = VIP + ":80/tcp"
    try:
        net.start_backend_servers()
        splitters.up()
        for n in (1, 2, 3):
            splitters.ok(n, "vip", "add", service)
            for backend in ("10.77.0.11", "10.77.0.12", "10.77.0.21"):
                splitters.ok(n, "backend", "add", service,
                             "green" if backend.endswith("21") else "blue", backend)
            net.announce(n, [VIP])
        wait_hops(net, VIP, [1, 2, 3], ESTABLISH_SECONDS)
        result = client_connect(net, VIP, 300)
        check(not result["errors"], "through XDP: %s" % result["errors"][:3])
        check(set(result["servers"]) == {"blue1", "blue2"}, "answered by %s" % result["servers"])
        flows = {n: sum(v["new_flows"] for v in splitters.json(n, "stats", service)["vips"][0]["backends"])
                 for n in (1, 2, 3)}
        check(all(flows[n] > 30 for n in flows), "new flows per LB host: %s" % flows)
        # the hosts agree on every flow (one seed, one Maglev table)
        for port in (40000, 40001, 40002, 51234, 60999):
            # a new flow's choice (an existing one is where the client's
            # connections happened to go)
            answers = {json.dumps(splitters.json(n, "explain", service, "10.77.1.2",
                                                 str(port))["new_flow"], sort_keys=True)
                       for n in (1, 2, 3)}
            check(len(answers) == 1, "client port %d explained differently: %s" % (port, answers))

        # held connections whose host dies move to another host by ECMP and
        # reach the same backend there: nothing breaks
        held = subprocess.Popen(
            ["ip", "netns", "exec", net.ns("client"), PYTHON,
             os.path.join(ROOT, "tests/e2e/client.py"), "hold", VIP, "80", "60", "0"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        check(held.stdout.readline().strip() == "ready", "the holding client")
        time.sleep(1)
        killed = time.monotonic()
        net.kill_lb(2)
        wait_hops(net, VIP, [1, 3], WITHDRAW_SECONDS)
        time.sleep(3)
        out, err = held.communicate("stop\n", timeout=60)
        report = json.loads(out)
        broken = [c for c in report["held"] if c["broken"]]
        check(not broken, "%d of %d held connections broke: %s" % (
            len(broken), len(report["held"]), broken[:2]))
        moved = [c for c in report["held"] if len(c["servers_seen"]) > 1]
        check(not moved, "held connections changed backend: %s" % moved[:2])
        failed = [c for c in report["new"] if c[0] > killed and str(c[1]).startswith("error")]
        print("    %d connections over 3 hosts %s -> %s; lb2 died: 0 of %d held connections "
              "broke, %d new ones failed" % (300, flows, result["servers"], len(report["held"]),
                                             len(failed)))
    finally:
        for n in (1, 2, 3):
            subprocess.run(["nsenter", "--net=/run/netns/" + net.ns("lb%d" % n),
                            os.path.join(fleet_net.BUILD, "splitctl"), "detach", "eth0"],
                           capture_output=True, env=splitters.environment(n), check=False)
        net.down()
        splitters.down()


def survivors_moved(before, after, dead):
    """The share of flows not on the dead host that changed host."""
    surviving = [i for i, host in enumerate(before) if host != dead]
    return sum(1 for i in surviving if after[i] != before[i]) / len(surviving)


@test
def fleet_net_ecmp_changes(lab):  # noqa: ARG001 (the runner's lab is not used)
    """fleet net: what the router's ECMP moves when hosts go and come"""
    figures = []
    for resilient in (False, True):
        net = fleet(resilient=resilient)
        try:
            kind = "resilient group (harness)" if resilient else "BIRD multipath"
            for n in (1, 2, 3):
                net.announce(n, ANNOUNCED)
            for address in (VIP, VIP6):
                wait_hops(net, address, [1, 2, 3], ESTABLISH_SECONDS)
            three = {address: net.router_flow_map(address) for address in (VIP, VIP6)}
            for address in (VIP, VIP6):
                shares = collections.Counter(three[address])
                check(all(within_binomial_bound(shares[n], len(three[address]), 1 / 3)
                          for n in (1, 2, 3)), "%s %s: shares %s" % (kind, address, shares))
            # lb1 dies: the first next hop in BIRD's order, the worst case
            # for hash-threshold
            net.kill_lb(1)
            for address in (VIP, VIP6):
                wait_hops(net, address, [2, 3], WITHDRAW_SECONDS)
                moved = survivors_moved(three[address], net.router_flow_map(address), 1)
                figures.append("%s %s: lb1 dies: %.1f%% of the others' flows move"
                               % (kind, address, moved * 100))
                if resilient:
                    check(moved == 0, "%s: %.1f%% of the survivors' flows moved" % (address, moved * 100))
                else:
                    # hash-threshold: half of lb2's share slides over to lb3
                    check(0.15 < moved < 0.35, "%s: %.1f%% moved" % (address, moved * 100))
            two = net.router_flow_map(VIP)
            net.add_lb(4)
            net.announce(4, ANNOUNCED)
            wait_hops(net, VIP, [2, 3, 4], ESTABLISH_SECONDS)
            after = net.router_flow_map(VIP)
            moved = sum(1 for a, b in zip(two, after) if a != b) / len(two)
            figures.append("%s %s: lb4 joins: %.1f%% of all flows move (the least possible: 33.3%%)"
                           % (kind, VIP, moved * 100))
            if resilient:
                check(moved < 0.40, "a new host took %.1f%% of the flows" % (moved * 100))
        finally:
            net.down()
    for line in figures:
        print("    " + line)
