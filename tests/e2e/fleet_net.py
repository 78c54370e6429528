# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The fleet's network for tests and the demo: LB hosts behind a BGP router
that spreads each VIP's traffic over them by ECMP with an L4 hash.

    PREFIX-client  10.77.1.2   fd77:1::2 --+
    (client2 .3, ...)                      +-- br1 in PREFIX-sw
                               10.77.1.1 --+
                            PREFIX-router   BIRD 2: BGP (+BFD) to every LB,
                               10.77.0.1 --+  kernel protocol with merge paths:
                                fd77::1    |  VIP/32 via lb1, lb2, lb3 (ECMP,
                                           |  fib_multipath_hash_policy=1)
    PREFIX-lb1     10.77.0.101 fd77::101 --+
    PREFIX-lb2     10.77.0.102 fd77::102 --+-- br0 in PREFIX-sw
    PREFIX-lb3     10.77.0.103 fd77::103 --+   (LB ports run xdp_pass, so an
    (PREFIX-lb4    10.77.0.104, add_lb(4)) |   LB's XDP_TX reaches the bridge)
    PREFIX-blue1   10.77.0.11  fd77::11  --+
    ... blue2 .12, green1 .21, green2 .22, |   backends: VIPs on lo
        canary1 .31, canary2 .32           |   (arp_ignore), xdp_decap on
    PREFIX-etcd1   10.77.0.201           --+   eth0, default route via the
    ... etcd2 .202, etcd3 .203                 router (DSR replies)

Each LB host runs its own BIRD peering with the router (AS 65001 to the
router's 65000, one IPv4 and one IPv6 session), learning kernel table 80
(user/lib/fleet/announce.h: a VIP is announced while a route `VIP dev
xsplit-vips` is in that table) and exporting the VIP prefixes with itself
as next hop. The router's BIRD merges the equal BGP routes into one
multipath kernel route (legacy RTA_MULTIPATH: hash-threshold, see
router_nexthops). BIRD configs, control sockets, logs and etcd data live in
a temporary directory; every process started here is killed by pid in
down(), which also deletes the namespaces. Nothing leaves the namespaces.

What the router does when the set of LBs changes (measured here with
`ip route get ... ipproto tcp sport S dport 80` over 3000 flows): BIRD
2.0.12 installs ECMP only as a legacy RTA_MULTIPATH route (its netlink
code has no nexthop objects), which the kernel serves by hash-threshold
over the next hops in BIRD's order (sorted by address). Losing a host
moves its own flows and, depending on its position, up to a quarter of the
survivors' (3 -> 2: none when the middle one goes, 23% when the first
goes); adding a fourth moved 49.5% of all flows (the minimum is 25%). The
mapping is a function of the set: a host that comes back restores it
exactly. A resilient group (`ip nexthop add id 100 group 1/2/3 type
resilient buckets 512 idle_timer 0`, made by hand) moves only the minimum
(the dead host's flows; 1/3 back to a returning host, 1/4 to a new one) but
depends on history (after a host left and came back, 32% of flows were not
where they started). Either way hosts must carry each other's connections:
identical decisions and shared state, as DESIGN.md says.

Detection, measured (BFD 50 ms x 3, hold time 3 s): an announcer killed
(SIGKILL) or a route deleted reaches the router's FIB in 3-7 ms (BIRD
drops the IPv4 routes of a vanished device itself: the kernel sends no
RTM_DELROUTE for them); BIRD killed on a live host, 50-80 ms (its TCP
session closes); a host dead with its link down, 130-170 ms with BFD, 2.1-2.4
s without (the hold time). Clients lose new connections only in the last
case, for about the detection time. BFD at 20 ms x 3 detects in about 70 ms;
at 10 ms x 3 sessions flapped on this loaded 2-core machine (false
withdrawals), so 50 ms stays the default.

Processes a test starts in an LB host with start(key ending "-lbN", ...)
die with kill_lb(N), and so does anything else running in that namespace.

    net = FleetNet("fn1"); net.up()          # router, 3 LBs, backends
    net.announce(1, VIPS)                    # xdpsplit-announce in lb1
    net.wait_announced("10.77.100.1", [1])
    net.kill_lb(1)                           # link down, then SIGKILL
    net.down()
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("XDPSPLIT_BUILD", "build"))
PYTHON = "/usr/bin/python3"

BACKENDS = {"blue1": 11, "blue2": 12, "green1": 21, "green2": 22,
            "canary1": 31, "canary2": 32}
VIPS_V4 = ["10.77.100.1", "10.77.100.2", "10.77.100.3"]
VIPS_V6 = ["fd77:100::1", "fd77:100::2", "fd77:100::3"]
VIP_PREFIX_V4, VIP_PREFIX_V6 = "10.77.100.0/24", "fd77:100::/64"
ROUTER_AS, LB_AS = 65000, 65001
ANNOUNCE_TABLE = 80
RESILIENT_SOURCE_TABLE = 81
RESILIENT_BUCKETS = 512
MAX_LBS = 4  # lb4 is the spare: the router's sessions to it wait until add_lb(4)


def lb_address(n, v6=False):
    return "fd77::%d" % (100 + n) if v6 else "10.77.0.%d" % (100 + n)


def lb_link_local(n):
    """Each LB's eth0 gets a fixed link-local address, so that a route via
    fe80::... (BIRD's IPv6 next hop on a direct session) names its LB."""
    return "fe80::%d" % (100 + n)


def etcd_address(n):
    return "10.77.0.%d" % (200 + n)


def run(*command, check=True, quiet=False):
    return subprocess.run([str(c) for c in command], check=check, text=True,
                          stdout=subprocess.PIPE if quiet else None,
                          stderr=subprocess.PIPE if quiet else None)


class FleetNet:
    # BFD 100 ms x 5: a dead host withdrawn in about 0.5 s; 50 ms x 3
    # (150 ms) flapped every session at once on a loaded 2-core machine
    def __init__(self, prefix, build=BUILD, lbs=3, clients=1, bfd=True,
                 hold_time=3, bfd_interval_ms=100, bfd_multiplier=5, scan_time=10,
                 resilient=False):
        self.prefix, self.build = prefix, build
        self.initial_lbs, self.client_count = lbs, clients
        self.bfd, self.hold_time = bfd, hold_time
        self.bfd_interval_ms, self.bfd_multiplier = bfd_interval_ms, bfd_multiplier
        self.scan_time = scan_time
        # resilient nexthop groups by resilient_mirror.py (harness only):
        # BIRD exports into table RESILIENT_SOURCE_TABLE, the mirror
        # installs the main table's routes
        self.resilient = resilient
        self.directory = None
        self.processes = {}  # name -> Popen, everything started here
        self.lbs = set()
        self.etcd_members = {}

    # ---- names and commands -------------------------------------------
    def ns(self, name):
        return "%s-%s" % (self.prefix, name)

    def in_ns(self, name, *command, check=True, quiet=True):
        return run("ip", "netns", "exec", self.ns(name), *command,
                   check=check, quiet=quiet)

    def sysctl(self, name, *settings):
        self.in_ns(name, "sysctl", "-qw", *settings)

    def start(self, key, name, command, log=None, env=None, bpffs=False):
        """A process in namespace name, remembered as key (killed by pid in
        down(); a key ending "-lbN" also by kill_lb(N)). ip netns exec and
        nsenter exec the command: the pid is the process's. bpffs: through
        nsenter, which keeps the host's /sys/fs/bpf (splitd, splitctl);
        ip netns exec remounts /sys."""
        output = open(log, "a") if log else subprocess.DEVNULL
        enter = (["nsenter", "--net=/run/netns/" + self.ns(name)] if bpffs
                 else ["ip", "netns", "exec", self.ns(name)])
        self.processes[key] = subprocess.Popen(
            enter + [str(c) for c in command], env=env,
            stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT)
        return self.processes[key]

    def stop(self, key, sig=signal.SIGKILL):
        process = self.processes.pop(key, None)
        if process and process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # ---- building -----------------------------------------------------
    def add_host(self, name, v4, v6, bridge="br0", link_local=None):
        ns = self.ns(name)
        run("ip", "netns", "add", ns)
        port = "p-" + name
        run("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer",
            "name", port, "netns", self.ns("sw"))
        self.in_ns(name, "ip", "link", "set", "lo", "up")
        self.sysctl(name, "net.ipv6.conf.all.keep_addr_on_down=1")
        if link_local:
            # no random EUI-64 link-local: ours names the host
            self.sysctl(name, "net.ipv6.conf.eth0.addr_gen_mode=1")
        self.in_ns(name, "ip", "addr", "add", v4 + "/24", "dev", "eth0")
        if v6:
            self.in_ns(name, "ip", "-6", "addr", "add", v6 + "/64", "dev", "eth0", "nodad")
        if link_local:
            self.in_ns(name, "ip", "-6", "addr", "add", link_local + "/64", "dev", "eth0", "nodad")
        self.in_ns(name, "ip", "link", "set", "eth0", "up")
        run("ip", "-n", self.ns("sw"), "link", "set", port, "master", bridge, "up")

    def up(self):
        self.down()
        self.directory = tempfile.mkdtemp(prefix="xdpsplit-fleet-%s-" % self.prefix)
        run("ip", "netns", "add", self.ns("sw"))
        for bridge in ("br0", "br1"):
            run("ip", "-n", self.ns("sw"), "link", "add", bridge, "type", "bridge")
            run("ip", "-n", self.ns("sw"), "link", "set", bridge, "up")
        for table in ("iptables", "ip6tables", "arptables"):
            self.in_ns("sw", "sysctl", "-qw", "net.bridge.bridge-nf-call-%s=0" % table,
                       check=False)
        self.add_router()
        for n in range(1, self.client_count + 1):
            self.add_client(n)
        for name, octet in BACKENDS.items():
            self.add_backend(name, octet)
        for n in range(1, self.initial_lbs + 1):
            self.add_lb(n)

    def add_router(self):
        self.add_host("router", "10.77.0.1", "fd77::1")
        ns = "router"
        run("ip", "link", "add", "eth1", "netns", self.ns(ns), "type", "veth",
            "peer", "name", "p-router1", "netns", self.ns("sw"))
        self.in_ns(ns, "ip", "addr", "add", "10.77.1.1/24", "dev", "eth1")
        self.in_ns(ns, "ip", "-6", "addr", "add", "fd77:1::1/64", "dev", "eth1", "nodad")
        self.in_ns(ns, "ip", "link", "set", "eth1", "up")
        run("ip", "-n", self.ns("sw"), "link", "set", "p-router1", "master", "br1", "up")
        self.sysctl(ns, "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1",
                    "net.ipv4.fib_multipath_hash_policy=1",
                    "net.ipv6.fib_multipath_hash_policy=1",
                    "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
                    "net.ipv4.conf.eth0.rp_filter=0", "net.ipv4.conf.eth1.rp_filter=0")
        # the LBs' XDP forwards the router's frames as they are: complete
        # checksums on them (KERNEL-NOTES: checksum offload on veth)
        for device in ("eth0", "eth1"):
            self.in_ns(ns, "ethtool", "-K", device, "tx", "off")
        self.start_bird("router", self.router_config())
        if self.resilient:
            mirror = subprocess.Popen(
                ["ip", "netns", "exec", self.ns(ns), PYTHON,
                 os.path.join(ROOT, "tests/e2e/resilient_mirror.py"),
                 str(RESILIENT_SOURCE_TABLE), str(RESILIENT_BUCKETS)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                text=True)
            self.processes["mirror-router"] = mirror
            if mirror.stdout.readline().strip() != "ready":
                raise RuntimeError("resilient_mirror.py did not start")

    def add_client(self, n):
        name = "client" if n == 1 else "client%d" % n
        self.add_host(name, "10.77.1.%d" % (n + 1), "fd77:1::%d" % (n + 1), bridge="br1")
        self.in_ns(name, "ethtool", "-K", "eth0", "tx", "off")
        self.in_ns(name, "ip", "route", "add", "default", "via", "10.77.1.1")
        self.in_ns(name, "ip", "-6", "route", "add", "default", "via", "fd77:1::1")

    def add_backend(self, name, octet):
        self.add_host(name, "10.77.0.%d" % octet, "fd77::%d" % octet)
        self.sysctl(name, "net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2",
                    "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0")
        for vip in VIPS_V4:
            self.in_ns(name, "ip", "addr", "add", vip + "/32", "dev", "lo")
        for vip in VIPS_V6:
            self.in_ns(name, "ip", "-6", "addr", "add", vip + "/128", "dev", "lo", "nodad")
        # replies go straight to the client, through the router
        self.in_ns(name, "ip", "route", "add", "default", "via", "10.77.0.1")
        self.in_ns(name, "ip", "-6", "route", "add", "default", "via", "fd77::1")
        self.in_ns(name, "ip", "link", "set", "dev", "eth0", "xdpdrv", "obj",
                   os.path.join(self.build, "xdp_decap.bpf.o"), "sec", "xdp")

    def add_lb(self, n):
        """LB host n: eth0 on br0 (its bridge port runs xdp_pass, so frames
        its XDP program sends back out with XDP_TX arrive), forwarding on
        (ipip), default route via the router, its BIRD peering with the
        router."""
        name = "lb%d" % n
        self.add_host(name, lb_address(n), lb_address(n, True), link_local=lb_link_local(n))
        run("ip", "-n", self.ns("sw"), "link", "set", "p-" + name, "xdpdrv", "obj",
            os.path.join(self.build, "xdp_pass.bpf.o"), "sec", "xdp")
        self.sysctl(name, "net.ipv4.conf.all.forwarding=1", "net.ipv6.conf.all.forwarding=1",
                    "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0")
        self.in_ns(name, "ip", "route", "add", "default", "via", "10.77.0.1")
        self.in_ns(name, "ip", "-6", "route", "add", "default", "via", "fd77::1")
        self.lbs.add(n)
        self.start_bird(name, self.lb_config(n))

    # ---- BIRD ---------------------------------------------------------
    def bfd_block(self):
        if not self.bfd:
            return ""
        return ("protocol bfd {\n  interface \"eth0\" {\n"
                "    min rx interval %d ms; min tx interval %d ms;\n"
                "    idle tx interval 300 ms; multiplier %d;\n  };\n}\n"
                % (self.bfd_interval_ms, self.bfd_interval_ms, self.bfd_multiplier))

    def timers(self):
        # quick reconnects (a host back after a restart); the hold time is
        # what finds a dead host when BFD is off
        return ("  hold time %d; keepalive time %d; connect retry time 1;\n"
                "  error wait time 1, 4;\n  bfd %s;\n"
                % (self.hold_time, max(1, self.hold_time // 3), "on" if self.bfd else "off"))

    def router_config(self):
        vips = ("define VIPS4 = [ %s{32,32} ];\ndefine VIPS6 = [ %s{128,128} ];\n"
                % (VIP_PREFIX_V4, VIP_PREFIX_V6))
        sessions = ""
        for n in range(1, MAX_LBS + 1):
            sessions += ("protocol bgp lb%d_4 from lbs4 { neighbor %s as %d; }\n"
                         "protocol bgp lb%d_6 from lbs6 { neighbor %s as %d; }\n"
                         % (n, lb_address(n), LB_AS, n, lb_address(n, True), LB_AS))
        # BIRD's own FIB routes, or (resilient) table 81 for the mirror
        table = "  kernel table %d;\n" % RESILIENT_SOURCE_TABLE if self.resilient else ""
        return (
            "router id 10.77.0.1;\n" + vips +
            "protocol device { scan time 10; }\n" + self.bfd_block() +
            # equal BGP routes from several LBs: one multipath kernel route
            "protocol kernel kernel4 {\n%s  merge paths yes limit 16;\n"
            "  ipv4 { import none; export where source = RTS_BGP; };\n}\n"
            "protocol kernel kernel6 {\n%s  merge paths yes limit 16;\n"
            "  ipv6 { import none; export where source = RTS_BGP; };\n}\n" % (table, table) +
            "template bgp lbs4 {\n  local 10.77.0.1 as %d;\n%s"
            "  ipv4 { import where net ~ VIPS4; export none; };\n}\n"
            "template bgp lbs6 {\n  local fd77::1 as %d;\n%s"
            "  ipv6 { import where net ~ VIPS6; export none; };\n}\n"
            % (ROUTER_AS, self.timers(), ROUTER_AS, self.timers()) + sessions)

    def lb_config(self, n):
        return (
            "router id %s;\n" % lb_address(n) +
            "define VIPS4 = [ %s{32,32} ];\ndefine VIPS6 = [ %s{128,128} ];\n"
            % (VIP_PREFIX_V4, VIP_PREFIX_V6) +
            "protocol device { scan time 10; }\n" + self.bfd_block() +
            # splitd's announcements: routes in table 80 (never exported
            # back: BIRD only reads that table)
            "protocol kernel vips4 {\n  kernel table %d;\n  learn;\n  scan time %d;\n"
            "  ipv4 { import where net ~ VIPS4; export none; };\n}\n"
            "protocol kernel vips6 {\n  kernel table %d;\n  learn;\n  scan time %d;\n"
            "  ipv6 { import where net ~ VIPS6; export none; };\n}\n"
            % (ANNOUNCE_TABLE, self.scan_time, ANNOUNCE_TABLE, self.scan_time) +
            "protocol bgp router4 {\n  local %s as %d;\n  neighbor 10.77.0.1 as %d;\n%s"
            "  ipv4 { import none; export where net ~ VIPS4; next hop self; };\n}\n"
            % (lb_address(n), LB_AS, ROUTER_AS, self.timers()) +
            "protocol bgp router6 {\n  local %s as %d;\n  neighbor fd77::1 as %d;\n%s"
            "  ipv6 { import none; export where net ~ VIPS6; next hop self; };\n}\n"
            % (lb_address(n, True), LB_AS, ROUTER_AS, self.timers()))

    def bird_paths(self, name):
        base = os.path.join(self.directory, name)
        return base + ".bird.conf", base + ".bird.ctl", base + ".bird.pid", base + ".bird.log"

    def start_bird(self, name, config):
        conf, sock, pid, log = self.bird_paths(name)
        with open(conf, "w") as file:
            file.write('log "%s" all;\n' % log + config)
        # -f: in the foreground, so the pid we hold is BIRD's
        self.start("bird-" + name, name, ["bird", "-f", "-c", conf, "-s", sock, "-P", pid],
                   log=log + ".stderr")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.birdc(name, "show status", check=False).returncode == 0:
                return
            if self.processes["bird-" + name].poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError("BIRD in %s did not start: %s" % (name, self.file_tail(log + ".stderr")))

    def birdc(self, name, command, check=True):
        return run("birdc", "-s", self.bird_paths(name)[1], *command.split(),
                   check=check, quiet=True)

    def file_tail(self, path, size=2000):
        try:
            with open(path) as file:
                return file.read()[-size:]
        except OSError:
            return ""

    # ---- the announcer ------------------------------------------------
    def announce(self, n, prefixes, key=None):
        """xdpsplit-announce in lbN announcing prefixes (it holds them until
        killed or its stdin closes). Returns its Popen (stdin, stdout pipes:
        `set ...`, `withdraw`, `list`)."""
        key = key or "announce-lb%d" % n
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.ns("lb%d" % n),
             os.path.join(self.build, "xdpsplit-announce")] + list(prefixes),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = process.stdout.readline().strip()
        if not line.startswith("announced"):
            process.wait()
            raise RuntimeError("xdpsplit-announce in lb%d: %r %s" % (n, line, process.stderr.read()))
        self.processes[key] = process
        return process

    def announcer_command(self, n, command, key=None):
        process = self.processes[key or "announce-lb%d" % n]
        process.stdin.write(command + "\n")
        process.stdin.flush()
        return process.stdout.readline().strip()

    # ---- the router's view --------------------------------------------
    def router_nexthops(self, vip):
        """The router's next hops for vip now, as LB numbers (sorted; a
        gateway that is no LB's address shows as the address itself)."""
        family = "-6" if ":" in vip else "-4"
        result = self.in_ns("router", "ip", "-j", family, "route", "show", vip, check=False)
        if result.returncode != 0 or not result.stdout.strip():
            return []
        names = {}
        for n in range(1, 10):
            for address in (lb_address(n), lb_address(n, True), lb_link_local(n)):
                names[address] = n
        hops = []
        for route in json.loads(result.stdout):
            if route.get("dst") not in (vip, vip + "/32", vip + "/128"):
                continue
            if "nhid" in route:
                gateways = self.group_gateways(route["nhid"])
            else:
                gateways = [hop.get("gateway") for hop in route.get("nexthops", [])] \
                    or [route.get("gateway")]
            hops += [names.get(g, g) for g in gateways if g]
        return sorted(hops, key=str)

    def router_flow_map(self, vip, flows=3000, client="10.77.1.2"):
        """Where the router sends TCP flows from client ports 20000.. to
        vip:80 now (the kernel's own answer, `ip route get ... iif eth1
        ipproto tcp sport S dport 80`, L4 hash included): a list of LB
        numbers (or gateway addresses that are no LB's), one per flow."""
        if ":" in vip and ":" not in client:
            client = "fd77:1::2"
        lines = "".join("route get %s from %s iif eth1 ipproto tcp sport %d dport 80\n"
                        % (vip, client, 20000 + i) for i in range(flows))
        result = subprocess.run(["ip", "-n", self.ns("router"), "-j", "-batch", "-"],
                                input=lines, capture_output=True, text=True, check=True)
        names = {}
        for n in range(1, 10):
            for address in (lb_address(n), lb_address(n, True), lb_link_local(n)):
                names[address] = n
        gateways = [json.loads(line)[0].get("gateway") for line in result.stdout.splitlines()]
        return [names.get(g, g) for g in gateways]

    def group_gateways(self, identifier):
        """The gateways of nexthop object identifier (a group's members')."""
        def show(i):
            result = self.in_ns("router", "ip", "-j", "nexthop", "show", "id", i, check=False)
            return json.loads(result.stdout)[0] if result.returncode == 0 else {}
        entry = show(identifier)
        members = [member["id"] for member in entry.get("group", [])] or [identifier]
        return [show(m).get("gateway") for m in members]

    def wait_announced(self, vip, lbs, timeout=10):
        """Waits until the router's next hops for vip are exactly lbs;
        returns the seconds it took, or raises TimeoutError."""
        want = sorted(lbs)
        started = time.monotonic()
        while True:
            hops = self.router_nexthops(vip)
            if hops == want:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise TimeoutError("router's next hops for %s: %s, not %s after %.1f s"
                                   % (vip, hops, want, timeout))
            time.sleep(0.01)

    # ---- failures -----------------------------------------------------
    def kill_lb(self, n):
        """LB host n dies: its link goes down first (nothing it says on the
        way out, no FIN, no BGP notification, reaches the router), then
        every process in it is killed."""
        name = "lb%d" % n
        self.in_ns(name, "ip", "link", "set", "eth0", "down", check=False)
        for key in [k for k in self.processes if k.endswith("-" + name)]:
            self.stop(key)
        # and whatever else runs in the host (a splitd someone started with
        # nsenter): all of it is a test's, in a namespace made here
        self.kill_namespace_processes(name)
        self.lbs.discard(n)

    def kill_namespace_processes(self, name):
        listing = run("ip", "netns", "pids", self.ns(name), quiet=True, check=False)
        for pid in listing.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass

    def remove_lb(self, n):
        """After kill_lb: the host gone altogether (add_lb(n) makes it
        anew)."""
        self.kill_lb(n)
        # its bridge port first: a namespace's veths die asynchronously
        run("ip", "-n", self.ns("sw"), "link", "del", "p-lb%d" % n, check=False, quiet=True)
        run("ip", "netns", "del", self.ns("lb%d" % n), check=False)

    # ---- servers --------------------------------------------------------
    def start_server(self, name, port=80):
        """tests/e2e/server.py NAME PORT in namespace name."""
        return self.start("server-" + name, name,
                          [PYTHON, os.path.join(ROOT, "tests/e2e/server.py"), name, port])

    def start_backend_servers(self, port=80):
        for name in BACKENDS:
            self.start_server(name, port)

    # ---- etcd -----------------------------------------------------------
    def add_etcd_host(self, n):
        name = "etcd%d" % n
        if not os.path.exists("/run/netns/" + self.ns(name)):
            self.add_host(name, etcd_address(n), None)
        return name

    def etcd_endpoints(self):
        return ["http://%s:2379" % etcd_address(n) for n in sorted(self.etcd_members)]

    def start_etcd(self, members=1, timeout=20):
        """A members-strong etcd cluster on PREFIX-etcd1.. (data in the
        temporary directory); returns its client URLs once every member
        says it is healthy."""
        cluster = ",".join("e%d=http://%s:2380" % (n, etcd_address(n))
                           for n in range(1, members + 1))
        for n in range(1, members + 1):
            self.add_etcd_host(n)
            self.etcd_members[n] = cluster
            self.start_etcd_member(n, "new")
        for n in range(1, members + 1):
            self.wait_etcd(n, timeout)
        return self.etcd_endpoints()

    def start_etcd_member(self, n, state):
        address = etcd_address(n)
        self.start("etcd-etcd%d" % n, "etcd%d" % n, [
            "etcd", "--name", "e%d" % n,
            "--data-dir", os.path.join(self.directory, "etcd%d.data" % n),
            "--listen-client-urls", "http://%s:2379" % address,
            "--advertise-client-urls", "http://%s:2379" % address,
            "--listen-peer-urls", "http://%s:2380" % address,
            "--initial-advertise-peer-urls", "http://%s:2380" % address,
            "--initial-cluster", self.etcd_members[n],
            "--initial-cluster-token", self.prefix,
            "--initial-cluster-state", state,
            "--heartbeat-interval", "100", "--election-timeout", "1000"],
            log=os.path.join(self.directory, "etcd%d.log" % n))

    def etcd_healthy(self, n):
        code = ("import json,sys,urllib.request;"
                "print(json.load(urllib.request.urlopen(sys.argv[1],timeout=1))['health'])")
        result = self.in_ns("etcd%d" % n, PYTHON, "-c", code,
                            "http://%s:2379/health" % etcd_address(n), check=False)
        return result.returncode == 0 and result.stdout.strip() == "true"

    def wait_etcd(self, n, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            process = self.processes.get("etcd-etcd%d" % n)
            if process is None or process.poll() is not None:
                raise RuntimeError("etcd member %d exited: %s" % (n, self.file_tail(
                    os.path.join(self.directory, "etcd%d.log" % n))))
            if self.etcd_healthy(n):
                return
            time.sleep(0.2)
        raise RuntimeError("etcd member %d not healthy within %d s" % (n, timeout))

    def kill_etcd(self, n):
        self.stop("etcd-etcd%d" % n)

    def restart_etcd(self, n, timeout=20):
        """A killed member back on its data directory."""
        self.kill_etcd(n)
        self.start_etcd_member(n, "existing")
        self.wait_etcd(n, timeout)

    # ---- clients --------------------------------------------------------
    def probe(self, address, port, seconds, timeout=0.3, client="client"):
        """New TCP connections one after another for seconds from a client:
        [[CLOCK_MONOTONIC start, server name or None], ...]."""
        code = r"""
import json, socket, sys, time
address, port, seconds, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
family = socket.AF_INET6 if ":" in address else socket.AF_INET
out, end = [], time.monotonic() + seconds
while time.monotonic() < end:
    started = time.monotonic()
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect((address, port))
        name = s.recv(64).decode().split()[0]
    except (OSError, IndexError):
        name = None
    s.close()
    out.append([started, name])
print(json.dumps(out))
"""
        result = self.in_ns(client, PYTHON, "-c", code, address, port, seconds, timeout)
        return json.loads(result.stdout)

    def probe_background(self, address, port, seconds, timeout=0.3, client="client"):
        """probe() started now; .finish() gives its list."""
        net = self

        class Pending:
            def __init__(self):
                import threading
                self.result = None
                self.thread = threading.Thread(target=self.run)
                self.thread.start()

            def run(self):
                self.result = net.probe(address, port, seconds, timeout, client)

            def finish(self):
                self.thread.join()
                return self.result
        return Pending()

    # ---- teardown -------------------------------------------------------
    def down(self):
        """Kills every process started here (by pid), deletes the
        namespaces and the temporary directory. Idempotent."""
        for key in list(self.processes):
            self.stop(key)
        listing = run("ip", "netns", "list", quiet=True, check=False).stdout
        for line in listing.splitlines():
            name = line.split()[0] if line.split() else ""
            if name.startswith(self.prefix + "-"):
                # anything left inside is ours too (a child of ours)
                self.kill_namespace_processes(name[len(self.prefix) + 1:])
                run("ip", "netns", "del", name, check=False)
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None
        self.lbs.clear()
        self.etcd_members.clear()
