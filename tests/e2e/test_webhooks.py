# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Webhooks end to end: splitd posting a rollout's events to a real HTTP
server (webhook_receiver.py) in a namespace of its own, reached from the
LB's namespace over a veth; gate webhooks opening a gate or keeping it
shut; receivers that hang or refuse delaying nothing; bad webhook
configuration refused."""
import json
import os
import re
import signal
import subprocess
import time

from fixtures import (GATE, backends, canary, handshake_rule, pause, policy, splitd_config,
                      start_canary, stop_canary, vip)
from harness import PYTHON, ROOT, audit_entries, audit_time, check, test, wait_for

VIP = "10.77.100.1:80/tcp"
RECEIVER = "10.78.0.2"        # the receiver's namespace
BLACKHOLE = "10.78.0.3"       # on the veth's subnet, answered by nobody
HOOKS = "http://%s:8000" % RECEIVER

CONFIG = splitd_config(
    "500ms",
    [vip(VIP, backends("blue1", "green1", "canary1", "canary2"), rollout="%(policy)s")], [
        policy("steps", "500ms", [canary(10), pause("1s"), canary(30), pause("1s")],
               webhooks=["name: chat\n"
                         "        url: %(hooks)s/record/chat\n"
                         "        headers: {X-Team: lb}\n"
                         "        token_file: %(token)s"]),
        policy("broken-canary", "500ms", [canary(20), pause("60s")],
               analysis=[handshake_rule(0.9, 5, 1)],
               webhooks=["{name: chat, url: '%(hooks)s/record/chat', events: [rolled-back]}",
                         "{name: hang, url: '%(hooks)s/hang/r', timeout: 10s, retries: 10}"]),
        policy("gated", "500ms", [canary(10), GATE, canary(20)],
               webhooks=["{name: approve, type: gate, url: '%(hooks)s/gate/approve',"
                         " interval: 500ms,\n         timeout: 500ms}",
                         "{name: chat, url: '%(hooks)s/record/chat'}"]),
        policy("slow-receivers", "500ms",
               [canary(10), pause("1s"), canary(20), pause("1s"), canary(30), pause("1s")],
               webhooks=["{name: hang, url: '%(hooks)s/hang/x', timeout: 1s, retries: 1}",
                         "{name: refused, url: 'http://%(receiver)s:9/', timeout: 2s,"
                         " retries: 2}",
                         "{name: blackhole, url: 'http://%(blackhole)s:8000/', timeout: 1s,"
                         " retries: 1}",
                         "{name: chat, url: '%(hooks)s/record/chat'}"]),
        policy("slow-abort", "500ms", [canary(10), pause("60s")],
               webhooks=["{name: hang, url: '%(hooks)s/hang/y', timeout: 10s, retries: 10}"]),
        policy("gated-unanswered", "500ms", [canary(10), GATE, canary(20)],
               webhooks=["{name: hung-gate, type: gate, url: '%(hooks)s/hang/gate',"
                         " interval: 500ms,\n         timeout: 500ms}",
                         "{name: refused-gate, type: gate, url: 'http://%(receiver)s:9/',"
                         " interval: 500ms,\n         timeout: 500ms}"]),
        policy("pausable", "500ms", [canary(10), pause("60s")],
               webhooks=["{name: hang, url: '%(hooks)s/hang/z', timeout: 60s, retries: 0,\n"
                         "         events: [paused, resumed]}"])])


class Receiver:
    """webhook_receiver.py in its own namespace, a veth to the LB's."""

    def __init__(self, lab):
        self.lab = lab
        self.ns = lab.ns("hooks")
        self.directory = os.path.join(lab.state_dir, "hooks")
        self.log = os.path.join(self.directory, "requests.jsonl")
        self.token = os.path.join(self.directory, "token")

    def __enter__(self):
        os.makedirs(self.directory, exist_ok=True)
        for name in ("requests.jsonl", "gate_status"):
            try:
                os.unlink(os.path.join(self.directory, name))
            except FileNotFoundError:
                pass
        with open(self.token, "w") as token:
            token.write("s3cret-token\n")
        lb, me = self.lab.ns("lb"), self.ns
        run = lambda *a: subprocess.run(a, check=True)  # noqa: E731
        run("ip", "netns", "add", me)
        run("ip", "link", "add", "whk0", "netns", lb, "type", "veth", "peer", "whk1",
            "netns", me)
        run("ip", "-n", lb, "addr", "add", "10.78.0.1/24", "dev", "whk0")
        run("ip", "-n", lb, "link", "set", "whk0", "up")
        run("ip", "-n", me, "addr", "add", RECEIVER + "/24", "dev", "whk1")
        run("ip", "-n", me, "link", "set", "whk1", "up")
        run("ip", "-n", me, "link", "set", "lo", "up")
        self.server = subprocess.Popen(
            ["ip", "netns", "exec", me, PYTHON,
             os.path.join(ROOT, "tests/e2e/webhook_receiver.py"), RECEIVER, "8000",
             self.log, self.directory],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.directory, "log"), "w"))
        code = ("import socket,sys;s=socket.create_connection(('%s',8000),1)" % RECEIVER)
        wait_for(lambda: subprocess.run(["ip", "netns", "exec", lb, PYTHON, "-c", code],
                                        capture_output=True).returncode == 0,
                 10, "the webhook receiver")
        return self

    def __exit__(self, *_):
        self.server.kill()
        self.server.wait()
        subprocess.run(["ip", "netns", "del", self.ns], check=False)

    def config(self, policy):
        return CONFIG % {"policy": policy, "hooks": HOOKS, "token": self.token,
                         "receiver": RECEIVER, "blackhole": BLACKHOLE}

    def requests(self, prefix=""):
        try:
            with open(self.log) as log:
                entries = [json.loads(line) for line in log]
        except FileNotFoundError:
            return []
        return [e for e in entries if e["path"].startswith(prefix)]

    def gate(self, status):
        with open(os.path.join(self.directory, "gate_status.tmp"), "w") as f:
            f.write("%d\n" % status)
        os.rename(os.path.join(self.directory, "gate_status.tmp"),
                  os.path.join(self.directory, "gate_status"))


def status(lab):
    return lab.json("rollout", "status", VIP)["rollouts"][0]


def metric(lab, name, **labels):
    text = lab.metrics()
    selector = ",".join('%s="%s"' % item for item in labels.items())
    found = re.search(r"^%s\{%s\} (\d+)$" % (re.escape(name), re.escape(selector)), text,
                      re.MULTILINE)
    return int(found.group(1)) if found else None


@test
def webhook_events_in_order(lab):
    """webhook: a rollout posts started, step, step, succeeded in order with their fields"""
    with Receiver(lab) as hooks:
        lab.start_splitd(hooks.config("steps"))
        lab.ok("rollout", "start", VIP)
        wait_for(lambda: status(lab)["phase"] == "succeeded", 10, "success")
        got = wait_for(lambda: len(hooks.requests("/record")) >= 4 and
                       hooks.requests("/record"), 5, "4 events")
        time.sleep(0.5)
        got = hooks.requests("/record")
        events = [(g["body"]["event"], g["body"]["step"], g["body"]["weights"]["canary"])
                  for g in got]
        print("     events: %s" % events)
        check(events == [("started", 2, 10), ("step", 2, 10), ("step", 4, 30),
                         ("succeeded", 4, 30)], "events %s" % events)
        for g in got:
            b, h = g["body"], g["headers"]
            check(b["vip"] == VIP and b["policy"] == "steps" and b["steps"] == 4 and
                  b["webhook"] == "chat" and b["weights"]["blue"] + b["weights"]["canary"] == 100,
                  "fields: %s" % b)
            check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", b["time"]),
                  "time %s" % b["time"])
            check(h["Content-Type"] == "application/json" and h["X-Team"] == "lb" and
                  h["Authorization"] == "Bearer s3cret-token" and
                  h["X-Xdpsplit-Event"] == b["event"] and h["X-Xdpsplit-Delivery"] == b["id"],
                  "headers %s" % h)
        check(len({g["body"]["id"] for g in got}) == 4, "ids are not unique")
        # received in the order of the schedule: the pauses are 1 s
        gap = got[2]["t"] - got[1]["t"]
        check(0.8 < gap < 1.8, "step to step %.2f s" % gap)
        check(metric(lab, "xdpsplit_webhook_deliveries_total", webhook="chat",
                     result="delivered") == 4, "deliveries metric")


@test
def webhook_rollback_has_reason_and_values(lab):
    """webhook: a rollback posts rolled-back with the reason and the rule's values, on time beside a hanging receiver"""
    with Receiver(lab) as hooks:
        lab.start_splitd(hooks.config("broken-canary"))
        lab.ok("rollout", "start", VIP)
        process = lab.client_background("hold", "10.77.100.1", 80, 1, 6)
        try:
            time.sleep(2.0)
            killed_wall, killed = time.time(), time.monotonic()
            stop_canary(lab)
            lab.finish(process)
        finally:
            start_canary(lab)
        wait_for(lambda: status(lab)["phase"] == "rolled-back", 10, "the rollback")
        got = wait_for(lambda: hooks.requests("/record"), 5, "the rolled-back event")
        time.sleep(0.5)
        got = hooks.requests("/record")
        check(len(got) == 1, "only rolled-back is subscribed: %s" %
              [g["body"]["event"] for g in got])
        b = got[0]["body"]
        reaction = audit_time(audit_entries(lab, "rolled back")[-1]) - killed_wall
        posted = got[0]["t"] - killed
        print("     rolled back %.0f ms after the canary stopped, posted at %.0f ms, "
              "with a receiver hanging on its started event" % (reaction * 1000, posted * 1000))
        print("     reason: %s; rule %s" % (b["reason"], b["failed_rule"]))
        check(reaction < 1.5 and posted < reaction + 0.5, "rollback %.2f s, posted %.2f s"
              % (reaction, posted))
        check(len(hooks.requests("/hang")) == 1, "the hanging receiver: %d requests"
              % len(hooks.requests("/hang")))
        check(b["event"] == "rolled-back" and b["phase"] == "rolled-back", "event %s" % b)
        check(b["reason"].startswith("canary-handshakes:"), "reason %s" % b["reason"])
        rule = b["failed_rule"]
        check(rule["rule"] == "canary-handshakes" and rule["metric"] == "handshake_ratio" and
              rule["min"] == 0.9 and rule["value"] is not None and rule["value"] < 0.9 and
              rule["samples"] >= 5, "rule %s" % rule)
        check(b["weights"]["canary"] == 0, "weights %s" % b["weights"])


@test
def webhook_gate_opens_only_on_2xx(lab):
    """webhook: a gate webhook answering 503 keeps the rollout waiting, 200 lets it go on"""
    with Receiver(lab) as hooks:
        hooks.gate(503)
        lab.start_splitd(hooks.config("gated"))
        lab.ok("rollout", "start", VIP)
        wait_for(lambda: len(hooks.requests("/gate")) >= 4, 10, "4 asks")
        state = status(lab)
        asks = hooks.requests("/gate")
        check(state["phase"] == "running" and state["step_kind"] == "gate",
              "after %d answers of 503: %s %s" % (len(asks), state["phase"],
                                                  state.get("step_kind")))
        check(asks[0]["body"]["event"] == "gate-check" and
              asks[0]["body"]["webhook"] == "approve" and asks[0]["body"]["step"] == 2,
              "ask %s" % asks[0]["body"])
        spacing = (asks[-1]["t"] - asks[0]["t"]) / (len(asks) - 1)
        check(0.4 < spacing < 0.9, "asked every %.2f s (interval 500ms)" % spacing)
        waiting = audit_entries(lab, "gate webhook approve answered HTTP 503: waiting")
        # (only this test's policy has a webhook named approve)
        check(len(waiting) == 1, "audit of the 503s: %d lines" % len(waiting))
        opened = time.monotonic()
        hooks.gate(200)
        wait_for(lambda: status(lab)["phase"] == "succeeded", 5, "the gate to open")
        took = time.monotonic() - opened
        check(audit_entries(lab, "gate webhook approve answered HTTP 200: proceeding"),
              "no audit line for the opening")
        wait_for(lambda: len(hooks.requests("/record")) >= 4, 5, "the succeeded event")
        time.sleep(0.3)
        events = [g["body"]["event"] for g in hooks.requests("/record")]
        print("     %d asks answered 503 kept it at the gate; 200 opened it in %.2f s; "
              "events %s" % (len(asks), took, events))
        check(events == ["started", "step", "gate", "succeeded"], "events %s" % events)
        check(metric(lab, "xdpsplit_webhook_gate_asks_total", webhook="approve",
                     result="http_error") >= 4, "gate metrics")


@test
def webhook_gate_unanswered_stays_shut(lab):
    """webhook: gate webhooks that time out or refuse never open the gate; an operator's promote does"""
    with Receiver(lab) as hooks:
        lab.start_splitd(hooks.config("gated-unanswered"))
        since = time.time() - 0.01
        lab.ok("rollout", "start", VIP)
        wait_for(lambda: (metric(lab, "xdpsplit_webhook_gate_asks_total", webhook="hung-gate",
                                 result="timeout") or 0) >= 3 and
                 (metric(lab, "xdpsplit_webhook_gate_asks_total", webhook="refused-gate",
                         result="unreachable") or 0) >= 3, 10, "3 failed asks of each")
        state = status(lab)
        check(state["phase"] == "running" and state["step_kind"] == "gate",
              "%s at %s" % (state["phase"], state.get("step_kind")))
        check(audit_entries(lab, "gate webhook hung-gate answered timed out"),
              "no audit of the timeout")
        check(audit_entries(lab, "gate webhook refused-gate answered Couldn't connect"),
              "no audit of the refusal")
        check(not [e for e in audit_entries(lab, "proceeding") if audit_time(e) >= since],
              "the gate was said to open")
        lab.ok("rollout", "promote", VIP)
        wait_for(lambda: status(lab)["phase"] == "succeeded", 5, "the promote")


@test
def webhook_slow_receivers_delay_nothing(lab):
    """webhook: hanging, refusing and unreachable receivers delay no step or abort; retries are bounded"""
    with Receiver(lab) as hooks:
        lab.start_splitd(hooks.config("slow-receivers"))
        started, started_wall = time.monotonic(), time.time()
        lab.ok("rollout", "start", VIP)
        wait_for(lambda: status(lab)["phase"] == "succeeded", 15, "success")
        took = time.monotonic() - started
        steps = [audit_time(e) for e in audit_entries(lab, "splitd rollout")
                 if re.search(r"step|succeeded|started", e["command"]) and
                 audit_time(e) >= started_wall - 0.01]
        gaps = [b - a for a, b in zip(steps, steps[1:])]
        print("     3 pauses of 1 s took %.2f s; decisions %s s apart" %
              (took, ["%.2f" % g for g in gaps]))
        check(took < 4.5, "the rollout took %.2f s" % took)
        check(gaps and max(gaps) < 1.7, "gaps %s" % gaps)
        # 5 events, each tried 1 + retries times, then given up; one
        # webhook's in order, one at a time (2.5 s each for hang)
        wait_for(lambda: metric(lab, "xdpsplit_webhook_deliveries_total", webhook="hang",
                                result="failed") == 5, 25, "the hanging receiver's give-up")
        wait_for(lambda: metric(lab, "xdpsplit_webhook_deliveries_total", webhook="blackhole",
                                result="failed") == 5, 25, "the blackhole's give-up")
        time.sleep(1.5)
        hang = len(hooks.requests("/hang"))
        attempts = {name: sum(metric(lab, "xdpsplit_webhook_attempts_total", webhook=name,
                                     result=r) or 0
                              for r in ("ok", "http_error", "timeout", "unreachable"))
                    for name in ("hang", "refused", "blackhole", "chat")}
        print("     attempts: %s; the hanging receiver saw %d requests" % (attempts, hang))
        check(hang == 10, "the hanging receiver got %d requests, not 5 x 2" % hang)
        check(attempts == {"hang": 10, "refused": 15, "blackhole": 10, "chat": 5},
              "attempts %s" % attempts)
        check(metric(lab, "xdpsplit_webhook_deliveries_total", webhook="chat",
                     result="delivered") == 5, "chat got its 5 events")
        lab.stop_splitd()
        lab.forget_rollouts()
        # an operator's abort with a receiver that hangs for 10 s a try
        lab.start_splitd(hooks.config("slow-abort"))
        lab.ok("rollout", "start", VIP)
        time.sleep(1)
        before = time.monotonic()
        lab.ok("rollout", "abort", VIP)
        abort = time.monotonic() - before
        shown = lab.json("vip", "show", VIP)
        print("     abort answered in %.0f ms with the receiver hanging" % (abort * 1000))
        check(abort < 1.0 and shown["canary"] == 0, "abort %.2f s, %s" % (abort, shown))
        stopping = time.monotonic()
        lab.stop_splitd()
        check(time.monotonic() - stopping < 3, "splitd took %.1f s to stop"
              % (time.monotonic() - stopping))


@test
def webhook_full_queue_drops_oldest(lab):
    """webhook: a full queue drops the oldest deliveries, counted, and blocks no command"""
    with Receiver(lab) as hooks:
        lab.start_splitd(hooks.config("pausable"))
        lab.ok("rollout", "start", VIP)
        slowest = 0
        pairs = 160  # 320 events for a queue of 256, all behind one that hangs
        for _ in range(pairs):
            for verb in ("pause", "resume"):
                before = time.monotonic()
                lab.ok("rollout", verb, VIP)
                slowest = max(slowest, time.monotonic() - before)
        dropped = metric(lab, "xdpsplit_webhook_deliveries_total", webhook="hang",
                         result="dropped")
        length = re.search(r"^xdpsplit_webhook_queue_length (\d+)$", lab.metrics(),
                           re.MULTILINE)
        print("     %d events behind a hanging receiver: %s dropped, queue %s, "
              "slowest command %.0f ms" % (2 * pairs, dropped, length and length.group(1),
                                           slowest * 1000))
        check(dropped == 2 * pairs - 256, "dropped %s, not %d" % (dropped, 2 * pairs - 256))
        check(length and int(length.group(1)) == 256, "queue length %s" % length)
        check(slowest < 0.5, "a command took %.2f s" % slowest)
        with open(os.path.join(lab.state_dir, "splitd.log")) as log:
            warnings = [line for line in log if "is full; dropping the oldest" in line]
        check(len(warnings) == 1, "%d log lines for the drops (one per 10 s)" % len(warnings))
        check(len(hooks.requests("/hang")) == 1, "the hanging receiver got %d requests"
              % len(hooks.requests("/hang")))


@test
def webhook_bad_config_is_refused(lab):
    """webhook: a bad webhook is refused with its line, at start and on reload, changing nothing"""
    with Receiver(lab) as hooks:
        good = hooks.config("steps")
        bad = good.replace("url: %s/record/chat" % HOOKS, "url: ftp://%s/chat" % RECEIVER)
        check(bad != good, "the test's edit")
        line = bad.splitlines().index("        url: ftp://%s/chat" % RECEIVER) + 1
        expect = "splitd.yaml:%d:14: rollouts[0].webhooks[0].url: 'ftp://%s/chat' is not an http:// or https:// URL" % (line, RECEIVER)
        process = lab.start_splitd(bad, wait=False)
        process.wait(timeout=10)
        output = lab.splitd_output()
        check(process.returncode == 2 and expect in output, "exit %s: %s" %
              (process.returncode, output[-400:]))
        check(not lab.json("vip", "list"), "a refused file created VIPs")
        lab.splitd = None
        lab.start_splitd(good)
        path = os.path.join(lab.state_dir, "splitd.yaml")
        with open(path, "w") as f:
            f.write(bad.replace("rollout: steps", "rollout: gated"))
        lab.splitd.send_signal(signal.SIGHUP)
        wait_for(lambda: expect in lab.splitd_output(), 5, "the reload's refusal")
        check(lab.splitd.poll() is None, "splitd exited")
        # the running configuration still posts to the good URL
        lab.ok("rollout", "start", VIP)
        wait_for(lambda: hooks.requests("/record"), 5, "an event from the kept configuration")
        check(lab.json("rollout", "status", VIP)["rollouts"][0]["policy"] == "steps",
              "the policy changed")


FLEET_RAMP = policy(
    "ramp", "500ms",
    [canary(5), pause("2s"), canary(10), GATE, canary(15), pause("2s"), canary(20)],
    webhooks=["{name: chat, url: 'http://10.77.0.1:8000/record/chat'}",
              "{name: approve, type: gate, url: 'http://10.77.0.1:8000/gate/approve',\n"
              "         interval: 500ms, timeout: 500ms}"])


@test
def webhook_fleet_posts_once(_):
    """webhook: fleet: each event is posted once for the fleet, by the leader, across a change of leader; a gate webhook opens the fleet's gate"""
    import test_fleet
    from fleet_lab import POOLS, document, vip_entry
    lab = test_fleet.fleet(document([vip_entry(test_fleet.SERVICE, POOLS, rollout="ramp")],
                                    FLEET_RAMP))
    directory = os.path.join(lab.directory, "hooks")
    os.makedirs(directory)
    log = os.path.join(directory, "requests.jsonl")
    with open(os.path.join(directory, "gate_status"), "w") as f:
        f.write("200\n")
    # the receiver in the router's namespace, which every LB host reaches
    receiver = subprocess.Popen(
        ["ip", "netns", "exec", lab.net.ns("router"), PYTHON,
         os.path.join(ROOT, "tests/e2e/webhook_receiver.py"), "10.77.0.1", "8000", log,
         directory], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        lab.fleet("rollout", "start", test_fleet.SERVICE)

        def posted():
            try:
                with open(log) as f:
                    return [e["body"] for e in map(json.loads, f)
                            if e["path"].startswith("/record")]
            except FileNotFoundError:
                return []
        wait_for(lambda: len(posted()) >= 2, 15, "the first events")
        leader = lab.status()["leader"]
        # a leader that stops (SIGTERM) mid-rollout: the next one goes on
        lab.kill_splitd(int(leader[2:]), sig=signal.SIGTERM)
        final = test_fleet.wait_phase(lab, "succeeded", 40)
        check(any("gate webhook approve answered HTTP 200: proceeding" in line["what"]
                  for line in final["history"]), "history %s" % final["history"])
        time.sleep(1.0)
        got = posted()
        events = [(b["event"], b["step"], b["host"]) for b in got]
        hosts = sorted(set(b["host"] for b in got))
        print("     leader %s stopped; events %s" % (leader, events))
        kinds = [(b["event"], b["step"]) for b in got]
        check(len(kinds) == len(set(kinds)), "an event was posted twice: %s" % events)
        check(kinds == [("started", 2), ("step", 2), ("step", 4), ("gate", 4), ("step", 6),
                        ("succeeded", 7)], "events %s" % events)
        check(len(hosts) == 2 and leader in hosts, "posted by %s" % hosts)
        check(all(b["vip"] == test_fleet.SERVICE for b in got), "vip")
    finally:
        receiver.kill()
        receiver.wait()
        lab.down()
