#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""make demo-fleet: a fleet of LB hosts rolling a release out, live, on
namespaces of this machine.

A BGP router (BIRD) spreads the VIP over three LB hosts by ECMP; each runs
splitd in fleet mode (examples/fleet-host.yaml) around a 3-member etcd,
and the fleet's document (examples/fleet.yaml) is put with `splitctl fleet
apply -f`. A client opens new connections all the time and holds 150
long-lived ones opened at canary 5%. The canary ramps 5% -> 25% while one
LB host dies (link down, processes killed) and another joins; the canary
then breaks (its servers report errors, scraped by Prometheus) and the
leader rolls it back on every host on its own; a second rollout is
promoted at its gate and switches blue -> green. Everything is cleaned
up, on Ctrl-C or failure too.

`demo_fleet.py client VIP PORT HELD RATE` is the client itself (run in the
client's namespace): a JSON line of totals a second until stdin closes.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests/e2e"))

VIP = "10.77.100.1"
SERVICE = VIP + ":80/tcp"
HELD, RATE = 150, 40
CONNECT_TIMEOUT = 0.5  # a SYN lost to a dead host fails (TCP would retry at 1 s)


# ---- the client (in the client's namespace) ------------------------------
def client(address, port, held_count, rate):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the demo's: it closes stdin
    def line(sock):
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed by peer")
            data += chunk
        return data.decode().split()[0]

    held = []
    for _ in range(held_count):
        sock = socket.create_connection((address, port), timeout=2)
        held.append([sock, line(sock), None])  # socket, server, broken
    print("ready", flush=True)
    lock = threading.Lock()
    totals = {"new": 0, "failed": 0, "failed_at": [], "pools": {}, "held": held_count,
              "broken": 0, "broken_why": []}
    stop = threading.Event()

    def new_connections():
        while not stop.is_set():
            started = time.monotonic()
            try:
                sock = socket.create_connection((address, port), timeout=CONNECT_TIMEOUT)
                try:
                    sock.settimeout(2)
                    pool = line(sock).rstrip("0123456789")
                finally:
                    sock.close()
                with lock:
                    totals["new"] += 1
                    totals["pools"][pool] = totals["pools"].get(pool, 0) + 1
            except OSError:
                with lock:
                    totals["new"] += 1
                    totals["failed"] += 1
                    totals["failed_at"].append(started)
            time.sleep(max(0.0, 1.0 / rate - (time.monotonic() - started)))

    def pings():
        while not stop.wait(1.0):
            for connection in held:
                if connection[2] is None:
                    try:
                        connection[0].sendall(b"ping\n")
                    except OSError as error:
                        connection[2] = str(error)
            for connection in held:
                if connection[2] is None:
                    try:
                        server = line(connection[0])
                        if server != connection[1]:
                            connection[2] = "moved to " + server
                    except OSError as error:
                        connection[2] = str(error)
            with lock:
                broken = [c for c in held if c[2]]
                totals["broken"] = len(broken)
                totals["broken_why"] = ["%s: %s" % (c[1], c[2]) for c in broken[:3]]

    threads = [threading.Thread(target=f, daemon=True) for f in (new_connections, pings)]
    for thread in threads:
        thread.start()

    def report():
        while not stop.wait(1.0):
            with lock:
                print(json.dumps(totals), flush=True)
    threading.Thread(target=report, daemon=True).start()
    sys.stdin.read()  # until the demo closes it (or dies)
    stop.set()
    for thread in threads:
        thread.join(timeout=5)
    with lock:
        print(json.dumps(totals), flush=True)


# ---- the demo ---------------------------------------------------------------
def say(text):
    print("\n== " + text, flush=True)


class Client:
    """The client's process and its latest totals."""

    def __init__(self, lab):
        self.totals = {"new": 0, "failed": 0, "failed_at": [], "pools": {}, "held": 0,
                       "broken": 0, "broken_why": []}
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", lab.net.ns("client"), "/usr/bin/python3",
             os.path.abspath(__file__), "client", VIP, "80", str(HELD), str(RATE)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError("the client could not open its long-lived connections")
        threading.Thread(target=self.read, daemon=True).start()
        deadline = time.monotonic() + 5
        while not self.totals["held"] and time.monotonic() < deadline:
            time.sleep(0.05)  # its first line of totals

    def read(self):
        for text in self.process.stdout:
            self.totals = json.loads(text)

    def stop(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        time.sleep(0.2)  # the reader's last line


class Demo:
    def __init__(self, lab):
        self.lab, self.client = lab, None
        self.started = time.monotonic()
        self.last = None  # the client's totals at the last line
        self.rollout = None
        self.killed = None
        self.next_line = time.monotonic()

    def weights(self):
        """The route one live host's program splits by now."""
        for n in sorted(self.lab.splitds):
            if self.lab.splitds[n].poll() is None and n in self.lab.net.lbs:
                result = self.lab.splitctl(n, "-j", "vip", "show", SERVICE)
                if result.returncode == 0:
                    vip = json.loads(result.stdout)
                    return vip["blue"], vip["green"], vip["canary"], vip.get("live", "?")
        return None

    def line(self):
        lab = self.lab
        status = lab.fleet("status", check=False)
        hosts = {}
        if status.returncode == 0:
            for host in json.loads(status.stdout)["hosts"]:
                mark = {"announced": "up", "withdrawn": "wd"}.get(host["announce"],
                                                                  host["announce"][:4])
                hosts[host["host"]] = mark + ("*" if host["leader"] else "")
        rollout = lab.fleet("rollout", "status", SERVICE, check=False)
        self.rollout = json.loads(rollout.stdout) if rollout.returncode == 0 else None
        phase = ("%s %s/%s" % (self.rollout["phase"], self.rollout["step"], self.rollout["steps"])
                 if self.rollout else "no rollout")
        hops = lab.net.router_nexthops(VIP)
        weights = self.weights()
        totals = self.client.totals if self.client else {}
        now = {"new": totals.get("new", 0), "failed": totals.get("failed", 0)}
        last = self.last or now
        self.last = now
        print("%4.0fs  %-18s hosts %-31s router -> %-15s %s  new %3d/s failed %d  long-lived %d held %d broken"
              % (time.monotonic() - self.started, phase,
                 " ".join("%s %-3s" % (h, hosts[h]) for h in sorted(hosts)),
                 ",".join("lb%s" % h for h in hops) or "(none)",
                 "weights b/g/c %5.1f/%5.1f/%5.1f live %-5s" % weights if weights else "weights ?",
                 now["new"] - last["new"], now["failed"] - last["failed"],
                 totals.get("held", 0) - totals.get("broken", 0), totals.get("broken", 0)),
              flush=True)

    def watch(self, seconds, until=None):
        """A line a second (one clock for every call) for at most seconds,
        or until until(self) holds."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            time.sleep(max(0.0, self.next_line - time.monotonic()))
            self.next_line = max(self.next_line + 1.0, time.monotonic() + 0.5)
            self.line()
            if until and until(self):
                return True
        return False

    def background(self, function, *args):
        thread = threading.Thread(target=function, args=args, daemon=True)
        thread.start()
        return thread

    def watch_while(self, thread, seconds=30):
        self.watch(seconds, until=lambda _: not thread.is_alive())


def phase_is(*phases):
    return lambda demo: demo.rollout is not None and demo.rollout["phase"] in phases


def canary_at(percent):
    return lambda demo: demo.rollout is not None and demo.rollout["canary"] >= percent


def start_prometheus(lab):
    """Prometheus in the router's namespace (10.77.0.1:9090, which every LB
    host reaches) scraping the backends' /metrics every second."""
    import fleet_net
    directory = os.path.join(lab.net.directory, "prometheus")
    os.makedirs(directory)
    targets = "".join("      - {targets: ['10.77.0.%d:8080'], labels: {pool: %s}}\n"
                      % (octet, name.rstrip("0123456789"))
                      for name, octet in fleet_net.BACKENDS.items())
    with open(os.path.join(directory, "prometheus.yml"), "w") as config:
        config.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                     "scrape_configs:\n  - job_name: backends\n    static_configs:\n" + targets)
    lab.net.start("prometheus-router", "router", [
        "prometheus", "--config.file=" + os.path.join(directory, "prometheus.yml"),
        "--storage.tsdb.path=" + os.path.join(directory, "data"),
        "--web.listen-address=10.77.0.1:9090"], log=os.path.join(directory, "log"))
    code = ("import json,urllib.request;print(len(json.load(urllib.request.urlopen("
            "'http://10.77.0.1:9090/api/v1/query?query=up',timeout=2))['data']['result']))")
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        result = lab.net.in_ns("router", "/usr/bin/python3", "-c", code, check=False)
        if result.returncode == 0 and result.stdout.strip() not in ("", "0"):
            return
        time.sleep(0.5)
    raise RuntimeError("Prometheus did not start: " + lab.net.file_tail(
        os.path.join(directory, "log")))


def fleet_text(lab, *args):
    """splitctl fleet ARGS as an operator sees it (text, not JSON)."""
    result = lab.net.in_ns("router", os.path.join(lab.net.build, "splitctl"), "fleet",
                           "--etcd", ",".join(lab.endpoints), "--prefix", lab.key_prefix,
                           *args, check=False)
    return result.stdout + result.stderr


def host_config(lab, n):
    """examples/fleet-host.yaml, as host lbN."""
    with open(os.path.join(ROOT, "examples/fleet-host.yaml")) as example:
        text = example.read()
    changed, found = re.subn(r"(?m)^(  host: )lb1\b", r"\g<1>lb%d" % n, text, count=1)
    if not found:
        raise RuntimeError("examples/fleet-host.yaml: no 'host: lb1'")
    for endpoint in lab.endpoints:
        if endpoint not in text:
            raise RuntimeError("examples/fleet-host.yaml does not name etcd " + endpoint)
    return changed


def main():
    if os.geteuid() != 0:
        sys.exit("make demo-fleet needs root: it builds network namespaces and loads XDP")
    for tool in ("bird", "birdc", "etcd", "prometheus"):
        if subprocess.run(["which", tool], capture_output=True).returncode:
            sys.exit("no %s: make deps installs it" % tool)
    from fleet_lab import FleetLab
    lab = FleetLab(lbs=3, etcd_members=3, prefix="demofleet")
    lab.lb_count = 0  # up() makes the network's lb1-lb3; their splitds start below
    # BFD at fleet_net's 100 ms x 5 (50 ms x 3 flapped every session at once
    # on a loaded 2-core machine): a dead host is withdrawn in about 0.5 s
    lab.key_prefix = "/xdpsplit/"  # examples/fleet-host.yaml's
    lab.config = lambda n: host_config(lab, n)
    demo = Demo(lab)
    interrupted = False
    # SIGTERM (and SIGHUP) clean up as Ctrl-C does
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        say("network: a BGP router (BIRD, ECMP), LB hosts lb1-lb3, blue/green/canary backends, "
            "3 etcd members")
        lab.up()
        start_prometheus(lab)
        say("splitctl fleet apply -f examples/fleet.yaml")
        print(fleet_text(lab, "apply", "-f", os.path.join(ROOT, "examples/fleet.yaml")), end="")
        if not lab.status()["document"]:
            raise RuntimeError("the fleet's document was refused")
        say("splitd on lb1, lb2, lb3 with examples/fleet-host.yaml; each announces the VIP to the router")
        for n in (1, 2, 3):
            lab.start_host(n)
        lab.wait_hosts(["lb1", "lb2", "lb3"], timeout=60)
        lab.net.wait_announced(VIP, [1, 2, 3], 30)
        say("the client: %d long-lived connections opened at canary 5%%, then %d new connections/s"
            % (HELD, RATE))
        demo.client = Client(lab)
        print("hosts: up = announced, wd = withdrawn, * = the rollout leader; "
              "weights: blue/green/canary % on the hosts' data plane", flush=True)
        demo.watch(3)

        say("rollout 1: splitctl fleet rollout start %s (canary-ramp: 10%% 15%% 20%% 25%%)" % SERVICE)
        lab.fleet("rollout", "start", SERVICE)
        demo.watch(20, until=canary_at(10))
        demo.watch(3)
        say("lb2 dies: its link goes down, BIRD and splitd are killed")
        demo.killed = time.monotonic()  # CLOCK_MONOTONIC: one clock for every namespace
        demo.watch_while(demo.background(lab.kill_host, 2), 10)
        demo.watch(20, until=lambda d: lab.net.router_nexthops(VIP) == [1, 3])
        demo.watch(20, until=canary_at(20))
        say("lb4 joins: a new host, its splitd with the same host file")
        demo.watch_while(demo.background(lab.start_host, 4), 30)
        demo.watch(30, until=lambda d: lab.net.router_nexthops(VIP) == [1, 3, 4])
        demo.watch(30, until=canary_at(25))
        demo.watch(3)

        say("the canary breaks: its servers start answering with errors (Prometheus sees them)")
        for name in ("canary1", "canary2"):
            lab.net.processes["server-" + name].send_signal(signal.SIGUSR1)
        rolled = demo.watch(30, until=phase_is("rolled-back", "failed", "aborted"))
        say("the leader %s: %s" % (demo.rollout["phase"], demo.rollout.get("reason", ""))
            if rolled else "no rollback?")
        first = fleet_text(lab, "rollout", "status", SERVICE)  # its history, for the end
        demo.watch(2)
        say("the canary is fixed (its servers stop reporting errors; its connections stayed)")
        for name in ("canary1", "canary2"):
            lab.net.processes["server-" + name].send_signal(signal.SIGUSR1)
        demo.watch(2)

        say("rollout 2: splitctl fleet rollout start %s canary-then-green" % SERVICE)
        lab.fleet("rollout", "start", SERVICE, "canary-then-green")
        demo.watch(30, until=lambda d: d.rollout and d.rollout["phase"] == "running"
                   and d.rollout["policy"] == "canary-then-green" and d.rollout["step"] == 3)
        demo.watch(2)
        say("the operator promotes: splitctl fleet rollout promote " + SERVICE)
        lab.fleet("rollout", "promote", SERVICE)
        done = demo.watch(30, until=phase_is("succeeded", "rolled-back", "failed", "aborted"))
        demo.watch(2)
        say("rollout 2 %s %s" % (demo.rollout["phase"], demo.rollout.get("reason", ""))
            if done else "rollout 2 did not finish")
        demo.client.stop()
        totals = demo.client.totals

        say("splitctl fleet status")
        print(fleet_text(lab, "status"), end="")
        say("splitctl fleet rollout status %s: rollout 1, as it read when rolled back" % SERVICE)
        print(first, end="")
        say("splitctl fleet rollout status %s: rollout 2, now" % SERVICE)
        print(fleet_text(lab, "rollout", "status", SERVICE), end="")
        say("the client")
        print("new connections by pool: %s" % totals["pools"])
        if totals["broken_why"]:
            print("broken: %s" % totals["broken_why"])
        times = totals["failed_at"]
        after = [t - demo.killed for t in times] if demo.killed else []
        print("failed: only new connections whose SYN went to lb2 in the router's withdraw "
              "window (connect timeout %.1f s)%s"
              % (CONNECT_TIMEOUT, ": all started %.2f-%.2f s after the kill" % (min(after), max(after))
                 if after else ": none"))
        print("fleet: %d connections, %d failed, %d long-lived, %d broken"
              % (totals["new"], totals["failed"], totals["held"], totals["broken"]), flush=True)
    except KeyboardInterrupt:
        print("\ninterrupted", flush=True)
        interrupted = True
    finally:
        if demo.client:
            demo.client.stop()
        say("cleaning up: splitds, BIRD, etcd, Prometheus, XDP, namespaces, pins")
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        lab.down()
    if interrupted:
        sys.exit(130)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "client":
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    else:
        main()
