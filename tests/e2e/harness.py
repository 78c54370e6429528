# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""End-to-end harness: the namespace topology, real servers, the client,
and splitctl run the way an operator runs it (a separate process, on the
pinned maps, inside the LB's network namespace)."""
import json
import math
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# make check SANITIZE=1 runs the e2e tests against the sanitized binaries
BUILD = os.path.join(ROOT, os.environ.get("XDPSPLIT_BUILD", "build"))
PYTHON = "/usr/bin/python3"
BACKENDS = {"blue1": "10.77.0.11", "blue2": "10.77.0.12",
            "green1": "10.77.0.21", "green2": "10.77.0.22",
            "canary1": "10.77.0.31", "canary2": "10.77.0.32"}
BACKENDS_V6 = {name: "fd77::" + address.split(".")[-1]
               for name, address in BACKENDS.items()}
CLIENT = "10.77.0.2"
SERVER_PORT = 80


class Failure(Exception):
    pass


class Skip(Exception):
    """A test that cannot run in this build says why, and counts as skipped."""


def check(condition, message):
    if not condition:
        raise Failure(message)


def wait_for(condition, seconds, what):
    """Polls condition every 50 ms; its first true value, or a Failure."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise Failure("timed out waiting for " + what)


def audit_entries(lab, needle):
    """The audit log's entries whose line holds needle, parsed."""
    with open(os.path.join(lab.state_dir, "audit.log")) as log:
        return [json.loads(line) for line in log if needle in line]


def audit_time(entry):
    """Seconds since the epoch of an audit entry's time stamp."""
    stamp = time.strptime(entry["time"][:19], "%Y-%m-%dT%H:%M:%S")
    return time.mktime(stamp) - time.timezone + int(entry["time"][20:23]) / 1000.0


def backend_state(lab, vip, address):
    return [b for b in lab.json("backend", "list", vip) if b["backend"] == address][0]["state"]


def within_binomial_bound(observed, n, p):
    """99.9% two-sided bound."""
    return abs(observed - n * p) <= 3.29 * math.sqrt(n * p * (1 - p))


class Lab:
    """One topology, one attached splitter, servers on every backend."""

    def __init__(self):
        self.prefix = "xse%d" % (os.getpid() % 100000)
        self.pin_dir = "/sys/fs/bpf/xdpsplit-test-e2e-%d" % os.getpid()
        self.state_dir = "/tmp/xdpsplit-e2e-%d" % os.getpid()
        # libxdp keeps state under bpffs; ours, so the host's stays clean
        self.libxdp_dir = self.pin_dir + "-libxdp"
        self.servers = {}
        self.run_dir = self.state_dir + "-run"
        self.splitd = None

    def ns(self, name):
        return "%s-%s" % (self.prefix, name)

    def up(self, attach=True):
        # on a machine booted without bpffs, /sys/fs/bpf is a plain sysfs
        # directory until splitctl attach mounts bpffs there; libxdp keeps
        # no state when its directory is missing
        try:
            os.makedirs(self.libxdp_dir, exist_ok=True)
        except OSError:
            pass
        subprocess.run([os.path.join(ROOT, "scripts/topology.sh"), "up",
                        self.prefix, BUILD], check=True)
        for name in BACKENDS:
            self.start_server(name)
        time.sleep(0.3)
        if attach:
            result = self.splitctl("attach", "eth0", "flows", "65536")
            check(result.returncode == 0, "attach failed: " + result.stderr)
            os.makedirs(self.libxdp_dir, exist_ok=True)

    def start_server(self, name, errors=False):
        # ip netns exec execs the server: this process is the server itself
        self.servers[name] = (subprocess.Popen(
            ["ip", "netns", "exec", self.ns(name), PYTHON,
             os.path.join(ROOT, "tests/e2e/server.py"), name, str(SERVER_PORT)]
            + (["errors"] if errors else []),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.1)

    def start_splitd(self, config_text, extra_env=None, wait=True, wrapper=(),
                     seconds=10, args=()):
        """splitd in the LB's namespace with this configuration (run by
        wrapper, valgrind for one); returns once its control socket answers
        (unless wait is False)."""
        os.makedirs(self.state_dir, exist_ok=True)
        path = os.path.join(self.state_dir, "splitd.yaml")
        with open(path, "w") as config:
            config.write(config_text)
        self.splitd_log = open(os.path.join(self.state_dir, "splitd.log"), "a")
        self.splitd = subprocess.Popen(
            ["nsenter", "--net=/run/netns/" + self.ns("lb")] + list(wrapper) +
            [os.path.join(BUILD, "splitd"), "-c", path] + list(args),
            env=dict(self.environment(), **(extra_env or {})),
            stdout=self.splitd_log, stderr=subprocess.STDOUT)
        if not wait:
            return self.splitd
        socket_path = os.path.join(self.run_dir, "splitd.sock")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            check(self.splitd.poll() is None, "splitd exited: " + self.splitd_output())
            # a socket file may be a killed predecessor's: ready means it answers
            probe = socket.socket(socket.AF_UNIX)
            try:
                probe.connect(socket_path)
                return self.splitd
            except OSError:
                time.sleep(0.05)
            finally:
                probe.close()
        raise Failure("splitd did not open its socket: " + self.splitd_output())

    def splitd_output(self):
        with open(os.path.join(self.state_dir, "splitd.log")) as log:
            return log.read()[-2000:]

    def stop_splitd(self, kill=False):
        if self.splitd and self.splitd.poll() is None:
            if kill:
                self.splitd.kill()
            else:
                self.splitd.terminate()
            self.splitd.wait(timeout=60)  # valgrind checks leaks at exit
        self.splitd = None

    def forget_rollouts(self):
        for name in ("rollouts.state", "rollouts.state.tmp", "config.applied",
                     "config.applied.tmp", "settings.applied", "settings.applied.tmp"):
            try:
                os.unlink(os.path.join(self.state_dir, name))
            except FileNotFoundError:
                pass

    def stop_server(self, name):
        server = self.servers.pop(name, None)
        if server:
            server.kill()
            server.wait()

    def start_prometheus(self):
        """A real Prometheus in the LB's namespace: scrapes splitd and the
        backends' own /metrics every second; its API on 127.0.0.1:9090."""
        directory = os.path.join(self.state_dir, "prometheus")
        os.makedirs(directory, exist_ok=True)
        targets = "\n".join(
            "      - targets: ['%s:8080']\n        labels: {pool: %s}" % (address, name[:-1])
            for name, address in BACKENDS.items())
        with open(os.path.join(directory, "prometheus.yml"), "w") as config:
            config.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                         "scrape_configs:\n"
                         "  - job_name: splitd\n"
                         "    static_configs: [{targets: ['127.0.0.1:9464']}]\n"
                         "  - job_name: backends\n"
                         "    static_configs:\n" + targets + "\n")
        self.prometheus = subprocess.Popen(
            ["ip", "netns", "exec", self.ns("lb"), "prometheus",
             "--config.file=" + os.path.join(directory, "prometheus.yml"),
             "--storage.tsdb.path=" + os.path.join(directory, "data"),
             "--web.listen-address=127.0.0.1:9090"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(directory, "log"), "w"))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.prometheus_query("up") is not None:
                return
            time.sleep(0.5)
        raise Failure("Prometheus did not start")

    def prometheus_query(self, query):
        """The query's result list, or None if Prometheus does not answer."""
        code = ("import json,sys,urllib.parse,urllib.request;"
                "u='http://127.0.0.1:9090/api/v1/query?query='+urllib.parse.quote(sys.argv[1]);"
                "print(json.dumps(json.load(urllib.request.urlopen(u,timeout=3))['data']['result']))")
        result = subprocess.run(["ip", "netns", "exec", self.ns("lb"), PYTHON, "-c", code,
                                 query], capture_output=True, text=True, timeout=20)
        return json.loads(result.stdout) if result.returncode == 0 else None

    def stop_prometheus(self):
        if getattr(self, "prometheus", None):
            self.prometheus.kill()
            self.prometheus.wait()
            self.prometheus = None

    def metrics(self):
        result = subprocess.run(
            ["ip", "netns", "exec", self.ns("lb"), PYTHON, "-c",
             "import urllib.request;print(urllib.request.urlopen("
             "'http://127.0.0.1:9464/metrics', timeout=5).read().decode())"],
            capture_output=True, text=True, timeout=20)
        check(result.returncode == 0, "metrics: " + result.stderr[-300:])
        return result.stdout

    def down(self):
        self.stop_splitd()
        # splitd's lock for the pin dir, named after its device and inode
        try:
            pins = os.stat(self.pin_dir)
            os.unlink("/run/lock/xdpsplit/pin-dir-%d-%d-%d.lock" % (
                os.major(pins.st_dev), os.minor(pins.st_dev), pins.st_ino))
        except OSError:
            pass
        self.stop_prometheus()
        for server in self.servers.values():
            server.kill()
            server.wait()
        self.servers = {}
        subprocess.run([os.path.join(ROOT, "scripts/topology.sh"), "down",
                        self.prefix], check=False)
        subprocess.run(["rm", "-rf", self.pin_dir, self.state_dir, self.libxdp_dir,
                        self.run_dir],
                       check=False)

    def environment(self):
        env = dict(os.environ)
        env["XDPSPLIT_PIN_DIR"] = self.pin_dir
        env["XDPSPLIT_STATE_DIR"] = self.state_dir
        env["LIBXDP_BPFFS"] = self.libxdp_dir
        env["XDPSPLIT_RUN_DIR"] = self.run_dir
        return env

    def splitctl(self, *args):
        """splitctl in the LB's namespace; nsenter keeps the host's bpffs."""
        return subprocess.run(
            ["nsenter", "--net=/run/netns/" + self.ns("lb"),
             os.path.join(BUILD, "splitctl")] + list(args),
            capture_output=True, text=True, env=self.environment(), timeout=60)

    def ok(self, *args):
        result = self.splitctl(*args)
        check(result.returncode == 0, "splitctl %s failed (%d): %s" %
              (" ".join(args), result.returncode,
               (result.stderr + result.stdout).strip()[-500:]))
        return result.stdout

    def json(self, *args):
        return json.loads(self.ok("-j", *args))

    def client(self, *args):
        result = subprocess.run(
            ["ip", "netns", "exec", self.ns("client"), PYTHON,
             os.path.join(ROOT, "tests/e2e/client.py")] + [str(a) for a in args],
            capture_output=True, text=True, timeout=300)
        check(result.returncode == 0, "client failed: " + result.stderr[-500:])
        return json.loads(result.stdout)

    def client_background(self, *args, until_told=False):
        """A client in the background; until_told: one that runs until
        finish() tells it to stop (hold with SECONDS 0)."""
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.ns("client"), PYTHON,
             os.path.join(ROOT, "tests/e2e/client.py")] + [str(a) for a in args],
            stdin=subprocess.PIPE if until_told else None,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = process.stdout.readline().strip()
        check(line == "ready", "client did not get ready: %r %s" %
              (line, process.stderr.read()[-500:] if process.poll() is not None else ""))
        return process

    def finish(self, process):
        out, err = process.communicate(input="stop\n" if process.stdin else None,
                                       timeout=120)
        check(process.returncode == 0, "client failed: " + err[-500:])
        return json.loads(out)

    def backend_new_flows(self, vip):
        """splitctl's count of new flows per backend address."""
        stats = self.json("stats", vip)
        return {b["backend"]: b["new_flows"]
                for v in stats["vips"] for b in v["backends"]}

    def service(self, vip, pools, mode="l2dsr", split="flow", v6=False):
        """A VIP with backends {pool: [backend names]}."""
        self.ok("vip", "add", vip, "mode", mode, "split", split)
        addresses = BACKENDS_V6 if v6 else BACKENDS
        for pool, names in pools.items():
            for name in names:
                self.ok("backend", "add", vip, pool, addresses[name])


TESTS = []


def test(function):
    TESTS.append(function)
    return function


def run(selected=None):
    lab = Lab()
    passed = failed = skipped = 0
    try:
        lab.up()
    except (Failure, subprocess.CalledProcessError) as error:
        print("FAIL e2e: topology: %s" % error)
        lab.down()
        print("0 passed, 1 failed")
        return 1
    try:
        for function in TESTS:
            name = "e2e: " + (function.__doc__ or function.__name__).strip().splitlines()[0]
            if selected and selected not in name:
                continue
            started = time.monotonic()
            try:
                function(lab)
                passed += 1
                print("ok   %s (%.2fs)" % (name, time.monotonic() - started), flush=True)
            except Skip as reason:
                skipped += 1
                print("skip %s: %s" % (name, reason), flush=True)
            except Exception as error:  # a test's failure, whatever raised it
                failed += 1
                print("FAIL %s (%.2fs)\n    %s: %s" % (
                    name, time.monotonic() - started, type(error).__name__, error),
                    flush=True)
            finally:
                lab.stop_splitd()
                lab.stop_prometheus()
                lab.forget_rollouts()
                for vip in lab.json("vip", "list"):
                    lab.splitctl("vip", "del", vip["vip"])
    finally:
        lab.down()
    print("%d passed, %d failed%s" % (passed, failed,
                                       ", %d skipped" % skipped if skipped else ""))
    return 1 if failed or not passed else 0
