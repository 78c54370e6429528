# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""splitd's /metrics as Prometheus and an operator read it: promtool finds
nothing wrong, every family has its own HELP, the build is named, each
counter family sums to what it counts (verdicts and reasons to the packets
sent), every latency bucket can fill, and a rollout's step is one number in
status, metric and audit log."""
import json
import os
import re
import subprocess
import time

from fixtures import SWITCH, backends, bake, canary, pause, policy, splitd_config, vip
from harness import BACKENDS, ROOT, audit_entries, check, test, wait_for

UDP_VIP = "10.77.100.1:80/udp"
SILENT_VIP = "10.77.100.1:81/tcp"  # no server listens on port 81
TCP_VIP = "10.77.100.1:80/tcp"
DATAGRAMS = 300

CONFIG = splitd_config("200ms", [vip(UDP_VIP, backends("blue1", "blue2"))])

ROLLOUT_CONFIG = splitd_config(
    "200ms", [vip(TCP_VIP, backends("blue1", "green1", "canary1"), rollout="five")],
    [policy("five", "200ms", [canary(10), pause("3s"), canary(0), SWITCH, bake("1s")])])
STEPS = 5

LATENCY_CONFIG = splitd_config("200ms", [vip(TCP_VIP, backends("blue1", "blue2")),
                                         vip(SILENT_VIP, backends("blue1"))])

SAMPLE = re.compile(r'^(\w+)(?:\{(.*)\})? (\S+)$')


def parse(text):
    """[(name, {label: value}, value)] of a scrape's samples."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        found = SAMPLE.match(line)
        check(found, "not a sample line: %r" % line)
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', found.group(2) or ""))
        samples.append((found.group(1), labels, float(found.group(3))))
    return samples


def total(samples, name, **labels):
    return sum(v for n, l, v in samples
               if n == name and all(l.get(k) == w for k, w in labels.items()))


def by_label(samples, name, label):
    return {l[label]: v for n, l, v in samples if n == name}


def version():
    with open(os.path.join(ROOT, "user/lib/version.h")) as header:
        return re.search(r'#define XS_VERSION "([^"]+)"', header.read()).group(1)


def promtool(text):
    return subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=30)


def pool_latency_buckets(lab, vip_id=None):
    """The program's raw handshake latency buckets, summed over CPUs and
    every pool entry."""
    dump = json.loads(subprocess.run(
        ["bpftool", "-j", "map", "dump", "pinned", os.path.join(lab.pin_dir, "pool_stats")],
        capture_output=True, text=True, check=True).stdout)
    buckets = [0] * 32
    for entry in dump:
        for cpu in entry["formatted"]["values"]:
            for i, count in enumerate(cpu["value"]["handshake_latency"]):
                buckets[i] += count
    return buckets


@test
def scrape_is_valid_and_summable(lab):
    """metrics: promtool passes the scrape; one HELP each; build_info; verdicts and reasons each sum to the packets sent"""
    lab.start_splitd(CONFIG)
    wait_for(lambda: "xdpsplit_packets_total" in lab.metrics(), 10, "the first scrape")
    before = parse(lab.metrics())
    sent = lab.client("udp", "10.77.100.1", 80, DATAGRAMS)
    check(sum(sent["servers"].values()) == DATAGRAMS, "datagrams unanswered: %s" % sent)
    time.sleep(0.3)

    # a packet counts its reason a moment before its verdict: a scrape
    # between the two (background ARP or ND) is taken again
    for _ in range(5):
        text = lab.metrics()
        after = parse(text)
        verdicts = total(after, "xdpsplit_packets_total")
        reasons = total(after, "xdpsplit_packet_reasons_total")
        if verdicts == reasons:
            break
        time.sleep(0.2)
    linted = promtool(text)
    print("     promtool check metrics: exit %d %s" % (linted.returncode,
                                                      (linted.stdout + linted.stderr).strip()))
    check(linted.returncode == 0, "promtool: " + linted.stdout + linted.stderr)

    helps = re.findall(r"^# HELP (\S+) (.*)$", text, re.M)
    names = [n for n, _ in helps]
    texts = [h for _, h in helps]
    check(len(set(names)) == len(names), "a family twice: %s" % sorted(
        n for n in names if names.count(n) > 1))
    check(len(set(texts)) == len(texts), "HELP texts shared: %s" % sorted(
        {h for h in texts if texts.count(h) > 1}))

    info = [(labels, v) for n, labels, v in after if n == "xdpsplit_build_info"]
    check(len(info) == 1 and info[0][1] == 1 and info[0][0].get("version") == version(),
          "build_info %s, version.h says %s" % (info, version()))

    check(set(by_label(after, "xdpsplit_packets_total", "verdict")) ==
          {"pass", "tx", "redirect", "drop"},
          "verdicts: %s" % sorted(by_label(after, "xdpsplit_packets_total", "verdict")))
    check(verdicts == reasons, "verdicts sum to %d, reasons to %d" % (verdicts, reasons))
    delta = {name: total(after, name) - total(before, name)
             for name in ("xdpsplit_packets_total", "xdpsplit_packet_reasons_total")}
    forwarded = (total(after, "xdpsplit_packets_total", verdict="tx") +
                 total(after, "xdpsplit_packets_total", verdict="redirect") -
                 total(before, "xdpsplit_packets_total", verdict="tx") -
                 total(before, "xdpsplit_packets_total", verdict="redirect"))
    l2dsr = (total(after, "xdpsplit_packet_reasons_total", reason="forward_l2dsr") -
             total(before, "xdpsplit_packet_reasons_total", reason="forward_l2dsr"))
    passed = (total(after, "xdpsplit_packets_total", verdict="pass") -
              total(before, "xdpsplit_packets_total", verdict="pass"))
    pool = (total(after, "xdpsplit_pool_packets_total", pool="blue") -
            total(before, "xdpsplit_pool_packets_total", pool="blue"))
    print("     %d datagrams sent: verdicts +%d (forwarded %d, passed %d: ARP and the"
          " like), reasons +%d, forward_l2dsr +%d, blue pool +%d; events not summed"
          % (DATAGRAMS, delta["xdpsplit_packets_total"], forwarded, passed,
             delta["xdpsplit_packet_reasons_total"], l2dsr, pool))
    check(forwarded == DATAGRAMS and l2dsr == DATAGRAMS and pool == DATAGRAMS,
          "forwarded %d, forward_l2dsr %d, pool %d; sent %d" % (forwarded, l2dsr, pool,
                                                                DATAGRAMS))
    check(delta["xdpsplit_packets_total"] == DATAGRAMS + passed,
          "the verdicts count %d packets, %d sent and %d passed"
          % (delta["xdpsplit_packets_total"], DATAGRAMS, passed))
    check(by_label(after, "xdpsplit_flow_events_total", "event"),
          "no flow events family")


@test
def latency_buckets_can_fill(lab):
    """metrics: the latency histogram's bounds run from the fastest handshake possible to 2.1 s, both ends filled"""
    lab.start_splitd(LATENCY_CONFIG)
    lab.client("connect", "10.77.100.1", 80, 100)
    lab.client("slow_handshake", "10.77.100.1", 81, 40404, 1.2)
    raw = pool_latency_buckets(lab)
    samples = parse(lab.metrics())
    fast = {float(l["le"]) if l["le"] != "+Inf" else float("inf"): v
            for n, l, v in samples if n == "xdpsplit_handshake_latency_seconds_bucket" and
            l["vip"] == TCP_VIP and l["pool"] == "blue"}
    slow = {float(l["le"]) if l["le"] != "+Inf" else float("inf"): v
            for n, l, v in samples if n == "xdpsplit_handshake_latency_seconds_bucket" and
            l["vip"] == SILENT_VIP and l["pool"] == "blue"}
    bounds = sorted(fast)
    # 2^13 ns .. 2^31 ns, then +Inf: the program's bucket i is [2^i, 2^(i+1)) ns
    want = [2 ** k / 1e9 for k in range(13, 32)] + [float("inf")]
    check(len(bounds) == len(want) and all(a == b or abs(a - b) < 1e-15 for a, b in zip(bounds, want)),
          "bounds %s" % bounds)
    lowest = min(i for i, c in enumerate(raw) if c)
    print("     %d bounds, %.9g s to %.9g s and +Inf; the program's buckets %s; the fastest"
          " handshake in [%.3g, %.3g) us; first bucket %d of 100, the 1.2 s one under le=%s"
          % (len(bounds), bounds[0], bounds[-2], raw, 2 ** lowest / 1e3,
             2 ** (lowest + 1) / 1e3, fast[bounds[0]],
             min((b for b in sorted(slow) if slow[b]), default=None)))
    # the derivation: nothing lands in the buckets the scrape merges below
    # its first bound (2^12 ns, 4.096 us, and faster)
    check(lowest >= 12, "a handshake took less than 4.096 us: %s" % raw)
    check(fast[float("inf")] == 100, "handshakes counted: %s" % fast)
    check(fast[bounds[0]] > 0 or lowest > 12, "the first bucket")
    check(slow.get(2 ** 31 / 1e9) == 1 and slow.get(2 ** 30 / 1e9) == 0,
          "the 1.2 s handshake is not in the 2.1 s bucket: %s" % slow)


def latest_audit_step(lab):
    entries = audit_entries(lab, "splitd rollout " + TCP_VIP)
    return entries[-1]["after"]["step"] if entries else None


def metric_step(lab):
    found = re.search(r'^xdpsplit_rollout_step\{vip="%s"\} (\d+)$' % re.escape(TCP_VIP),
                      lab.metrics(), re.M)
    return int(found.group(1)) if found else None


@test
def step_agrees_everywhere(lab):
    """metrics: a rollout's step is one number in rollout status, the metric and the audit log, mid-way and at the end"""
    lab.start_splitd(ROLLOUT_CONFIG)
    lab.ok("rollout", "start", TCP_VIP)

    def status():
        return lab.json("rollout", "status", TCP_VIP)["rollouts"][0]

    wait_for(lambda: status()["step"] == 2, 10, "the pause, step 2")
    time.sleep(0.5)  # one more interval: the metric and the log are written
    mid = (status()["step"], status()["steps"], metric_step(lab), latest_audit_step(lab))
    wait_for(lambda: status()["phase"] == "succeeded", 20, "the rollout to finish")
    time.sleep(0.5)
    end = (status()["step"], status()["steps"], metric_step(lab), latest_audit_step(lab))
    print("     (status step, steps, metric, audit): mid-way %s, at the end %s" % (mid, end))
    check(mid == (2, STEPS, 2, 2), "mid-way: %s" % (mid,))
    check(end == (STEPS, STEPS, STEPS, STEPS), "at the end: %s" % (end,))
