# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""A fleet of xdpsplit hosts for the end-to-end tests and the demo: the
network of fleet_net.py (a BGP router spreading the VIPs over LB hosts by
ECMP, backends, etcd members), and on each LB host a real splitd in fleet
mode (its own pin, state and run directories) converging to the fleet's
document in etcd, which `splitctl fleet` writes from the router's
namespace (any host that reaches etcd would do).

    lab = FleetLab(); lab.up(DOCUMENT)      # etcd, backends, 3 splitds
    lab.fleet("weights", VIP, "blue", "90", "green", "0", "canary", "10")
    lab.wait_hosts(["lb1", "lb2", "lb3"])   # all announced, caught up
    lab.down()
"""
import json
import os
import shutil
import signal
import subprocess
import time

import fleet_net
from fleet_net import FleetNet, lb_address

BUILD = fleet_net.BUILD
BACKEND_ADDRESSES = {name: "10.77.0.%d" % octet
                     for name, octet in fleet_net.BACKENDS.items()}


def document(vips, rollouts=""):
    """A fleet document: vips is a list of YAML VIP entries (text)."""
    text = "vips:\n" + "".join(vips)
    if rollouts:
        text += "rollouts:\n" + rollouts
    return text


def vip_entry(vip, pools, weights="{blue: 100, green: 0, canary: 0}",
              mode="l2dsr", rollout=None, extra=""):
    lines = ["  - vip: %s\n" % vip, "    mode: %s\n" % mode,
             "    weights: %s\n" % weights]
    if rollout:
        lines.append("    rollout: %s\n" % rollout)
    lines.append(extra)
    lines.append("    backends:\n")
    for pool, names in pools.items():
        for name in names:
            lines.append("      - {address: %s, pool: %s}\n"
                         % (BACKEND_ADDRESSES[name], pool))
    return "".join(lines)


POOLS = {"blue": ["blue1", "blue2"], "green": ["green1", "green2"],
         "canary": ["canary1", "canary2"]}


class FleetLab:
    def __init__(self, lbs=3, etcd_members=1, prefix=None, lease="3s",
                 flows=65536, interval="1s"):
        self.prefix = prefix or "xsl%d" % (os.getpid() % 100000)
        self.net = FleetNet(self.prefix)
        self.lb_count, self.etcd_count = lbs, etcd_members
        self.lease, self.flows, self.interval = lease, flows, interval
        self.key_prefix = "/xdpsplit-%s/" % self.prefix
        self.splitds = {}  # n -> Popen
        self.endpoints = []
        self.directory = None

    # ---- places ------------------------------------------------------
    def pin_dir(self, n):
        return "/sys/fs/bpf/%s-lb%d" % (self.prefix, n)

    def host_dir(self, n):
        return os.path.join(self.directory, "lb%d" % n)

    def environment(self, n):
        return dict(os.environ, XDPSPLIT_PIN_DIR=self.pin_dir(n),
                    XDPSPLIT_STATE_DIR=self.host_dir(n),
                    XDPSPLIT_RUN_DIR=self.host_dir(n),
                    LIBXDP_BPFFS=self.pin_dir(n) + "-libxdp")

    def config(self, n):
        return ("interfaces:\n  - name: eth0\n"
                "daemon:\n  interval: %s\n  metrics: 127.0.0.1:9464\n"
                "fleet:\n  host: lb%d\n  etcd: [%s]\n  prefix: %s\n  lease: %s\n"
                % (self.interval, n, ", ".join(self.endpoints), self.key_prefix,
                   self.lease))

    # ---- up and down -------------------------------------------------
    def up(self, document_text=None):
        self.down()
        self.directory = self.net.directory = None
        self.net.up()
        self.directory = os.path.join(self.net.directory, "hosts")
        os.makedirs(self.directory)
        self.endpoints = self.net.start_etcd(self.etcd_count)
        self.net.start_backend_servers()
        if document_text:
            self.apply(document_text)
        for n in range(1, self.lb_count + 1):
            self.start_host(n)

    def start_host(self, n, attach=True):
        """splitd on LB host n (made if it is not there), after attaching
        its data plane with a test-sized flow table."""
        if n not in self.net.lbs:
            self.net.add_lb(n)
        os.makedirs(self.host_dir(n), mode=0o750, exist_ok=True)
        # on a machine booted without bpffs, /sys/fs/bpf is sysfs until
        # splitctl attach mounts bpffs; libxdp keeps no state without it
        try:
            os.makedirs(self.pin_dir(n) + "-libxdp", exist_ok=True)
        except OSError:
            pass
        if attach:
            result = self.splitctl(n, "attach", "eth0", "flows", str(self.flows))
            if result.returncode != 0 and "already" not in result.stderr:
                raise RuntimeError("attach on lb%d: %s" % (n, result.stderr))
        return self.start_splitd(n)

    def start_splitd(self, n):
        path = os.path.join(self.host_dir(n), "splitd.yaml")
        with open(path, "w") as config:
            config.write(self.config(n))
        log = open(os.path.join(self.host_dir(n), "splitd.log"), "a")
        self.splitds[n] = subprocess.Popen(
            ["nsenter", "--net=/run/netns/" + self.net.ns("lb%d" % n),
             os.path.join(BUILD, "splitd"), "-c", path] + (["-v"] if os.environ.get("XS_FLEET_VERBOSE") else []),
            env=self.environment(n), stdout=log, stderr=subprocess.STDOUT)
        return self.splitds[n]

    def kill_splitd(self, n, sig=signal.SIGKILL):
        process = self.splitds.pop(n, None)
        if process and process.poll() is None:
            process.send_signal(sig)
            process.wait(timeout=30)

    def kill_host(self, n):
        """Host n dies: its link down first (nothing it would say on the
        way out reaches anyone), then BIRD and splitd killed; its XDP
        stays (nothing reaches it anyway)."""
        self.net.kill_lb(n)
        self.kill_splitd(n)

    def log(self, n):
        try:
            with open(os.path.join(self.host_dir(n), "splitd.log")) as log:
                return log.read()
        except OSError:
            return ""

    def down(self):
        for n in list(self.splitds):
            self.kill_splitd(n)
        for n in range(1, fleet_net.MAX_LBS + 1):
            if os.path.exists("/run/netns/" + self.net.ns("lb%d" % n)):
                self.net.in_ns("lb%d" % n, "ip", "link", "set", "eth0", "xdp", "off",
                               check=False)
            for path in (self.pin_dir(n), self.pin_dir(n) + "-libxdp"):
                shutil.rmtree(path, ignore_errors=True)
        self.net.down()

    # ---- commands ----------------------------------------------------
    def splitctl(self, n, *args):
        """splitctl on LB host n's own data plane."""
        return subprocess.run(
            ["nsenter", "--net=/run/netns/" + self.net.ns("lb%d" % n),
             os.path.join(BUILD, "splitctl")] + [str(a) for a in args],
            env=self.environment(n), capture_output=True, text=True, timeout=60)

    def fleet(self, *args, check=True):
        """splitctl fleet ARGS, from the router's namespace."""
        result = self.net.in_ns(
            "router", os.path.join(BUILD, "splitctl"), "-j", "fleet", "--etcd",
            ",".join(self.endpoints), "--prefix", self.key_prefix,
            *[str(a) for a in args], check=False)
        if check and result.returncode != 0:
            raise AssertionError("splitctl fleet %s: %s%s" % (
                " ".join(str(a) for a in args), result.stdout, result.stderr))
        return result

    def fleet_json(self, *args):
        return json.loads(self.fleet(*args).stdout)

    def apply(self, text):
        path = os.path.join(self.net.directory, "fleet.yaml")
        with open(path, "w") as file:
            file.write(text)
        os.chmod(path, 0o644)
        return self.fleet("apply", "-f", path)

    def status(self):
        return self.fleet_json("status")

    def wait_hosts(self, hosts, timeout=30, announced=True):
        """Until each of hosts reports itself announced (or withdrawn) and
        caught up with the fleet's desired state."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            result = self.fleet("status", check=False)
            if result.returncode == 0:
                last = json.loads(result.stdout)
                by_name = {h["host"]: h for h in last["hosts"]}
                if all(h in by_name and by_name[h]["current"] and
                       (by_name[h]["announce"] == "announced") == announced
                       for h in hosts):
                    return last
            time.sleep(0.1)
        raise AssertionError("hosts %s not %s within %d s: %s\n%s" % (
            hosts, "announced" if announced else "withdrawn", timeout,
            json.dumps(last), "\n".join(self.log(n)[-800:] for n in self.splitds)))

    def decide(self, n, vip, client, first_port, count):
        """What host n's program does with count new flows from client
        (xdpsplit-decide): {port: "verdict mac outer"}."""
        result = subprocess.run(
            ["nsenter", "--net=/run/netns/" + self.net.ns("lb%d" % n),
             os.path.join(BUILD, "xdpsplit-decide"), "eth0", vip, client,
             str(first_port), str(count)],
            capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise AssertionError("xdpsplit-decide on lb%d: %s" % (n, result.stderr))
        out = {}
        for line in result.stdout.splitlines():
            port, rest = line.split(" ", 1)
            out[int(port)] = rest
        return out
