# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Peers are untrusted and slow (issue 10, points 4 and 9): idle and
trickling control clients, a slow Prometheus and a second splitd must not
stall the daemon or touch its state; supplementary groups are honoured on
the control socket; every name in a reply or an audit line stays JSON."""
import grp
import json
import os
import re
import select
import socket
import subprocess
import threading
import time

from fixtures import (backends, canary, handshake_rule, pause, policy, prometheus_errors_rule,
                      splitd_config, start_canary, stop_canary, vip)
from harness import BUILD, PYTHON, Failure, check, test, wait_for
from harness import audit_entries, audit_time

VIP = "10.77.100.1:80/tcp"
OTHER_VIP = "10.77.100.2:80/tcp"

BACKENDS = backends("blue1", "blue2", "canary1", "canary2")

TWO_VIPS = splitd_config(
    "500ms", [vip(VIP, BACKENDS, rollout="broken-canary"),
              vip(OTHER_VIP, BACKENDS, rollout="%(other)s")],
    [policy("broken-canary", "500ms", [canary(20), pause("60s")],
            analysis=[handshake_rule(0.9, 5, 1)]),
     policy("slow", "500ms", [canary(10), pause("60s")]),
     policy("slow-prometheus", "500ms", [canary(10), pause("60s")],
            analysis=[prometheus_errors_rule("http://127.0.0.1:9091")])])


def socket_path(lab):
    return os.path.join(lab.run_dir, "splitd.sock")


class Nuisance:
    """Control clients that never finish a request: `idle` connections that
    send nothing and a trickler that sends "rollout status\\n" one byte a
    second. With reconnect, each one that splitd closes comes back."""

    def __init__(self, path, idle, trickle=True, reconnect=True):
        self.path, self.idle, self.trickle, self.reconnect = path, idle, trickle, reconnect
        self.stopping = threading.Event()
        self.closed_by_splitd = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def connect(self):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(1.0)
        try:
            s.connect(self.path)
            s.setblocking(False)
            return s
        except OSError:
            s.close()
            return None

    def run(self):
        sockets = [self.connect() for _ in range(self.idle)]
        trickler = self.connect() if self.trickle else None
        message, sent, next_byte = b"rollout status\n", 0, time.monotonic()
        while not self.stopping.is_set():
            if self.reconnect:
                sockets = [s or self.connect() for s in sockets]
                if self.trickle and trickler is None:
                    trickler, sent = self.connect(), 0
            live = [s for s in sockets + [trickler] if s]
            readable = select.select(live, [], [], 0.05)[0] if live else []
            for s in readable:  # splitd answered (an error) or closed it
                self.closed_by_splitd += 1
                s.close()
                if s is trickler:
                    trickler = None
                else:
                    sockets[sockets.index(s)] = None
            if trickler and time.monotonic() >= next_byte:
                try:
                    trickler.send(message[sent % (len(message) - 1):][:1])
                    sent += 1
                except OSError:
                    trickler.close()
                    trickler = None
                next_byte = time.monotonic() + 1.0
        for s in sockets + [trickler]:
            if s:
                s.close()

    def __enter__(self):
        self.thread.start()
        time.sleep(0.5)  # connected, and (with the old loop) stalling it
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(timeout=10)


def timed(lab, *args):
    """splitctl's exit, output and wall time."""
    started = time.monotonic()
    result = lab.splitctl(*args)
    return result, time.monotonic() - started


def status(lab, vip):
    return lab.json("rollout", "status", vip)["rollouts"][0]


@test
def stalling_clients_do_not_stop_rollback(lab):
    """peers: 50 idle clients and a byte-a-second trickler: a broken canary is still rolled back within one interval, abort answers in under 1 s"""
    lab.start_splitd(TWO_VIPS % {"other": "slow"})
    lab.ok("rollout", "start", VIP)
    lab.ok("rollout", "start", OTHER_VIP)
    process = lab.client_background("hold", "10.77.100.1", 80, 1, 6)
    try:
        with Nuisance(socket_path(lab), 50) as nuisance:
            answered, status_took = timed(lab, "-j", "rollout", "status")
            aborted, abort_took = timed(lab, "rollout", "abort", OTHER_VIP)
            time.sleep(max(0, 2.0 - abort_took - status_took))
            killed_wall = time.time()
            stop_canary(lab)
            result = lab.finish(process)
            after_status, after_status_took = timed(lab, "-j", "rollout", "status", VIP)
            closed = nuisance.closed_by_splitd
    finally:
        start_canary(lab)
    rollbacks = audit_entries(lab, "rolled back")
    # figures first, so that a failure shows them too (none: 99 s)
    reaction = audit_time(rollbacks[-1]) - killed_wall if rollbacks else 99
    print("     with 50 idle clients and a trickler: rollback %.0f ms after the canary stopped"
          " (interval 500 ms); status %.0f ms, abort %.0f ms, status after %.0f ms; splitd"
          " closed %d stalling clients" % (reaction * 1000, status_took * 1000,
                                           abort_took * 1000, after_status_took * 1000, closed))
    check(answered.returncode == 0, "status failed: %s" % answered.stderr)
    check(aborted.returncode == 0, "abort failed: %s" % aborted.stderr)
    check(abort_took < 1.0, "abort took %.2f s" % abort_took)
    check(status_took < 1.0 and after_status_took < 1.0,
          "status took %.2f s, %.2f s" % (status_took, after_status_took))
    check(reaction < 1.5, "rollback %.2f s after the break (99: none)" % reaction)
    check(status(lab, VIP)["phase"] == "rolled-back", "not rolled back")
    check(status(lab, OTHER_VIP)["phase"] == "aborted", "the other rollout is not aborted")
    check(closed > 0, "splitd closed none of the stalling clients")


@test
def sigterm_with_idle_clients(lab):
    """peers: SIGTERM with 100 idle clients and a trickler connected: splitd exits within 1 s"""
    probed = TWO_VIPS.replace(
        "    rollout: broken-canary\n",
        "    rollout: broken-canary\n"
        "    probe: {type: tcp, port: 80, interval: 200ms, timeout: 150ms, rise: 2, fall: 2}\n")
    lab.start_splitd(probed % {"other": "slow-prometheus"})
    lab.ok("rollout", "start", OTHER_VIP)  # the PromQL thread runs too
    with Nuisance(socket_path(lab), 100, reconnect=False):
        started = time.monotonic()
        lab.splitd.terminate()
        try:
            code = lab.splitd.wait(timeout=30)
        except subprocess.TimeoutExpired:
            code = None
        took = time.monotonic() - started
    print("     splitd exited %.0f ms after SIGTERM (code %s) with 100 idle clients, a trickler,"
          " probes and a PromQL rule pending" % (took * 1000, code))
    check(code == 0, "exit code %s" % code)
    check(took < 1.0, "SIGTERM took %.2f s" % took)


def many_vips_config(vips, name):
    """The VIPs, each with blue1 and canary1, and one policy of that name
    with eight rules of long names that never decide."""
    rules = ["{name: %s-%d, metric: handshake_ratio, pool: canary, min: 0.1,"
             " min_samples: 1000000}" % ("r" * 58, k) for k in range(8)]
    return splitd_config("500ms", [vip(v, backends("blue1", "canary1")) for v in vips],
                         [policy(name, "500ms", [canary(1), pause("600s")], analysis=rules)])


@test
def reply_over_64_kib_arrives_whole(lab):
    """peers: a rollout status reply over 64 KiB arrives whole and parses as JSON"""
    vips = ["10.77.101.%d:80/tcp" % n for n in range(1, 41)]
    policy = "p" * 60
    lab.start_splitd(many_vips_config(vips, policy))
    s = None
    for vip in vips:  # straight to the socket: forty splitctl runs are slow
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        s.connect(socket_path(lab))
        s.sendall(("rollout start %s %s\n" % (vip, policy)).encode())
        answer = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
        s.close()
        check(json.loads(answer)["ok"], "start %s: %s" % (vip, answer[:200]))
    result = lab.splitctl("-j", "rollout", "status")
    check(result.returncode == 0, "status failed: %s" % result.stderr[-300:])
    reply = json.loads(result.stdout)
    print("     rollout status of %d rollouts: %d bytes of JSON through splitctl"
          % (len(reply["rollouts"]), len(result.stdout)))
    check(len(result.stdout) > 65536, "only %d bytes" % len(result.stdout))
    check(len(reply["rollouts"]) == 40, "%d rollouts" % len(reply["rollouts"]))
    check(all(len(r["analysis"]) == 8 for r in reply["rollouts"]), "analysis cut")


SLOW_SERVER = r"""
import http.server, json, socketserver, sys, time
class Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        time.sleep(10)
        body = json.dumps({"status": "success", "data": {"resultType": "vector",
            "result": [{"metric": {}, "value": [time.time(), "0"]}]}}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass
    def log_message(self, *args):
        pass
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
server = Server(("127.0.0.1", 9091), Slow)
print("ready", flush=True)
server.serve_forever()
"""

SCRAPES = r"""
import time, urllib.request
worst = 0
for _ in range(8):
    started = time.monotonic()
    try:
        urllib.request.urlopen("http://127.0.0.1:9464/metrics", timeout=5).read()
    except OSError:  # no answer in 5 s: as slow as that, at least
        pass
    worst = max(worst, time.monotonic() - started)
    time.sleep(0.25)
print(worst)
"""


@test
def slow_prometheus_stalls_nothing(lab):
    """peers: a Prometheus that takes 10 s to answer delays neither /metrics nor another VIP's rollback"""
    server = subprocess.Popen(["ip", "netns", "exec", lab.ns("lb"), PYTHON, "-c", SLOW_SERVER],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        check(server.stdout.readline().strip() == "ready", "the slow server did not start")
        lab.start_splitd(TWO_VIPS % {"other": "slow-prometheus"})
        lab.ok("rollout", "start", OTHER_VIP)
        lab.ok("rollout", "start", VIP)
        process = lab.client_background("hold", "10.77.100.1", 80, 1, 6)
        try:
            scrapes = subprocess.run(["ip", "netns", "exec", lab.ns("lb"), PYTHON, "-c", SCRAPES],
                                     capture_output=True, text=True, timeout=120)
            check(scrapes.returncode == 0, "scrapes failed: %s" % scrapes.stderr[-300:])
            worst = float(scrapes.stdout)
            killed_wall = time.time()
            stop_canary(lab)
            lab.finish(process)
        finally:
            start_canary(lab)
        answered, status_took = timed(lab, "-j", "rollout", "status")
    finally:
        server.kill()
        server.wait()
    rollbacks = audit_entries(lab, "rolled back")
    # figures first, so that a failure shows them too (none: 99 s)
    reaction = audit_time(rollbacks[-1]) - killed_wall if rollbacks else 99
    print("     PromQL server answering in 10 s: slowest of 8 /metrics scrapes %.0f ms; the other"
          " VIP rolled back %.0f ms after its canary stopped; status %.0f ms"
          % (worst * 1000, reaction * 1000, status_took * 1000))
    check(worst < 0.5, "a /metrics scrape took %.2f s" % worst)
    check(reaction < 1.5, "rollback %.2f s after the break (99: none)" % reaction)
    check(status_took < 1.0, "status took %.2f s" % status_took)
    check(status(lab, OTHER_VIP)["phase"] == "running", "the PromQL rollout changed phase")


def second_splitd(lab, config_text, **env):
    """Another splitd on the lab's directories (those in env replaced):
    its exit code, output and how long it ran."""
    path = os.path.join(lab.state_dir, "second.yaml")
    with open(path, "w") as f:
        f.write(config_text)
    started = time.monotonic()
    result = subprocess.run(["nsenter", "--net=/run/netns/" + lab.ns("lb"),
                             os.path.join(BUILD, "splitd"), "-c", path],
                            env=dict(lab.environment(), **env), capture_output=True,
                            text=True, timeout=20)
    return result, time.monotonic() - started


@test
def second_splitd_touches_nothing(lab):
    """peers: a second splitd on the same pin or state dir exits with an error and touches nothing"""
    text = TWO_VIPS % {"other": "slow"}
    first = lab.start_splitd(text)
    lab.ok("rollout", "start", OTHER_VIP)
    wait_for(lambda: status(lab, OTHER_VIP)["step"] == 2, 10, "the pause step")
    watched = [socket_path(lab), os.path.join(lab.state_dir, "rollouts.state"),
               os.path.join(lab.state_dir, "audit.log")]
    before = [(os.stat(p).st_ino, os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in watched]
    other_port = text.replace("127.0.0.1:9464", "127.0.0.1:9465")
    other_run = lab.run_dir + "-second"
    other_state = lab.state_dir + "-second"
    cases = (("same directories", text, {}, "state dir"),
             ("another run dir and port", other_port,
              {"XDPSPLIT_RUN_DIR": other_run}, "state dir"),
             ("another state dir, run dir and port", other_port,
              {"XDPSPLIT_RUN_DIR": other_run, "XDPSPLIT_STATE_DIR": other_state}, "pin dir"))
    seen = []
    try:
        for name, config_text, env, which in cases:
            result, took = second_splitd(lab, config_text, **env)
            seen.append("%s: exit %d in %.0f ms" % (name, result.returncode, took * 1000))
            check(result.returncode == 1, "%s: exit %d: %s" % (name, result.returncode,
                                                                (result.stdout + result.stderr)[-400:]))
            expected = "another splitd (pid %d) runs on %s" % (first.pid, which)
            check(expected in result.stderr, "%s: %r, not %r" % (name, result.stderr[-300:], expected))
    finally:
        subprocess.run(["rm", "-rf", other_run, other_state])
    after = [(os.stat(p).st_ino, os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in watched]
    print("     %s; the first one's socket, state and audit log untouched" % "; ".join(seen))
    print("     message: %s" % result.stderr.strip().splitlines()[-1])
    check(before == after, "changed: %s" % [p for p, b, a in zip(watched, before, after) if b != a])
    check(first.poll() is None, "the first splitd died")
    check(status(lab, OTHER_VIP)["phase"] == "running", "the first one's rollout stopped")
    lab.ok("rollout", "promote", OTHER_VIP)
    wait_for(lambda: status(lab, OTHER_VIP)["phase"] == "succeeded", 5,
             "the first splitd to finish the rollout")
    check("xdpsplit_rollout_step" in lab.metrics(), "the first one's metrics")


@test
def one_directory_for_state_and_run(lab):
    """peers: one directory as both state and run dir: splitd starts on its one lock, a second splitd there is refused"""
    text = TWO_VIPS % {"other": "slow"}
    shared = {"XDPSPLIT_RUN_DIR": lab.state_dir}
    first = lab.start_splitd(text, extra_env=shared, wait=False)
    socket_file = os.path.join(lab.state_dir, "splitd.sock")
    wait_for(lambda: first.poll() is not None or os.path.exists(socket_file), 10,
             "splitd's socket in the shared directory")
    check(first.poll() is None, "splitd refused its own directory: " + lab.splitd_output()[-300:])
    result, took = second_splitd(lab, text.replace("127.0.0.1:9464", "127.0.0.1:9465"), **shared)
    print("     first splitd up with state and run dir %s; a second one: exit %d in %.0f ms"
          % (lab.state_dir, result.returncode, took * 1000))
    check(result.returncode == 1 and
          "another splitd (pid %d) runs on state dir" % first.pid in result.stderr,
          "second splitd: exit %d: %s" % (result.returncode, result.stderr[-300:]))
    lab.stop_splitd()
    if os.path.exists(socket_file):
        os.unlink(socket_file)


def as_user(lab, user, payload, groups):
    """A control request from uid/gid/groups; what came back or the error."""
    # a refused peer may be answered and closed before it has written
    code = ("import socket,sys\ntry:\n s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1])\n"
            "except OSError as e:\n print('connect: %s' % e);sys.exit()\n"
            "try:\n s.sendall(sys.argv[2].encode())\nexcept OSError:\n pass\n"
            "print(s.recv(65536).decode())")
    command = ["setpriv", "--reuid=%d" % user[0], "--regid=%d" % user[1]]
    command += ["--groups=" + ",".join(str(g) for g in groups)] if groups else ["--clear-groups"]
    result = subprocess.run(command + [PYTHON, "-c", code, socket_path(lab), payload],
                            capture_output=True, text=True, timeout=20)
    return result.stdout + result.stderr


@test
def supplementary_group_is_allowed(lab):
    """peers: --group lets in a user whose supplementary group it is, and no one else"""
    tag = "xsp%d" % (os.getpid() % 100000)
    group, member, stranger = tag + "g", tag + "m", tag + "s"
    nogroup = grp.getgrnam("nogroup").gr_gid
    made = []
    try:
        subprocess.run(["groupadd", group], check=True)
        made.append(("groupdel", group))
        for name, extra in ((member, ["--groups", group]), (stranger, [])):
            subprocess.run(["useradd", "--no-create-home", "--no-user-group", "--gid", "nogroup",
                            "--shell", "/usr/sbin/nologin"] + extra + [name], check=True)
            made.insert(0, ("userdel", name))
        gid = grp.getgrnam(group).gr_gid
        uid = {name: int(subprocess.run(["id", "-u", name], capture_output=True, text=True,
                                        check=True).stdout) for name in (member, stranger)}
        lab.start_splitd(TWO_VIPS % {"other": "slow"}, args=["--group", group])
        os.chmod(lab.run_dir, 0o755)
        request = "rollout status\n"
        allowed = as_user(lab, (uid[member], nogroup), request, [gid])
        refused_by_mode = as_user(lab, (uid[stranger], nogroup), request, [])
        # past the socket's mode, splitd's own check must still say no
        os.chmod(socket_path(lab), 0o666)
        refused = as_user(lab, (uid[stranger], nogroup), request, [])
        groupless_member = as_user(lab, (uid[member], nogroup), request, [])
    finally:
        for command, name in made:
            subprocess.run([command, name], check=False)
    print("     member by supplementary group: %s; stranger: %s; stranger past the mode: %s"
          % (allowed.strip()[:40], refused_by_mode.strip()[:40], refused.strip()[:60]))
    check('"ok":true' in allowed, "the member was refused: %s" % allowed[:200])
    check("Permission denied" in refused_by_mode, "the stranger got in: %s" % refused_by_mode[:200])
    check("permission denied" in refused, "splitd let the stranger in: %s" % refused[:200])
    check("permission denied" in groupless_member,
          "a process that dropped the group got in: %s" % groupless_member[:200])


ODD_INTERFACE = b'q"\\\x01\xff\xfe'   # what the kernel takes in an interface name


@test
def odd_names_stay_json(lab):
    """peers: names with quotes, control bytes and invalid UTF-8 give replies and audit lines that parse as JSON"""
    yaml_name = '"we\\"ird\\\\\\x01\\x1f"'
    # a policy's name is a plain name (the configuration refuses others: see
    # the config tests); a rule's may hold anything
    text = (TWO_VIPS % {"other": "broken-canary"})
    text = text.replace("canary-handshakes, metric", "%s, metric" % yaml_name, 1)
    lab.start_splitd(text)
    policy = "slow"
    # a rollout whose rule has the odd name, into the audit log
    s = socket.socket(socket.AF_UNIX)
    s.connect(socket_path(lab))
    s.sendall(b"rollout start " + OTHER_VIP.encode() + b" " + policy.encode() + b"\n")
    started = s.makefile("rb").read()
    s.close()
    # a name splitd does not know, with invalid UTF-8, into a reply
    s = socket.socket(socket.AF_UNIX)
    s.connect(socket_path(lab))
    s.sendall(b"rollout start " + VIP.encode() + b' x"\x01\xff\xc3\n')
    unknown = s.makefile("rb").read()
    s.close()
    lab.ok("rollout", "start", VIP)  # its rule has the odd name: a metric label
    # an interface name, into splitctl's audit line (command and record)
    ns = ["ip", "netns", "exec", lab.ns("lb")]
    name = ODD_INTERFACE.decode("latin-1")
    made = subprocess.run(ns + ["ip", "link", "add", "name", ODD_INTERFACE, "type", "veth",
                                "peer", "name", "xsodd"], capture_output=True)
    check(made.returncode == 0, "no interface with that name: %s" % made.stderr)
    try:
        subprocess.run(ns + ["ip", "link", "set", ODD_INTERFACE, "up"], check=True)
        attach = subprocess.run(["nsenter", "--net=/run/netns/" + lab.ns("lb"),
                                 os.path.join(BUILD, "splitctl"), "attach", ODD_INTERFACE,
                                 "generic"], env=lab.environment(), capture_output=True)
        detach = subprocess.run(["nsenter", "--net=/run/netns/" + lab.ns("lb"),
                                 os.path.join(BUILD, "splitctl"), "detach", ODD_INTERFACE],
                                env=lab.environment(), capture_output=True)
    finally:
        subprocess.run(ns + ["ip", "link", "del", ODD_INTERFACE], check=False)
    check(attach.returncode == 0, "attach: %s" % attach.stderr[-300:])
    check(detach.returncode == 0, "detach: %s" % detach.stderr[-300:])
    replies = [json.loads(started.decode("utf-8")), json.loads(unknown.decode("utf-8"))]
    check(replies[0]["ok"], "start with the odd policy: %s" % replies[0])
    check(replies[0]["rollouts"][0]["policy"] == policy, "policy %r" % replies[0]["rollouts"][0])
    check("no rollout policy" in replies[1]["error"], "reply %s" % replies[1])
    with open(os.path.join(lab.state_dir, "audit.log"), "rb") as log:
        lines = log.read().splitlines()
    bad, entries = [], []
    for line in lines:
        try:
            entries.append(json.loads(line.decode("utf-8")))
        except ValueError as error:
            bad.append((line[:120], str(error)))
    check(not bad, "audit lines that are not JSON: %s" % bad[:3])
    odd = [e for e in entries if policy in e["command"] or "q\"\\\x01" in e["command"]]
    interfaces = [e for e in entries if isinstance(e.get("after"), dict) and
                  "interface" in e["after"] or isinstance(e.get("before"), dict) and
                  "interface" in e["before"]]
    shown = [(e.get("after") or e.get("before"))["interface"] for e in interfaces[-2:]]
    print("     %d audit lines, all JSON; policy %r and interface %r round-trip as %r"
          % (len(entries), policy, name, shown))
    check(len(odd) >= 3, "the odd names are not in the audit log: %s" % [e["command"] for e in entries][-4:])
    check(all(s == 'q"\\\x01\ufffd\ufffd' for s in shown) and len(shown) == 2, "interface as %r" % shown)
    metrics = lab.metrics()
    check(re.search(r'reason="we\\"ird\\\\', metrics) and 'reason="we"' not in metrics,
          "metric label not escaped: %s" % [m for m in metrics.splitlines() if "rollbacks_total{" in m])


@test
def locked_pin_dir_does_not_stall_the_loop(lab):
    """peers: a neighbour change while splitctl holds the pin dir lock stalls nothing, and is made once it is free"""
    import fcntl
    lab.start_splitd(TWO_VIPS % {"other": "slow"})
    lab.ok("rollout", "start", OTHER_VIP)
    new_mac = "02:77:00:00:00:12"

    def mac():
        return [b for b in lab.json("backend", "list", VIP)
                if b["backend"] == "10.77.0.12"][0]["mac"]
    old_mac = mac()
    holder = os.open(lab.pin_dir, os.O_RDONLY | os.O_DIRECTORY)
    worst = 0
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)  # what a long splitctl change holds
        subprocess.run(["ip", "-n", lab.ns("lb"), "neigh", "replace", "10.77.0.12",
                        "lladdr", new_mac, "dev", "eth0", "nud", "reachable"], check=True)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            answered, took = timed(lab, "rollout", "status", OTHER_VIP)
            check(answered.returncode == 0, "status: %s" % answered.stderr)
            worst = max(worst, took)
        during = mac()
        released = time.monotonic()
        fcntl.flock(holder, fcntl.LOCK_UN)
        try:
            wait_for(lambda: mac() == new_mac, 5, "the MAC")
            followed = time.monotonic() - released
        except Failure:
            followed = None
    finally:
        os.close(holder)
        subprocess.run(["ip", "-n", lab.ns("lb"), "neigh", "replace", "10.77.0.12",
                        "lladdr", old_mac, "dev", "eth0", "nud", "reachable"], check=False)
    print("     pin dir locked for 3 s: slowest rollout status %.0f ms; MAC %s while locked,"
          " followed %s after the release" % (worst * 1000, during, "%.0f ms" % (followed * 1000)
                                              if followed is not None else "never (5 s)"))
    check(worst < 0.5, "a status took %.2f s while the pin dir was locked" % worst)
    check(during == old_mac, "the MAC changed under the lock")
    check(followed is not None, "the MAC did not follow once the lock was free")
