# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""A real systemd as PID 1 of new PID, mount and cgroup namespaces, for
the systemd tests: the project's unit (dist/splitd.service, as it is) is
started, reloaded and stopped with systemctl, so its Type=notify, its
journald priorities and its hardening are systemd's own doing, not an
emulation. systemd is not PID 1 of this machine (KERNEL-NOTES.md).

What the host keeps untouched: /run, /sys/fs/cgroup (cgroup2 rooted at a
cgroup of our own), /etc, /usr and /var/lib are the namespace's (fresh
mounts, or overlays whose upper layer is a temporary directory), so
systemd's remounts, the unit's StateDirectory= and ConfigurationDirectory=
and the installed /usr/sbin/splitd never reach the host. The only units are
those listed below: nothing of the host's (udev, timers, its services)
starts. The LB's network namespace is the one file of /run/netns carried
in, for NetworkNamespacePath=."""
import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time

from harness import BUILD, ROOT, Failure, check, wait_for

UNIT_FILE = os.path.join(ROOT, "dist", "splitd.service")
UNIT = "splitd.service"
# What systemd needs to boot into a target of our own, journald included
# (its /dev/log socket is left out: /dev is the host's)
SYSTEM_UNITS = ("sysinit.target", "basic.target", "sockets.target",
                "network.target", "network-online.target", "shutdown.target",
                "multi-user.target",
                "systemd-journald.service", "systemd-journald.socket")

BOOT = r"""
set -eu
T=$1 NETNS=$2
mount -t cgroup2 cgroup2 /sys/fs/cgroup
for dir in etc usr var/lib; do
	name=$(echo $dir | tr / -)
	mkdir -p $T/$name-upper $T/$name-work
	mount -t overlay overlay -o lowerdir=/$dir,upperdir=$T/$name-upper,workdir=$T/$name-work /$dir
done
touch $T/lb-netns
mount --bind /run/netns/$NETNS $T/lb-netns
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /run/netns /run/systemd/journald.conf.d
touch /run/netns/$NETNS
mount --move $T/lb-netns /run/netns/$NETNS
printf '[Journal]\nStorage=volatile\nReadKMsg=no\n' > /run/systemd/journald.conf.d/test.conf
install -m 755 $T/splitd /usr/sbin/splitd
mkdir -p /etc/xdpsplit
install -m 600 $T/xdpsplit.yaml /etc/xdpsplit/xdpsplit.yaml
export container=xdpsplit-test SYSTEMD_UNIT_PATH=$T/units
exec /lib/systemd/systemd --system --unit=xdpsplit-test.target --log-target=journal --log-level=debug
"""


class Systemd:
    """One boot: units = the project's unit and a drop-in for the test."""

    def __init__(self, lab, config_text, drop_in="", unit_text=None, twins=None):
        """twins: {name: drop-in}, more units that are the project's unit
        (its sandbox) with a drop-in of their own, to run something else
        under the same restrictions"""
        self.lab = lab
        self.top = tempfile.mkdtemp(prefix="xdpsplit-systemd-", dir="/var/tmp")
        self.cgroup = "/sys/fs/cgroup/unified/xdpsplit-systemd-%d" % os.getpid()
        self.process = None
        units = os.path.join(self.top, "units")
        os.makedirs(os.path.join(units, "systemd-journald.service.d"))
        for name in SYSTEM_UNITS:
            os.symlink(os.path.join("/lib/systemd/system", name),
                       os.path.join(units, name))
        with open(os.path.join(units, "systemd-journald.service.d", "test.conf"), "w") as f:
            f.write("[Service]\nSockets=\nSockets=systemd-journald.socket\n")
        with open(os.path.join(units, "xdpsplit-test.target"), "w") as f:
            f.write("[Unit]\nDescription=xdpsplit systemd test\n"
                    "Wants=systemd-journald.service\n")
        if unit_text is None:
            with open(UNIT_FILE) as f:
                unit_text = f.read()
        # the test's own: the LB's namespace and pin directory
        test_conf = ("[Service]\nNetworkNamespacePath=/run/netns/%s\n"
                     "Environment=XDPSPLIT_PIN_DIR=%s\n%s"
                     % (lab.ns("lb"), lab.pin_dir, drop_in))
        for name, extra in dict(twins or {}, **{UNIT: ""}).items():
            os.makedirs(os.path.join(units, name + ".d"), exist_ok=True)
            with open(os.path.join(units, name), "w") as f:
                f.write(unit_text)
            with open(os.path.join(units, name + ".d", "test.conf"), "w") as f:
                f.write(test_conf + extra)
        shutil.copy(os.path.join(BUILD, "splitd"), os.path.join(self.top, "splitd"))
        with open(os.path.join(self.top, "xdpsplit.yaml"), "w") as f:
            f.write(config_text)

    def private_tmp(self):
        """PrivateTmp= directories of the units (systemd removes them when
        a unit stops, in a thread that a killed PID 1 may not finish)"""
        return set(glob.glob("/tmp/systemd-private-*.service-*") +
                   glob.glob("/var/tmp/systemd-private-*.service-*"))

    def boot(self):
        self.tmp_before = self.private_tmp()
        os.makedirs(self.cgroup, exist_ok=True)
        self.log = open(os.path.join(self.top, "boot.log"), "w")
        # into a cgroup of its own before the cgroup namespace is made,
        # so systemd's cgroups are children of it
        self.process = subprocess.Popen(
            ["sh", "-c", 'echo $$ > %s/cgroup.procs && exec "$@"' % self.cgroup, "sh",
             "unshare", "--fork", "--pid", "--mount", "--cgroup", "--mount-proc",
             "--propagation", "private", "--kill-child",
             "sh", "-c", BOOT, "sh", self.top, self.lab.ns("lb")],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        started = time.monotonic()
        wait_for(lambda: self.pid1() and self.systemctl("is-system-running").stdout.strip()
                 in ("running", "degraded"), 30, "systemd to boot: " + self.boot_log())
        self.boot_seconds = time.monotonic() - started
        return self

    def pid1(self):
        """systemd's pid on the host (unshare's child), or None"""
        try:
            with open("/proc/%d/task/%d/children" % (self.process.pid, self.process.pid)) as f:
                children = f.read().split()
        except OSError:
            return None
        self.pid = int(children[0]) if children else None
        return self.pid

    def boot_log(self):
        with open(os.path.join(self.top, "boot.log")) as f:
            return f.read()[-1500:]

    def enter(self, *command, net=False, **kwargs):
        """A command in systemd's namespaces (and the LB's network)"""
        return subprocess.run(
            ["nsenter", "-t", str(self.pid), "-m", "-p"] +
            (["--net=/run/netns/" + self.lab.ns("lb")] if net else []) +
            list(command), capture_output=True, text=True, timeout=60, **kwargs)

    def systemctl(self, *args):
        return self.enter("systemctl", "--no-pager", *args)

    def show(self, *properties):
        result = self.systemctl("show", UNIT, "--property=" + ",".join(properties))
        return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)

    def splitd_pid(self):
        """splitd's pid as the host sees it (MainPID is the namespace's)"""
        inner = self.show("MainPID")["MainPID"]
        with open("/sys/fs/cgroup/unified/xdpsplit-systemd-%d/system.slice/%s/cgroup.procs"
                  % (os.getpid(), UNIT)) as f:
            pids = [int(p) for p in f.read().split()]
        check(inner != "0" and pids, "splitd is not running")
        for pid in pids:
            with open("/proc/%d/status" % pid) as f:
                if any(line.startswith("NSpid:") and line.split()[-1] == inner
                       for line in f):
                    return pid
        raise Failure("no process with splitd's MainPID %s" % inner)

    def splitctl(self, *args):
        """splitctl in the LB's namespace, on the unit's socket and pins"""
        env = dict(self.lab.environment(), XDPSPLIT_RUN_DIR="/run/xdpsplit",
                   XDPSPLIT_STATE_DIR="/var/lib/xdpsplit")
        return self.enter(os.path.join(BUILD, "splitctl"), *args, net=True, env=env)

    def journal(self, *matches, unit=True):
        """splitd's own lines in the journal (or those matches select) as
        (priority, message)"""
        result = self.enter("journalctl", *((["SYSLOG_IDENTIFIER=splitd"] if unit else []) +
                                            list(matches)),
                            "-o", "export", "--no-pager")
        entries, entry = [], {}
        for line in result.stdout.splitlines() + [""]:
            if not line:
                if "MESSAGE" in entry:
                    entries.append((int(entry.get("PRIORITY", "-1")), entry["MESSAGE"]))
                entry = {}
            elif "=" in line:
                key, value = line.split("=", 1)
                entry[key] = value
        return entries

    def shutdown(self):
        """Ends every process of the namespace (PID 1 first) and removes
        what the boot left on the host"""
        if self.process and self.process.poll() is None and self.pid1():
            # a stopped unit's PrivateTmp= directories are systemd's to remove
            self.systemctl("stop", UNIT)
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # the namespace's processes die with its PID 1; their cgroups
        # empty a moment later
        for _ in range(100):
            busy = False
            for directory, _, _ in sorted(os.walk(self.cgroup), key=lambda w: -len(w[0])):
                try:
                    os.rmdir(directory)
                except FileNotFoundError:
                    pass
                except OSError:
                    busy = True
            if not busy:
                break
            time.sleep(0.05)
        shutil.rmtree(self.top, ignore_errors=True)
        for left in self.private_tmp() - getattr(self, "tmp_before", self.private_tmp()):
            shutil.rmtree(left, ignore_errors=True)
