# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""apply --dry-run's diff of everything a file holds against a running
splitd and its maps, one kind of change at a time, and check -f as an
unprivileged user, the way a CI pipeline runs it."""
import json
import os
import signal
import subprocess

from fixtures import ALL_BACKENDS, backends, canary, pause, policy, splitd_config, vip
from harness import BUILD, ROOT, check, test, wait_for
from test_cli import dump_maps

PENDING, INVALID = 3, 1
VIP = "10.77.100.1:80/tcp"

# 10.77.0.19 is no host's: the MAC the file gives it stays (splitd follows a
# real neighbour's MAC, which a dry run would show as a change of its own)
BASE = splitd_config(
    "500ms",
    [vip(VIP, backends(*ALL_BACKENDS), weights="{blue: 100, green: 0, canary: 0}",
         probe="{type: tcp, port: 80, interval: 1s, timeout: 500ms}", rollout="ramp"),
     vip("10.77.100.2:80/tcp",
         "    backends:\n      - {address: 10.77.0.19, pool: blue, mac: 02:00:00:00:00:11}\n",
         mode="l2dsr")],
    [policy("ramp", "1s", [canary(10), pause("5s")],
            analysis=["{name: handshakes, metric: handshake_ratio, min: 0.9, min_samples: 10}"],
            on_failure="rollback")], head="")

# (what changes, the edit of BASE, the one line the dry run must show,
# who holds the old value)
CHANGES = [
    ("backend weight", "{address: 10.77.0.32, pool: canary}",
     "{address: 10.77.0.32, pool: canary, weight: 5}",
     "~ vip 10.77.100.1:80/tcp backend 10.77.0.32 weight 1 -> 5", "maps"),
    ("backend pool", "{address: 10.77.0.12, pool: blue}",
     "{address: 10.77.0.12, pool: green}",
     "~ vip 10.77.100.1:80/tcp backend 10.77.0.12 pool blue -> green", "maps"),
    ("backend mac", "pool: blue, mac: 02:00:00:00:00:11}",
     "pool: blue, mac: 02:00:00:00:00:99}",
     "~ vip 10.77.100.2:80/tcp backend 10.77.0.19 mac 02:00:00:00:00:11 -> 02:00:00:00:00:99",
     "maps"),
    ("backend added", "      - {address: 10.77.0.32, pool: canary}\n",
     "      - {address: 10.77.0.32, pool: canary}\n"
     "      - {address: 10.77.0.33, pool: canary, weight: 2, mac: 02:00:00:00:00:33}\n",
     "+ vip 10.77.100.1:80/tcp backend 10.77.0.33 pool canary weight 2 mac 02:00:00:00:00:33",
     "maps"),
    ("backend removed", "      - {address: 10.77.0.22, pool: green}\n", "",
     "- vip 10.77.100.1:80/tcp backend 10.77.0.22", "maps"),
    ("VIP added", "rollouts:\n",
     "  - vip: 10.77.100.3:80/tcp\n    split: client\nrollouts:\n",
     "+ vip 10.77.100.3:80/tcp mode l2dsr split client weights blue 100 green 0 canary 0 live blue",
     "maps"),
    ("VIP removed",
     "  - vip: 10.77.100.2:80/tcp\n    mode: l2dsr\n    backends:\n"
     "      - {address: 10.77.0.19, pool: blue, mac: 02:00:00:00:00:11}\n", "",
     "- vip 10.77.100.2:80/tcp", "maps"),
    ("VIP mode", "    mode: l2dsr\n", "    mode: ipip\n",
     "~ vip 10.77.100.2:80/tcp mode l2dsr -> ipip", "maps"),
    ("weights", "weights: {blue: 100, green: 0, canary: 0}",
     "weights: {blue: 90, green: 0, canary: 10}",
     "~ vip 10.77.100.1:80/tcp weights blue 100 green 0 canary 0 live blue -> "
     "blue 90 green 0 canary 10 live blue", "maps"),
    ("policy field", "on_failure: rollback", "on_failure: pause",
     "~ policy ramp on_failure rollback -> pause", "splitd"),
    ("policy step", "      - pause: 5s\n", "      - pause: 8s\n",
     "~ policy ramp step 2 is pause 5s -> pause 8s", "splitd"),
    ("analysis rule", "min: 0.9, min_samples: 10", "min: 0.95, min_samples: 10",
     "~ policy ramp rule handshakes min 0.9 -> 0.95", "splitd"),
    ("probe field", "timeout: 500ms", "timeout: 300ms",
     "~ vip 10.77.100.1:80/tcp probe timeout 500ms -> 300ms", "splitd"),
    ("VIP's rollout", "    rollout: ramp\n", "",
     "~ vip 10.77.100.1:80/tcp rollout ramp -> none", "splitd"),
    ("daemon setting", "interval: 500ms, metrics", "interval: 700ms, metrics",
     "~ daemon interval 500ms -> 700ms", "splitd"),
    ("interface", "daemon:", "interfaces: [{name: eth0, mode: generic}]\ndaemon:",
     "+ interface eth0 mode generic", "splitd"),
]


def records(lab):
    """splitd's records of what it applied, as bytes."""
    found = {}
    for name in ("config.applied", "settings.applied"):
        with open(os.path.join(lab.state_dir, name), "rb") as record:
            found[name] = record.read()
    return found


def diff_lines(stdout):
    return [line for line in stdout.splitlines() if line[:2] in ("~ ", "+ ", "- ")]


def write(lab, name, text):
    path = os.path.join(lab.state_dir, name)
    with open(path, "w") as out:
        out.write(text)
    return path


def start_base(lab):
    """The base file applied by splitctl (which removes what else runs)
    and by splitd, which records its settings."""
    lab.forget_rollouts()
    lab.ok("apply", "-f", write(lab, "base.yaml", BASE))
    lab.start_splitd(BASE)
    wait_for(lambda: os.path.exists(os.path.join(lab.state_dir, "settings.applied")),
             10, "splitd's settings record")


@test
def apply_dry_run_shows_each_change(lab):
    """apply: --dry-run shows each kind of change, old -> new, exit 3, changes nothing"""
    start_base(lab)
    base = os.path.join(lab.state_dir, "base.yaml")
    same = lab.splitctl("apply", "-f", base, "--dry-run")
    check(same.returncode == 0 and "no changes" in same.stdout and not diff_lines(same.stdout),
          "unchanged file: %d %s" % (same.returncode, same.stdout + same.stderr))
    check(lab.json("apply", "-f", base, "--dry-run")["changes"] == [], "JSON of no changes")
    # a fleet host's VIPs are the fleet's: its file would remove them all
    host = lab.splitctl("apply", "-f", os.path.join(ROOT, "examples/fleet-host.yaml"),
                        "--dry-run")
    check(host.returncode == 1 and "a fleet host's file" in host.stderr,
          "a fleet host's file: %d %s" % (host.returncode, host.stderr))
    for what, before, after, line, held_by in CHANGES:
        check(before in BASE, "%s: the base lacks %r" % (what, before))
        edited = write(lab, "edited.yaml", BASE.replace(before, after, 1))
        maps, recorded = dump_maps(lab), records(lab)
        result = lab.splitctl("apply", "-f", edited, "--dry-run")
        check(result.returncode == PENDING and diff_lines(result.stdout) == [line],
              "%s: exit %d, expected %d and %r:\n%s%s" % (
                  what, result.returncode, PENDING, line, result.stdout, result.stderr))
        shown = lab.splitctl("-j", "apply", "-f", edited, "--dry-run")
        changes = json.loads(shown.stdout)["changes"]
        check(shown.returncode == PENDING and len(changes) == 1 and
              changes[0]["text"] == line and changes[0]["held_by"] == held_by,
              "%s: JSON %d %s" % (what, shown.returncode, shown.stdout))
        if line[0] == "~":
            old, new = line.rsplit(" -> ", 1)
            check(old.endswith(" " + changes[0]["old"]) and changes[0]["new"] == new,
                  "%s: old and new in JSON: %s" % (what, changes[0]))
        check(dump_maps(lab) == maps and records(lab) == recorded,
              "%s: the dry run changed the maps or splitd's records" % what)
        print("     %-15s %s" % (what, line))


@test
def apply_dry_run_leaves_operators_states(lab):
    """apply: a drained backend is the operator's: the file's dry run and apply leave it"""
    start_base(lab)
    base = os.path.join(lab.state_dir, "base.yaml")
    lab.ok("backend", "set", VIP, "10.77.0.12", "state", "draining")
    result = lab.splitctl("apply", "-f", base, "--dry-run")
    check(result.returncode == 0 and not diff_lines(result.stdout),
          "a state the file does not hold shown as a change: %s" % result.stdout)
    lab.ok("apply", "-f", base)
    backends = {b["backend"]: b["state"] for b in lab.json("backend", "list", VIP)}
    check(backends["10.77.0.12"] == "draining", "apply undid the drain: %s" % backends)


@test
def apply_reports_what_it_does(lab):
    """apply: a real apply shows the dry run's lines; splitd's settings wait for its reload"""
    start_base(lab)
    config = os.path.join(lab.state_dir, "splitd.yaml")
    write(lab, "splitd.yaml", BASE.replace("{address: 10.77.0.32, pool: canary}",
                                           "{address: 10.77.0.32, pool: canary, weight: 4}")
          .replace("on_failure: rollback", "on_failure: pause"))
    dry = lab.splitctl("apply", "-f", config, "--dry-run")
    check(dry.returncode == PENDING and len(diff_lines(dry.stdout)) == 2, dry.stdout)
    applied = lab.splitctl("apply", "-f", config)
    check(applied.returncode == 0 and diff_lines(applied.stdout) == diff_lines(dry.stdout),
          "apply said other than its dry run:\n%s\n%s" % (applied.stdout, dry.stdout))
    check("applied 1 change to the maps" in applied.stdout and
          "1 of splitd's settings take effect when splitd reads" in applied.stdout,
          applied.stdout)
    weights = {b["backend"]: b["weight"] for b in lab.json("backend", "list", VIP)}
    check(weights["10.77.0.32"] == 4, "the weight was not written: %s" % weights)
    after = lab.splitctl("apply", "-f", config, "--dry-run")
    check(after.returncode == PENDING and
          diff_lines(after.stdout) == ["~ policy ramp on_failure rollback -> pause"],
          "after apply, before splitd's reload: %s" % after.stdout)
    lab.splitd.send_signal(signal.SIGHUP)
    wait_for(lambda: lab.splitctl("apply", "-f", config, "--dry-run").returncode == 0,
             10, "no changes once splitd reloaded")


def as_nobody(lab, *args):
    """splitctl as user nobody, with the lab's pin and state dirs named."""
    return subprocess.run(
        ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups",
         os.path.join(BUILD, "splitctl")] + list(args),
        capture_output=True, text=True, env=lab.environment(), timeout=30)


BROKEN = [
    ("bad YAML", "vips:\n  - vip: 10.77.100.1:80/tcp\n    backends: [\n", ":4:"),
    ("unknown key", "vips:\n  - vip: 10.77.100.1:80/tcp\n    colour: blue\n",
     ":3:5: vips[0]: unknown field 'colour'"),
    ("bad address", "vips:\n  - vip: 10.77.100.1:80/tcp\n    backends:\n"
     "      - {address: 10.77.0.300, pool: blue}\n", ":4:19: vips[0].backends[0].address"),
    ("weight out of range", "vips:\n  - vip: 10.77.100.1:80/tcp\n    backends:\n"
     "      - {address: 10.77.0.11, pool: blue, weight: 70000}\n",
     ":4:51: vips[0].backends[0].weight: must be a whole number from 1 to 65535"),
    ("duplicate VIP", "vips:\n  - vip: 10.77.100.1:80/tcp\n  - vip: 10.77.100.1:80/tcp\n",
     ":2:3: vips: VIP 10.77.100.1:80/tcp is listed twice"),
    ("weights not 100%", "vips:\n  - vip: 10.77.100.1:80/tcp\n"
     "    weights: {blue: 50, green: 0, canary: 40}\n", ":3:14: vips[0].weights: add up to"),
]


@test
def check_validates_offline_as_nobody(lab):
    """check: every example valid, broken files exit 1 with FILE:LINE, as nobody without bpffs"""
    denied = as_nobody(lab, "vip", "list")
    check(denied.returncode == 1, "nobody can read the pinned maps: %s" % denied.stdout)
    directory = lab.state_dir + "-check"
    os.makedirs(directory, mode=0o755, exist_ok=True)
    try:
        examples = sorted(os.path.join(ROOT, "examples", name)
                          for name in os.listdir(os.path.join(ROOT, "examples"))
                          if name.endswith(".yaml"))
        for example in examples:
            result = as_nobody(lab, "check", "-f", example)
            check(result.returncode == 0 and result.stdout.startswith(example + ": valid"),
                  "%s: %d %s" % (example, result.returncode, result.stdout + result.stderr))
        fleet = os.path.join(ROOT, "examples", "fleet.yaml")
        document = as_nobody(lab, "-j", "check", "--document", "-f", fleet)
        check(document.returncode == 0 and
              json.loads(document.stdout)["files"][0]["kind"] == "fleet document",
              document.stdout)
        local = as_nobody(lab, "check", "--document", "-f",
                          os.path.join(ROOT, "examples", "xdpsplit.yaml"))
        check(local.returncode == INVALID and "unknown field 'interfaces'" in local.stderr,
              "a host's file passed as a fleet document: %s" % local.stderr)
        for what, text, where in BROKEN:
            path = os.path.join(directory, what.replace(" ", "-") + ".yaml")
            with open(path, "w") as out:
                out.write(text)
            result = as_nobody(lab, "check", "-f", path)
            check(result.returncode == INVALID and result.stderr.startswith(path + where),
                  "%s: %d %r, expected %s%s" % (what, result.returncode, result.stderr,
                                               path, where))
            print("     %s" % result.stderr.strip())
        both = as_nobody(lab, "-j", "check", "-f", examples[0], "-f", path)
        files = json.loads(both.stdout)["files"]
        check(both.returncode == INVALID and [f["valid"] for f in files] == [True, False],
              "one valid, one not: %s" % both.stdout)
        usage = as_nobody(lab, "check")
        check(usage.returncode == 2, "no file: %d" % usage.returncode)
    finally:
        subprocess.run(["rm", "-rf", directory], check=False)


@test
def apply_diff_beyond_a_files_limits(lab):
    """apply: 70 VIPs added by hand (a file holds 64): the dry run names each one apply removes"""
    start_base(lab)
    added = ["10.77.101.%d:80/tcp" % n for n in range(1, 71)]
    for vip in added:
        lab.ok("vip", "add", vip)
    result = lab.splitctl("apply", "-f", os.path.join(lab.state_dir, "base.yaml"), "--dry-run")
    check(result.returncode == PENDING and
          sorted(diff_lines(result.stdout)) == sorted("- vip " + vip for vip in added),
          "%d: %s%s" % (result.returncode, result.stdout[-500:], result.stderr))
    lab.ok("apply", "-f", os.path.join(lab.state_dir, "base.yaml"))
    check(len(lab.json("vip", "list")) == 2, "apply left VIPs the file does not list")


@test
def apply_says_why_splitds_settings_are_not_compared(lab):
    """apply: a damaged record of splitd's settings is said so, with why, not taken for none"""
    start_base(lab)
    base = os.path.join(lab.state_dir, "base.yaml")
    lab.stop_splitd()
    write(lab, "settings.applied", "this is no record\n\x00\x01")
    result = lab.splitctl("apply", "-f", base, "--dry-run")
    said = [line for line in result.stdout.splitlines() if "not compared" in line]
    check(result.returncode == 0 and len(said) == 1 and
          "not compared: record unreadable (" in said[0] and "no record of" not in said[0],
          "damaged record: %d %r %r" % (result.returncode, result.stdout, result.stderr))
    shown = lab.json("apply", "-f", base, "--dry-run")
    check(shown["settings_compared"] is False and
          shown["settings_not_compared"].startswith("record unreadable ("),
          "JSON: %s" % shown)
    # no record at all is said as that
    os.unlink(os.path.join(lab.state_dir, "settings.applied"))
    result = lab.splitctl("apply", "-f", base, "--dry-run")
    check("not compared: no record of splitd applying a configuration in " in result.stdout,
          "no record: %r" % result.stdout)
    print("     %s" % said[0][:150])
