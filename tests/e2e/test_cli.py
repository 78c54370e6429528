# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""splitctl as an operator meets it: bad input changes nothing, repeats are
idempotent, JSON parses, the audit log records, explain predicts."""
import json
import os
import subprocess

from harness import BACKENDS, BUILD, check, test

VIP = "10.77.100.1:80/tcp"
USAGE, RUNTIME = 2, 1

BAD_INPUT = [
    (USAGE, ["vip", "add", "10.77.100.999:80/tcp"]),
    (USAGE, ["vip", "add", "10.77.100.1:80"]),
    (USAGE, ["vip", "add", "10.77.100.1:99999/tcp"]),
    (USAGE, ["vip", "add", "[10.77.100.1]:80/tcp"]),
    (USAGE, ["vip", "add", "10.77.100.5:80/tcp", "mode", "gre"]),
    (RUNTIME, ["vip", "add", VIP, "mode", "ipip"]),
    (USAGE, ["weights", VIP, "blue", "50", "green", "0", "canary", "40"]),
    (USAGE, ["weights", VIP, "blue", "50.001", "green", "0", "canary", "49.999"]),
    (USAGE, ["weights", VIP, "blue", "-5", "green", "5", "canary", "100"]),
    (USAGE, ["weights", VIP, "blue", "50", "blue", "50", "canary", "0"]),
    (USAGE, ["weights", VIP, "blue", "100"]),
    (RUNTIME, ["weights", "10.77.100.9:80/tcp", "blue", "100", "green", "0", "canary", "0"]),
    (USAGE, ["backend", "add", VIP, "purple", "10.77.0.11"]),
    (USAGE, ["backend", "add", VIP, "blue", "fd77::11"]),
    (USAGE, ["backend", "add", VIP, "blue", "10.77.0.21", "weight", "0"]),
    (USAGE, ["backend", "add", VIP, "blue", "10.77.0.21", "mac", "zz:00:00:00:00:01"]),
    (RUNTIME, ["backend", "add", VIP, "blue", "10.77.0.99"]),
    (RUNTIME, ["backend", "add", VIP, "green", "10.77.0.11"]),
    (RUNTIME, ["backend", "del", VIP, "10.77.0.99"]),
    (USAGE, ["backend", "set", VIP, "10.77.0.11", "state", "sleeping"]),
    (USAGE, ["switch", VIP, "canary"]),
    (USAGE, ["switch", VIP, "green", "--now"]),
    (USAGE, ["override", "add", VIP, "10.77.0.0/33", "canary"]),
    (USAGE, ["override", "add", VIP, "10.77.0.1/16", "canary"]),
    (USAGE, ["override", "add", VIP, "10.77.0.0/24", "purple"]),
    (RUNTIME, ["override", "del", VIP, "10.77.0.0/24"]),
    (RUNTIME, ["attach", "nosuch0"]),
    (RUNTIME, ["detach", "nosuch0"]),
    (RUNTIME, ["upgrade", "nosuch0"]),
    (USAGE, ["upgrade", "eth0", "object"]),
    (USAGE, ["upgrade", "eth0", "native"]),
    (USAGE, ["attach", "eth0", "object"]),
    (USAGE, ["frobnicate"]),
    (USAGE, ["s"]),
    (USAGE, ["vip", "frob"]),
    (USAGE, ["explain", VIP, "not-an-address"]),
    (USAGE, ["stats", "--watch", "0"]),
    (USAGE, ["history", "--last", "x"]),
]


def dump_maps(lab):
    """The configuration maps as bpftool sees them, independent of splitctl."""
    state = {}
    for name in ("vips", "routes", "backends", "overrides", "pool_epochs", "maglev"):
        result = subprocess.run(
            ["bpftool", "-j", "map", "dump", "pinned", os.path.join(lab.pin_dir, name)],
            capture_output=True, text=True)
        state[name] = result.stdout
    return state


def audit_lines(lab):
    try:
        with open(os.path.join(lab.state_dir, "audit.log")) as log:
            return log.read().splitlines()
    except FileNotFoundError:
        return []


@test
def bad_input_changes_nothing(lab):
    """cli: each wrong invocation fails clearly and changes no map"""
    lab.service(VIP, {"blue": ["blue1", "blue2"], "canary": ["canary1"]})
    before, log_before = dump_maps(lab), audit_lines(lab)
    for expected, args in BAD_INPUT:
        result = lab.splitctl(*args)
        check(result.returncode == expected,
              "%s: exit %d, want %d" % (" ".join(args), result.returncode, expected))
        check(result.stderr.startswith("Error: "),
              "%s: no clear error: %r" % (" ".join(args), result.stderr))
        check(dump_maps(lab) == before, "%s changed the maps" % " ".join(args))
    check(audit_lines(lab) == log_before, "failed commands were audited")
    result = lab.splitctl("-j", "weights", VIP, "blue", "1")
    check(json.loads(result.stdout).get("error"), "no JSON error in -j mode")


@test
def repeats_are_idempotent(lab):
    """cli: the same command twice leaves the same state and says so"""
    commands = [
        ["vip", "add", VIP],
        ["backend", "add", VIP, "blue", BACKENDS["blue1"], "weight", "3"],
        ["weights", VIP, "blue", "95", "green", "0", "canary", "5"],
        ["override", "add", VIP, "10.77.0.2/32", "canary"],
        ["backend", "set", VIP, BACKENDS["blue1"], "state", "draining"],
        ["switch", VIP, "green"],
    ]
    for args in commands:
        lab.ok(*args)
        state, log = dump_maps(lab), audit_lines(lab)
        again = lab.splitctl(*args)
        check(again.returncode == 0 and again.stdout.startswith("unchanged"),
              "%s again: %d %r" % (" ".join(args), again.returncode, again.stdout))
        check(dump_maps(lab) == state and audit_lines(lab) == log,
              "%s again changed something" % " ".join(args))


@test
def audit_log_records_before_and_after(lab):
    """cli: history shows who changed what, with before and after"""
    lab.service(VIP, {"blue": ["blue1"], "canary": ["canary1"]})
    lab.ok("weights", VIP, "blue", "87.5", "green", "0", "canary", "12.5")
    entry = lab.json("history", "--last", "1")[-1]
    check(entry["user"] == "root" and entry["uid"] == 0, "who: %s" % entry)
    check(entry["command"].startswith("weights " + VIP), "what: %s" % entry)
    check(entry["before"]["canary"] == 0 and entry["after"]["canary"] == 12.5,
          "before/after: %s" % entry)
    text = lab.ok("history")
    check("weights " + VIP in text, "text history lacks the change")

    # a damaged line (a torn write, a hand edit) is named and skipped; the
    # entries after it still read
    log_path = os.path.join(lab.state_dir, "audit.log")
    with open(log_path, "a") as log:
        log.write('{"time":"2026-11-26T06:4\n')
    lab.ok("weights", VIP, "blue", "100", "green", "0", "canary", "0")
    lines = sum(1 for _ in open(log_path))
    result = lab.splitctl("-j", "history")
    entries = json.loads(result.stdout)
    check(result.returncode == 1 and "audit.log:%d: damaged line skipped" % (lines - 1)
          in result.stderr, "damaged line not reported: %d %s" % (result.returncode,
                                                                   result.stderr))
    check(len(entries) == lines - 1 and entries[-1]["after"]["canary"] == 0,
          "history around a damaged line: %s" % entries[-2:])
    # later tests check that splitd never tears a line: leave none
    with open(log_path) as log:
        whole = [line for line in log if not line.startswith('{"time":"2026-11-26T06:4\n')]
    with open(log_path, "w") as log:
        log.writelines(whole)


@test
def json_output_parses(lab):
    """cli: -j and -p give JSON for every read command"""
    lab.service(VIP, {"blue": ["blue1"], "canary": ["canary1"]})
    lab.ok("override", "add", VIP, "10.77.0.0/24", "canary")
    for args in (["vip", "list"], ["vip", "show", VIP], ["backend", "list"],
                 ["override", "list"], ["stats"], ["status"], ["history"],
                 ["explain", VIP, "10.77.0.2", "1234"]):
        for flag in ("-j", "-p"):
            try:
                json.loads(lab.ok(flag, *args))
            except ValueError as error:
                raise AssertionError("%s %s: %s" % (flag, " ".join(args), error))
    check(lab.json("vi", "li")[0]["vip"] == VIP, "prefixes: 'vi li' is not 'vip list'")


@test
def explain_predicts_real_connections(lab):
    """explain: the predicted backend is the one that answers, for 40 ports"""
    lab.service(VIP, {"blue": ["blue1", "blue2"], "green": ["green1"],
                      "canary": ["canary1", "canary2"]})
    lab.ok("weights", VIP, "blue", "60", "green", "10", "canary", "30")
    # below the ephemeral range, so no earlier connection holds them
    ports = list(range(20000, 20040))
    predicted = {}
    for port in ports:
        new_flow = lab.json("explain", VIP, "10.77.0.2", str(port))["new_flow"]
        predicted[port] = new_flow["backend"]
    answers = lab.client("connect_from", "10.77.100.1", 80, *ports)["answers"]
    wrong = [(port, server, predicted[port]) for port, server in answers
             if BACKENDS.get(server) != predicted[port]]
    check(not wrong, "explain predicted otherwise: %s" % wrong[:5])
    for port, server in answers[:5]:
        flow = lab.json("explain", VIP, "10.77.0.2", str(port))["existing_flow"]
        check(flow["backend"] == BACKENDS[server], "existing flow %s" % flow)


@test
def apply_shows_diff_and_applies(lab):
    """apply: dry run changes nothing; apply makes the file's state; bad file refused"""
    example = os.path.join(os.path.dirname(__file__), "../../examples/xdpsplit.yaml")
    before = dump_maps(lab)
    result = lab.splitctl("-j", "apply", "-f", example, "--dry-run")
    dry = json.loads(result.stdout)
    # the VIP with its weights, its 6 backends; splitd's settings are not
    # compared: no splitd applied anything here
    check(result.returncode == 3 and not dry["applied"] and len(dry["changes"]) == 7 and
          not dry["settings_compared"], "dry run: %d %s" % (result.returncode, dry))
    check(dump_maps(lab) == before, "the dry run changed the maps")
    applied = lab.json("apply", "-f", example)
    check(applied["applied"] and applied["changes"] == dry["changes"],
          "apply did other than the dry run said")
    shown = lab.json("vip", "show", VIP)
    check(len(shown["backends"]) == 6 and shown["blue"] == 100, "after apply: %s" % shown)
    check("no changes" in lab.ok("apply", "-f", example), "second apply")
    state = dump_maps(lab)
    with open(example) as source:
        text = source.read()
    edited = os.path.join(lab.state_dir, "edited.yaml")
    with open(edited, "w") as out:
        out.write(text.replace("      - {address: 10.77.0.32, pool: canary, weight: 1}\n", "")
                  .replace("{address: 10.77.0.12, pool: blue}",
                           "{address: 10.77.0.12, pool: blue, weight: 3}"))
    changes = lab.json("apply", "-f", edited)["changes"]
    check(sorted(c["change"] for c in changes) == ["-", "~"], "edit: %s" % changes)
    broken = os.path.join(lab.state_dir, "broken.yaml")
    with open(broken, "w") as out:
        out.write(text.replace("pool: green}", "pool: teal}", 1))
    state = dump_maps(lab)
    result = lab.splitctl("apply", "-f", broken)
    check(result.returncode == 1 and ":23:" in result.stderr and "pool" in result.stderr,
          "bad file: %d %s" % (result.returncode, result.stderr))
    check(dump_maps(lab) == state, "a bad file changed the maps")


@test
def full_tables_refuse_cleanly(lab):
    """cli: full VIP and backend tables and a too-big apply: a clear error, nothing written"""
    pin_dir = lab.pin_dir + "-small"
    env = dict(lab.environment(), XDPSPLIT_PIN_DIR=pin_dir)

    def small(*args):
        return subprocess.run(
            ["nsenter", "--net=/run/netns/" + lab.ns("lb"),
             os.path.join(BUILD, "splitctl")] + list(args),
            capture_output=True, text=True, env=env, timeout=60)

    def maps():
        return [subprocess.run(["bpftool", "map", "dump", "pinned", pin_dir + "/" + name],
                               capture_output=True, text=True).stdout
                for name in ("vips", "routes", "backends", "maglev", "pool_epochs")]

    def audit_lines():
        path = os.path.join(lab.state_dir, "audit.log")
        return sum(1 for _ in open(path)) if os.path.exists(path) else 0

    subprocess.run(["ip", "-n", lab.ns("lb"), "link", "add", "cap0", "type", "veth",
                    "peer", "name", "cap1"], check=True)
    try:
        check(small("attach", "cap0", "vips", "2", "backends", "4").returncode == 0,
              "attach with small tables failed")
        for vip in ("10.77.100.1:80/tcp", "10.77.100.2:80/tcp"):
            check(small("vip", "add", vip).returncode == 0, "vip add %s failed" % vip)
        for address in ("10.77.0.11", "10.77.0.12", "10.77.0.21"):
            result = small("backend", "add", "10.77.100.1:80/tcp", "blue", address)
            check(result.returncode == 0, "backend add failed: " + result.stderr)
        before, lines = maps(), audit_lines()

        third_vip = small("vip", "add", "10.77.100.3:80/tcp")
        fourth_backend = small("backend", "add", "10.77.100.2:80/tcp", "blue", "10.77.0.22")
        config = os.path.join(lab.state_dir, "too-big.yaml")
        with open(config, "w") as f:
            f.write("vips:\n" + "".join(
                "  - vip: 10.77.100.%d:80/tcp\n    backends:\n"
                "      - {address: 10.77.0.11, pool: blue}\n" % n for n in (1, 2, 3)))
        too_big = small("apply", "-f", config)
        print("     %s / %s / %s" % (third_vip.stderr.strip(), fourth_backend.stderr.strip(),
                                    too_big.stderr.strip()))
        check(third_vip.returncode == 1 and "all 2 VIP slots are in use" in third_vip.stderr,
              "third VIP: %d %s" % (third_vip.returncode, third_vip.stderr))
        check(fourth_backend.returncode == 1 and
              "all 3 backend slots are in use" in fourth_backend.stderr,
              "fourth backend: %d %s" % (fourth_backend.returncode, fourth_backend.stderr))
        check(too_big.returncode == 1 and "more VIPs" in too_big.stderr,
              "apply: %d %s" % (too_big.returncode, too_big.stderr))
        check(maps() == before, "a refused change wrote to the maps")
        check(audit_lines() == lines, "a refused change reached the audit log")
    finally:
        small("detach", "cap0")
        subprocess.run(["ip", "-n", lab.ns("lb"), "link", "del", "cap0"], check=False)
        subprocess.run(["rm", "-rf", pin_dir], check=False)
