#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""xdpsplit against what users pick instead, on the same namespaces: HAProxy
(TCP mode, 95/5 by server weights) and nginx (stream, split_clients 5%),
straight to one backend with no load balancer, and a trivial XDP forwarder
in xdp_split's place (bench/forwarder.bpf.c: the same path and hops, one
backend), the ceiling xdpsplit is held to, with xdpsplit on a one-backend
VIP beside it so the two differ only in the program. The same
client workload each time: wrk, short connections (Connection: close), nginx
backends. Reports connections/s, latency p50/p99, the measured canary
fraction, and the extra CPU the whole machine spends per connection over
the no-LB run (XDP's cost shows up in no process, so per-process CPU would
mislead). Three rounds, interleaved; median [range]. Prints markdown.
"""
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../tests/e2e"))
from harness import BACKENDS, BUILD, Lab  # noqa: E402

PORT = 8081
ROUNDS = 3
SECONDS = 8
WRK = ["wrk", "-t2", "-c32", "-d%ds" % SECONDS, "-H", "Connection: close", "--latency"]
POOL = {"blue1": "blue", "blue2": "blue", "canary1": "canary"}
# xdpsplit's one-backend VIP, and the forwarder's: every backend holds both
# on lo (scripts/topology.sh). Two addresses, so neither run meets the
# other's TIME_WAIT sockets on blue1 (the client reuses its ports): when
# they shared one, the run after the other lost up to 90% of its rate.
ONE_BACKEND_VIP = "10.77.100.2"
FORWARDER_VIP = "10.77.100.3"
FORWARDER = os.path.join(BUILD, "xdpsplit-forwarder")


def write(path, text):
    with open(path, "w") as out:
        out.write(text)


def nginx_backend(lab, name, directory):
    conf = os.path.join(directory, name + ".conf")
    write(conf, """worker_processes 1;
pid %(d)s/%(n)s.pid;
error_log %(d)s/%(n)s.err;
events { worker_connections 4096; }
http {
    access_log %(d)s/%(n)s.log;
    server {
        listen %(port)d reuseport;
        keepalive_timeout 0;
        location / { return 200 "%(n)s\\n"; }
    }
}
""" % {"d": directory, "n": name, "port": PORT})
    return subprocess.Popen(["ip", "netns", "exec", lab.ns(name), "nginx", "-c", conf,
                             "-g", "daemon off;"], stderr=subprocess.DEVNULL)


def load_balancers(lab, directory):
    servers = {name: BACKENDS[name] for name in POOL}
    write(os.path.join(directory, "haproxy.cfg"), """global
    maxconn 8000
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend split
    bind 10.77.0.1:8082
    default_backend pools
backend pools
    balance roundrobin
    server blue1 %s:%d weight 48
    server blue2 %s:%d weight 47
    server canary1 %s:%d weight 5
""" % (servers["blue1"], PORT, servers["blue2"], PORT, servers["canary1"], PORT))
    write(os.path.join(directory, "stream.conf"), """load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes 1;
pid %(d)s/stream.pid;
error_log %(d)s/stream.err;
events { worker_connections 8192; }
stream {
    split_clients "${remote_addr}${remote_port}" $pool {
        5%% canary;
        * blue;
    }
    upstream blue { server %(b1)s:%(p)d; server %(b2)s:%(p)d; }
    upstream canary { server %(c1)s:%(p)d; }
    server { listen 10.77.0.1:8083; proxy_pass $pool; }
}
""" % {"d": directory, "b1": servers["blue1"], "b2": servers["blue2"],
       "c1": servers["canary1"], "p": PORT})
    return [
        subprocess.Popen(["ip", "netns", "exec", lab.ns("lb"), "haproxy", "-f",
                          os.path.join(directory, "haproxy.cfg"), "-db"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen(["ip", "netns", "exec", lab.ns("lb"), "nginx", "-c",
                          os.path.join(directory, "stream.conf"), "-g", "daemon off;"],
                         stderr=subprocess.DEVNULL),
    ]


def forwarder_in_place(lab):
    """Takes xdp_split off the LB's eth0 and puts the trivial forwarder to
    blue1 there; returns what puts xdp_split back (its pinned maps and
    settings stay)."""
    lab.ok("detach", "eth0")
    links = subprocess.run(["ip", "-n", lab.ns("blue1"), "-j", "link", "show", "eth0"],
                           capture_output=True, text=True, check=True).stdout
    subprocess.run(["ip", "netns", "exec", lab.ns("lb"), FORWARDER, "eth0", FORWARDER_VIP,
                    json.loads(links)[0]["address"]], check=True)

    def back():
        subprocess.run(["ip", "netns", "exec", lab.ns("lb"), FORWARDER, "eth0", "off"],
                       check=True)
        lab.ok("attach", "eth0", "flows", "65536")
    return back


def busy_seconds():
    fields = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def served(directory):
    counts = {}
    for name in POOL:
        try:
            with open(os.path.join(directory, name + ".log")) as log:
                counts[name] = sum(1 for _ in log)
        except FileNotFoundError:
            counts[name] = 0
    return counts


def latency_ms(text, percentile):
    match = re.search(r"^\s*%s%%\s+([\d.]+)(us|ms|s)" % percentile, text, re.M)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def run(lab, url, directory):
    before, cpu0 = served(directory), busy_seconds()
    result = subprocess.run(["ip", "netns", "exec", lab.ns("client")] + WRK + [url],
                            capture_output=True, text=True, timeout=SECONDS + 30)
    cpu = busy_seconds() - cpu0
    after = served(directory)
    found = re.search(r"(\d+) requests in", result.stdout)
    if not found:
        raise RuntimeError("wrk against %s: %s %s" % (url, result.stdout[-300:],
                                                      result.stderr[-300:]))
    requests = int(found.group(1))
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       result.stdout)
    delta = {name: after[name] - before[name] for name in POOL}
    total = sum(delta.values())
    return {"rate": requests / SECONDS, "p50": latency_ms(result.stdout, 50),
            "p99": latency_ms(result.stdout, 99), "cpu": cpu / max(requests, 1),
            "canary": delta["canary1"] / total if total else float("nan"),
            "errors": sum(int(e) for e in errors.groups()) if errors else 0}


def summary(values, form):
    values = [v for v in values if v == v]
    if not values:
        return "–"
    return (form + " [" + form + "–" + form + "]") % (
        statistics.median(values), min(values), max(values))


def target(goal, met, figure):
    """A `target: ` line, which scripts/bench.sh gathers into the Targets
    section, as bench/common.c's bench_target prints it."""
    print("target: %s: %s (%s)" % (goal, figure, "met" if met else "not met"))


def main():
    lab = Lab()
    lab.prefix = "xsb"
    directory = lab.state_dir + "-compare"
    processes = []
    os.makedirs(directory, exist_ok=True)
    try:
        lab.up()
        for name in POOL:
            processes.append(nginx_backend(lab, name, directory))
        lab.ok("vip", "add", "10.77.100.1:%d/tcp" % PORT)
        for name, pool in POOL.items():
            lab.ok("backend", "add", "10.77.100.1:%d/tcp" % PORT, pool, BACKENDS[name])
        lab.ok("weights", "10.77.100.1:%d/tcp" % PORT, "blue", "95", "green", "0",
               "canary", "5")
        one = "%s:%d/tcp" % (ONE_BACKEND_VIP, PORT)
        lab.ok("vip", "add", one)
        lab.ok("backend", "add", one, "blue", BACKENDS["blue1"])
        lab.ok("weights", one, "blue", "100", "green", "0", "canary", "0")
        processes += load_balancers(lab, directory)
        time.sleep(1)
        # name, URL, spread over the pools, set-up returning its undoing
        targets = [("no load balancer (straight to blue1)",
                    "http://%s:%d/" % (BACKENDS["blue1"], PORT), False, None),
                   ("xdpsplit (XDP, l2dsr)", "http://10.77.100.1:%d/" % PORT, True, None),
                   ("XDP forwarder in xdp_split's place (one backend: blue1)",
                    "http://%s:%d/" % (FORWARDER_VIP, PORT), False, forwarder_in_place),
                   ("xdpsplit (XDP, l2dsr), one backend: blue1",
                    "http://%s:%d/" % (ONE_BACKEND_VIP, PORT), False, None),
                   ("HAProxy 2.6 (TCP mode, weights 95/5)", "http://10.77.0.1:8082/", True, None),
                   ("nginx 1.22 (stream, split_clients 5%)", "http://10.77.0.1:8083/", True,
                    None)]
        no_lb, xdp, forwarder, xdp_one, haproxy = (t[0] for t in targets[:5])
        results = {t[0]: [] for t in targets}
        for round_number in range(ROUNDS):
            order = list(targets)
            if round_number % 2:  # the forwarder and its pair in turn first
                order[2], order[3] = order[3], order[2]
            for name, url, _, set_up in order:
                undo = set_up(lab) if set_up else None
                try:
                    results[name].append(run(lab, url, directory))
                finally:
                    if undo:
                        undo()
        base = statistics.median(r["cpu"] for r in results[no_lb])
        ceiling = statistics.median(r["rate"] for r in results[no_lb])
        xdp_ceiling = statistics.median(r["rate"] for r in results[forwarder])
        print("| workload: wrk -t2 -c32 -d%ds, Connection: close; %d rounds, median [range] |"
              " connections/s | vs no LB | vs XDP forwarder | latency p50 ms | latency p99 ms |"
              " canary fraction | extra machine CPU µs per connection | failed | reproduce |"
              % (SECONDS, ROUNDS))
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for name, _, spread, _ in targets:
            rs = results[name]
            extra = [(r["cpu"] - base) * 1e6 for r in rs]
            rate = statistics.median(r["rate"] for r in rs)
            print("| %s | %s | %.2f | %.2f | %s | %s | %s | %s | %d | `make bench` (bench/compare.py) |" % (
                name, summary([r["rate"] for r in rs], "%.0f"), rate / ceiling,
                rate / xdp_ceiling,
                summary([r["p50"] for r in rs], "%.2f"),
                summary([r["p99"] for r in rs], "%.2f"),
                summary([r["canary"] for r in rs], "%.3f") if spread else "–",
                summary(extra, "%.1f") if name != no_lb else "0 (the base)",
                sum(r["errors"] for r in rs)))
        xdp_cpu = statistics.median((r["cpu"] - base) for r in results[xdp])
        haproxy_cpu = statistics.median((r["cpu"] - base) for r in results[haproxy])
        if xdp_cpu > 0:
            target("extra machine CPU per connection >= 20x lower than HAProxy's",
                   haproxy_cpu / xdp_cpu >= 20, "%.1fx lower" % (haproxy_cpu / xdp_cpu))
        else:
            target("extra machine CPU per connection >= 20x lower than HAProxy's", True,
                   "xdpsplit's was within the noise of the no-LB run (%.1f µs), HAProxy's "
                   "%.1f µs" % (xdp_cpu * 1e6, haproxy_cpu * 1e6))
        ratio = statistics.median(r["rate"] for r in results[xdp]) / ceiling
        target("connections/s >= 0.95x the no-LB ceiling", ratio >= 0.95, "%.2fx" % ratio)
        # against the forwarder round by round: a round's neighbours and
        # load fall on both of its runs
        pairs = list(zip(results[xdp_one], results[forwarder]))
        ratios = [x["rate"] / f["rate"] for x, f in pairs]
        extra = [(x["cpu"] - f["cpu"]) * 1e6 for x, f in pairs]
        target("connections/s >= 0.97x the XDP forwarder ceiling",
               statistics.median(ratios) >= 0.97,
               "%s (xdpsplit on a one-backend VIP over the forwarder, round by round; on "
               "three backends %.2fx)" % (summary(ratios, "%.2fx"),
                                           statistics.median(r["rate"] for r in results[xdp])
                                           / xdp_ceiling))
        target("extra machine CPU <= 2 µs per connection over the XDP forwarder",
               statistics.median(extra) <= 2,
               "%s µs (one-backend VIP, round by round)" % summary(extra, "%.1f"))
    finally:
        for process in processes:
            process.kill()
            process.wait()
        lab.down()
        subprocess.run(["rm", "-rf", directory])


if __name__ == "__main__":
    main()
