# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Local input is hostile until checked (issue 10, points 7, 8 and 13): a
FIFO, a foreign or world-writable file, an absurd YAML file, a pin directory
or pin someone else planted are refused at once, by the real splitctl and
splitd, with an error naming what and why, and nothing changes. With no
bpffs mounted, splitctl and splitd mount it (in a private mount namespace,
so the host's bpffs and everyone's pins stay untouched)."""
import json
import os
import shutil
import stat
import subprocess
import time

from harness import BUILD, Failure, check, test, wait_for
from test_splitd import VIP, config

NOBODY = 65534


def config_value_size(lab):
    """sizeof(struct xs_config), as the lab's own pinned config map has it."""
    shown = subprocess.run(["bpftool", "-j", "map", "show", "pinned",
                            os.path.join(lab.pin_dir, "config")],
                           capture_output=True, text=True, check=True)
    return json.loads(shown.stdout)["bytes_value"]


class Scratch:
    """A directory of the test's own, removed afterwards."""

    def __init__(self, lab, name, mode=0o755):
        self.path = "%s-trust-%s" % (lab.state_dir, name)
        shutil.rmtree(self.path, ignore_errors=True)
        os.makedirs(self.path)
        os.chmod(self.path, mode)

    def file(self, name):
        return os.path.join(self.path, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def bounded(lab, argv, seconds=10, env=None):
    """Runs argv in the LB's namespace; its result and how long it took, or
    a Failure if it hangs."""
    started = time.monotonic()
    try:
        result = subprocess.run(
            ["nsenter", "--net=/run/netns/" + lab.ns("lb")] + argv,
            capture_output=True, text=True, timeout=seconds,
            env=dict(lab.environment(), **(env or {})))
    except subprocess.TimeoutExpired:
        raise Failure("%s hung for %ds" % (" ".join(argv[:3]), seconds))
    return result, time.monotonic() - started


def splitctl(lab, *args, **kwargs):
    return bounded(lab, [os.path.join(BUILD, "splitctl")] + list(args), **kwargs)


def splitd(lab, config_path, **kwargs):
    """splitd that must refuse to start: it exits, and fast."""
    return bounded(lab, [os.path.join(BUILD, "splitd"), "-c", config_path], **kwargs)


def refused(result, elapsed, *needles, limit=2.0):
    output = result.stderr + result.stdout
    check(result.returncode > 0, "not refused (rc %d): %s" % (result.returncode, output[-400:]))
    for needle in needles:
        check(needle in output, "the error does not say %r: %s" % (needle, output[-400:]))
    check(elapsed < limit, "refused only after %.2fs" % elapsed)
    return output.strip().splitlines()[-1]


def vips(lab):
    return sorted(v["vip"] for v in lab.json("vip", "list"))


@test
def fifo_config_refused(lab):
    """hostile: a FIFO as the configuration is refused at once by apply -f and splitd -c"""
    with Scratch(lab, "fifo-config") as scratch:
        fifo = scratch.file("xdpsplit.yaml")
        os.mkfifo(fifo, 0o600)
        result, apply_took = splitctl(lab, "apply", "-f", fifo)
        message = refused(result, apply_took, "is a FIFO, not a regular file")
        result, splitd_took = splitd(lab, fifo)
        refused(result, splitd_took, "is a FIFO, not a regular file")
        print("     apply -f FIFO refused in %.0f ms, splitd -c FIFO in %.0f ms: %s"
              % (apply_took * 1e3, splitd_took * 1e3, message))


@test
def fifo_audit_log_refused(lab):
    """hostile: a FIFO planted as the audit log refuses the change, the history and splitd's start, no hang"""
    before = vips(lab)
    with Scratch(lab, "fifo-audit", 0o750) as scratch:
        os.mkfifo(scratch.file("audit.log"), 0o640)
        env = {"XDPSPLIT_STATE_DIR": scratch.path}
        result, took = splitctl(lab, "vip", "add", "10.77.100.9:80/tcp", env=env)
        message = refused(result, took, "audit.log' is a FIFO", "nothing was changed")
        check(vips(lab) == before, "the VIP was added anyway: %s" % vips(lab))
        result, history_took = splitctl(lab, "history", env=env)
        refused(result, history_took, "audit.log' is a FIFO")
        path = scratch.file("splitd.yaml")
        with open(path, "w") as f:
            f.write(config("slow"))
        result, splitd_took = splitd(lab, path, env=env)
        refused(result, splitd_took, "audit.log' is a FIFO")
        check(vips(lab) == before, "splitd applied its configuration: %s" % vips(lab))
        print("     vip add refused in %.0f ms, history in %.0f ms, splitd in %.0f ms: %s"
              % (took * 1e3, history_took * 1e3, splitd_took * 1e3, message))


@test
def fifo_state_temp_replaced(lab):
    """hostile: a FIFO planted as the state temp file is replaced, never waited on: rollout start answers fast"""
    lab.start_splitd(config("slow"))
    fifo = os.path.join(lab.state_dir, "rollouts.state.tmp")
    os.mkfifo(fifo, 0o640)
    try:
        result, took = splitctl(lab, "rollout", "start", VIP)
        status, status_took = splitctl(lab, "-j", "rollout", "status", VIP)
        check(status.returncode == 0, "splitd stopped answering: %s" % status.stderr)
        check(took < 5 and status_took < 5,
              "rollout start took %.2fs, status %.2fs" % (took, status_took))
        check(result.returncode == 0, "rollout start failed: %s" % result.stderr)
        state = os.lstat(os.path.join(lab.state_dir, "rollouts.state"))
        check(stat.S_ISREG(state.st_mode), "the state file is not a regular file")
        check(not os.path.exists(fifo), "the FIFO is still there")
        print("     rollout start answered in %.0f ms, status in %.0f ms; the FIFO was "
              "replaced and the state recorded" % (took * 1e3, status_took * 1e3))
    finally:
        # a splitd stuck opening the FIFO would not stop on SIGTERM
        lab.stop_splitd(kill=True)
        if os.path.lexists(fifo):
            os.unlink(fifo)


@test
def foreign_state_file_refused(lab):
    """hostile: a state file owned by another user is refused at splitd start; the maps stay as they were"""
    lab.start_splitd(config("slow"))
    lab.ok("rollout", "start", VIP)
    wait_for(lambda: lab.json("rollout", "status", VIP)["rollouts"][0]["step"] >= 2, 10,
             "step 2")
    lab.stop_splitd()
    path = os.path.join(lab.state_dir, "rollouts.state")
    with open(path) as f:
        text = f.read()
    # what a planted file would say: all traffic to the canary, now
    forged = []
    for line in text.splitlines():
        if line.startswith("rollout "):
            fields = [("canary=10000" if f.startswith("canary=") else
                       "pending=1" if f.startswith("pending=") else f) for f in line.split(" ")]
            line = " ".join(fields)
        forged.append(line)
    with open(path, "w") as f:
        f.write("\n".join(forged) + "\n")
    os.chown(path, NOBODY, NOBODY)
    before = lab.json("vip", "show", VIP)
    with open(os.path.join(lab.state_dir, "splitd.yaml"), "w") as f:
        f.write(config("slow"))
    result, took = splitd(lab, os.path.join(lab.state_dir, "splitd.yaml"), seconds=20)
    message = refused(result, took, "owned by uid 65534", "refused, nothing was applied",
                      limit=5.0)
    after = lab.json("vip", "show", VIP)
    check(after == before, "the maps changed: %s -> %s" % (before, after))
    print("     refused in %.0f ms, canary stays %s%%: %s" % (took * 1e3, after["canary"], message))


@test
def writable_config_refused(lab):
    """hostile: a configuration writable by others, or in a directory writable by others, is refused"""
    with Scratch(lab, "writable", 0o777) as open_dir:
        inner = Scratch(lab, "writable-ok")
        try:
            for path, mode, needle in (
                    (inner.file("a.yaml"), 0o666, "is writable by other users (mode 0666)"),
                    (inner.file("b.yaml"), 0o620, "is writable by other users (mode 0620)"),
                    (open_dir.file("c.yaml"), 0o644, "writable by other users (mode 0777)")):
                with open(path, "w") as f:
                    f.write(config("slow"))
                os.chmod(path, mode)
                if mode == 0o620:
                    os.chown(path, 0, NOBODY)
                result, took = splitctl(lab, "apply", "--dry-run", "-f", path)
                message = refused(result, took, needle)
                result, took = splitd(lab, path)
                refused(result, took, needle)
                print("     %s" % message)
            os.chown(inner.file("b.yaml"), NOBODY, 0)
            os.chmod(inner.file("b.yaml"), 0o644)
            result, took = splitctl(lab, "apply", "--dry-run", "-f", inner.file("b.yaml"))
            refused(result, took, "owned by uid 65534")
        finally:
            inner.__exit__()


@test
def deep_yaml_refused_fast(lab):
    """hostile: a 2 MB, million-deep YAML file is refused in milliseconds"""
    with Scratch(lab, "deep") as scratch:
        path = scratch.file("deep.yaml")
        with open(path, "w") as f:
            f.write("[" * 1000000 + "]" * 1000000)
        result, took = splitctl(lab, "apply", "--dry-run", "-f", path, seconds=30)
        message = refused(result, took, "nested more than 32 levels deep", limit=0.5)
        result, splitd_took = splitd(lab, path, seconds=30)
        refused(result, splitd_took, "nested more than 32 levels deep", limit=0.5)
        print("     %d bytes refused in %.1f ms (apply), %.1f ms (splitd): %s"
              % (os.path.getsize(path), took * 1e3, splitd_took * 1e3, message))


OVERFLOWS = [
    # 2^61 + 1 seconds is 1000 ms after wrapping around 2^64
    ("daemon: {interval: 2305843009213693953s}\n", "daemon.interval: must be from 50ms to 24 hours"),
    ("daemon: {interval: 99999999999999999999999ms}\n", "daemon.interval: must be from 50ms"),
    ("vips:\n  - vip: 10.77.100.5:80/tcp\n    backends:\n"
     "      - {address: 10.77.0.11, pool: blue, weight: 4294967297}\n",
     "weight: must be a whole number from 1 to 65535"),
    ("vips:\n  - vip: 10.77.100.5:99999999999999999999/tcp\n", "vips[0].vip:"),
    ("rollouts:\n  - name: p\n    steps: [{pause: 307445734561825861m}]\n",
     "steps[0].pause: must be from 0ms to 24 hours"),
    ("rollouts:\n  - name: p\n    steps: [gate]\n    analysis:\n"
     "      - {name: r, metric: handshake_ratio, min: 1e999}\n",
     "analysis[0].min: must be a finite number"),
]


@test
def overflowing_numbers_refused(lab):
    """hostile: numbers and durations that overflow are refused, naming the field"""
    with Scratch(lab, "overflow") as scratch:
        for i, (text, needle) in enumerate(OVERFLOWS):
            path = scratch.file("%d.yaml" % i)
            with open(path, "w") as f:
                f.write(text)
            result, took = splitctl(lab, "apply", "--dry-run", "-f", path)
            refused(result, took, needle)


def planted_pin_dir(lab, name):
    """A pin directory holding the lab's real maps, pinned again by bpftool."""
    path = "%s-%s" % (lab.pin_dir, name)
    subprocess.run(["rm", "-rf", path], check=False)
    os.mkdir(path, 0o700)
    for pin in sorted(os.listdir(lab.pin_dir)):
        subprocess.run(["bpftool", "map", "pin", "pinned", os.path.join(lab.pin_dir, pin),
                        os.path.join(path, pin)], check=True)
    return path


@test
def planted_pin_dirs_refused(lab):
    """hostile: a pin dir owned by nobody or writable by others, a pin of another size or a symlink: refused, named"""
    path = planted_pin_dir(lab, "planted")
    try:
        # the copy itself is usable: what follows is refused for its flaw alone
        result, _ = splitctl(lab, "--pin-dir", path, "vip", "list")
        check(result.returncode == 0, "the planted copy is unusable: %s" % result.stderr)
        os.chown(path, NOBODY, NOBODY)
        result, took = splitctl(lab, "--pin-dir", path, "vip", "list")
        print("     %s" % refused(result, took, "Refusing pin directory", "owned by uid 65534"))
        result, took = splitctl(lab, "--pin-dir", path, "vip", "add", "10.77.100.9:80/tcp")
        refused(result, took, "owned by uid 65534")
        os.chown(path, 0, 0)
        os.chmod(path, 0o777)
        result, took = splitctl(lab, "--pin-dir", path, "vip", "list")
        print("     %s" % refused(result, took, "writable by other users (mode 0777)"))
        os.chmod(path, 0o700)

        # a config map of another value size: named, no crash
        for size in (16, 4096):
            os.unlink(os.path.join(path, "config"))
            subprocess.run(["bpftool", "map", "create", os.path.join(path, "config"), "type",
                            "array", "key", "4", "value", str(size), "entries", "1", "name",
                            "config"], check=True)
            result, took = splitctl(lab, "--pin-dir", path, "vip", "add", "10.77.100.9:80/tcp")
            message = refused(result, took, "pinned map 'config' in %s has value size %d, "
                              "expected %d" % (path, size, config_value_size(lab)),
                              "use another --pin-dir")
        print("     %s" % message)
        # the same through the loader (splitctl attach, splitd) before libbpf reuses it
        result, took = splitctl(lab, "--pin-dir", path, "attach", "eth0", "generic")
        refused(result, took, "pinned map 'config' in %s has value size 4096" % path)

        # another map of the wrong type
        os.unlink(os.path.join(path, "config"))
        subprocess.run(["bpftool", "map", "pin", "pinned", os.path.join(lab.pin_dir, "config"),
                        os.path.join(path, "config")], check=True)
        os.unlink(os.path.join(path, "flows"))
        subprocess.run(["bpftool", "map", "create", os.path.join(path, "flows"), "type",
                        "hash", "key", "4", "value", "4", "entries", "4", "name", "flows"],
                       check=True)
        result, took = splitctl(lab, "--pin-dir", path, "vip", "list")
        print("     %s" % refused(result, took, "pinned map 'flows' in %s has type hash, "
                                  "expected array" % path))

        # a pin that is a symbolic link to the real one
        os.unlink(os.path.join(path, "flows"))
        os.symlink(os.path.join(lab.pin_dir, "flows"), os.path.join(path, "flows"))
        result, took = splitctl(lab, "--pin-dir", path, "vip", "list")
        print("     %s" % refused(result, took, "pinned map 'flows' in %s is a symbolic link"
                                  % path))
        check(vips(lab) == [], "the lab's VIPs changed: %s" % vips(lab))
    finally:
        subprocess.run(["rm", "-rf", path], check=False)


MOUNT_SCRIPT = r"""
set -e
while grep -q ' /sys/fs/bpf ' /proc/self/mounts; do umount /sys/fs/bpf; done
echo "before: $(grep -c ' /sys/fs/bpf ' /proc/self/mounts || true) bpffs mounts"
ip link set lo up
ip link add tv0 type veth peer name tv1
ip link set tv0 up
ip link set tv1 up
case "$1" in
splitctl)
	"$BUILD/splitctl" attach tv0 generic flows 4096
	"$BUILD/splitctl" vip add 10.9.9.9:80/tcp
	"$BUILD/splitctl" vip list ;;
splitd)
	printf 'interfaces: [{name: tv0, mode: generic}]\nvips: [{vip: 10.9.9.9:80/tcp}]\n' > "$WORK/splitd.yaml"
	"$BUILD/splitd" -c "$WORK/splitd.yaml" > "$WORK/splitd.log" 2>&1 &
	pid=$!
	for i in $(seq 100); do grep -q 'splitd ready' "$WORK/splitd.log" && break; sleep 0.1; done
	kill $pid; wait $pid || true
	cat "$WORK/splitd.log"
	"$BUILD/splitctl" vip list ;;
esac
grep ' /sys/fs/bpf ' /proc/self/mounts
stat -c 'mode %a' /sys/fs/bpf
ls /sys/fs/bpf/xdpsplit
"""


@test
def bpffs_mounted_when_absent(lab):
    """hostile: with no bpffs mounted (private mount namespace), splitctl attach and splitd mount it"""
    host_before = sorted(os.listdir("/sys/fs/bpf"))
    for tool in ("splitctl", "splitd"):
        with Scratch(lab, "mount-" + tool) as scratch:
            env = dict(os.environ, BUILD=BUILD, WORK=scratch.path,
                       XDPSPLIT_STATE_DIR=scratch.file("state"),
                       XDPSPLIT_RUN_DIR=scratch.file("run"))
            for name in ("XDPSPLIT_PIN_DIR", "LIBXDP_BPFFS"):
                env.pop(name, None)  # the defaults, in the private bpffs
            try:
                result = subprocess.run(["unshare", "--mount", "--net", "sh", "-c",
                                         MOUNT_SCRIPT, "sh", tool], capture_output=True,
                                        text=True, timeout=60, env=env)
            except subprocess.TimeoutExpired:
                raise Failure("%s hung with no bpffs" % tool)
            output = result.stdout + result.stderr
            check(result.returncode == 0, "%s with no bpffs failed: %s" % (tool, output[-800:]))
            check("before: 0 bpffs mounts" in output, "bpffs was still mounted: " + output)
            check("bpf /sys/fs/bpf bpf" in output and "mode 1700" in output and
                  "10.9.9.9:80/tcp" in output and "config" in output,
                  "%s did not mount bpffs and pin under it: %s" % (tool, output[-800:]))
            print("     %s: %s" % (tool, [line for line in output.splitlines()
                                          if " /sys/fs/bpf " in line][0]))
    check(sorted(os.listdir("/sys/fs/bpf")) == host_before or
          not (set(os.listdir("/sys/fs/bpf")) - set(host_before)) -
          {n for n in os.listdir("/sys/fs/bpf") if n.startswith("xdpsplit-test-")},
          "the host's bpffs changed")
