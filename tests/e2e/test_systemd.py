# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""systemd: the project's unit (dist/splitd.service) run by a real systemd
(systemd_boot.py): Type=notify, reload, stop, journald priorities, and
splitd serving under the unit's hardening; systemd-analyze's verdicts on
the unit."""
import json
import os
import re
import subprocess

from harness import BUILD, ROOT, check, test, wait_for
from systemd_boot import UNIT, UNIT_FILE, Systemd
from test_splitd import VIP, config

# bounded, so a splitd that never says READY=1 fails the test in seconds
TIMEOUTS = "TimeoutStartSec=20s\nTimeoutStopSec=20s\n"
CAP_BPF, CAP_NET_ADMIN = 39, 12
SECURITY_LIMIT = 4.0


# A sanitized splitd (make check SANITIZE=1): LeakSanitizer stops the world
# at exit with ptrace(2), which the unit's SystemCallFilter= refuses, and
# then fails the exit. Leaks are the plain runs' and valgrind's to find.
SANITIZED = "" if os.path.basename(BUILD) == "build" else \
    "Environment=ASAN_OPTIONS=detect_leaks=0\n"


def booted(lab, config_text, drop_in="", **kwargs):
    """A booted systemd, or nothing of it left behind"""
    systemd = Systemd(lab, config_text, drop_in=TIMEOUTS + SANITIZED + drop_in, **kwargs)
    try:
        return systemd.boot()
    except BaseException:
        systemd.shutdown()
        raise


def notifications(systemd):
    """What splitd sent on NOTIFY_SOCKET, in order: systemd's own record
    of each message (its debug log)"""
    found = []
    for _, message in systemd.journal("_PID=1", unit=False):
        match = re.match(UNIT.replace(".", r"\.") + r": Got notification message from PID \d+ \((.*)\)$", message)
        if match:
            found.append(match.group(1))
    return found


def status_text(systemd):
    return systemd.show("StatusText")["StatusText"]


def rollout_status(systemd):
    result = systemd.splitctl("-j", "rollout", "status", VIP)
    check(result.returncode == 0, "rollout status: " + result.stderr)
    return json.loads(result.stdout)["rollouts"][0]


def proc_status(pid):
    with open("/proc/%d/status" % pid) as proc:
        return {k: v.strip() for k, v in (line.split(":", 1) for line in proc if ":" in line)}


def check_hardened(pid):
    """What the unit's hardening made of splitd's process, seen from the
    host: the kernel's own record, not the unit file's"""
    fields = proc_status(pid)
    expected = (1 << CAP_BPF) | (1 << CAP_NET_ADMIN)
    check(fields["NoNewPrivs"] == "1", "no_new_privs: %s" % fields["NoNewPrivs"])
    check(fields["Seccomp"] == "2", "no seccomp filter (Seccomp: %s)" % fields["Seccomp"])
    check(int(fields["CapEff"], 16) == int(fields["CapPrm"], 16) == expected,
          "capabilities %s" % fields["CapEff"])
    mounts = {}
    with open("/proc/%d/mountinfo" % pid) as info:
        for line in info:
            parts = line.split()
            mounts[parts[4]] = (parts[5], parts[parts.index("-") + 1])
    check("ro" in mounts["/"][0].split(","), "/ is writable: %s" % (mounts["/"],))
    check("ro" in mounts["/sys"][0].split(","), "/sys is writable: %s" % (mounts["/sys"],))
    check("rw" in mounts.get("/sys/fs/bpf", ("",))[0].split(","),
          "bpffs not writable: %s" % (mounts.get("/sys/fs/bpf"),))
    check(mounts.get("/dev", ("", ""))[1] == "tmpfs", "/dev is the host's: %s" % (mounts.get("/dev"),))
    check("/tmp" in mounts and "/home" in mounts, "no private /tmp or hidden /home")
    check(os.path.exists("/proc/%d/root/dev/net/tun" % pid), "no /dev/net/tun for the fleet")
    check(not os.path.exists("/proc/%d/root/dev/vda" % pid), "a block device is visible")
    return fields


# The fleet's announcer in the unit's sandbox: a TUN device made and gone
TUN_CHECK = """Type=oneshot
Restart=no
ExecStart=
ExecStart=/usr/bin/python3 -c "import fcntl, struct; \\
  tun = open('/dev/net/tun', 'rb+', buffering=0); \\
  fcntl.ioctl(tun, 0x400454ca, struct.pack('16sH', b'xstuncheck', 0x1001)); \\
  print('made a TUN device')"
"""


@test
def unit_sandbox_makes_a_tun_device(lab):
    """systemd: in the unit's sandbox /dev/net/tun opens and makes a TUN device, as a fleet's announcer does"""
    systemd = booted(lab, config("slow"), twins={"tun-check.service": TUN_CHECK})
    try:
        result = systemd.systemctl("start", "tun-check.service")
        said = [m for _, m in systemd.journal("SYSLOG_IDENTIFIER=python3", unit=False)]
        check(result.returncode == 0 and "made a TUN device" in said,
              "TUN under the unit: %s %s" % (result.stderr, said[-3:]))
    finally:
        systemd.shutdown()


@test
def unit_starts_serves_and_stops(lab):
    """systemd: the unit starts splitd (READY=1 once it serves), a rollout steps under its hardening, stop is STOPPING=1"""
    systemd = booted(lab, config("slow"))
    try:
        result = systemd.systemctl("start", UNIT)
        check(result.returncode == 0, "systemctl start: %s %s" % (result.stderr, systemd.journal()[-5:]))
        # Type=notify: start returned, so the control socket answers now
        check(systemd.splitctl("rollout", "status").returncode == 0,
              "systemctl start returned before the control socket answered")
        check("xdpsplit_flow_table_entries" in lab.metrics(), "metrics not up at READY=1")
        shown = systemd.show("ActiveState", "SubState", "Type", "NotifyAccess")
        check(shown == {"ActiveState": "active", "SubState": "running", "Type": "notify",
                        "NotifyAccess": "main"}, "unit: %s" % shown)
        check(status_text(systemd) == "serving 1 VIP, 0 rollouts running",
              "status %r" % status_text(systemd))
        pid = systemd.splitd_pid()
        fields = check_hardened(pid)
        check(systemd.splitctl("rollout", "start", VIP).returncode == 0, "rollout start")
        wait_for(lambda: rollout_status(systemd)["route"]["canary"] == 20, 10, "the second step")
        wait_for(lambda: status_text(systemd) == "serving 1 VIP, 1 rollout running", 5,
                 "the status to show the rollout (%r)" % status_text(systemd))
        served = lab.client("connect", "10.77.100.1", 80, 50)
        check(not served["errors"], "connections failed: %s" % served["errors"][:3])
        result = systemd.systemctl("stop", UNIT)
        shown = systemd.show("ActiveState", "Result", "ExecMainStatus")
        check(result.returncode == 0 and shown == {
            "ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0"},
              "stop: %s %s" % (result.stderr, shown))
        sent = notifications(systemd)
        check(sent and sent[0].startswith("READY=1") and
              any(m.startswith("STOPPING=1") for m in sent), "notifications: %s" % sent)
        # fail-static: the data plane forwards at the rollout's weights
        check(lab.json("vip", "show", VIP)["canary"] == 20, "weights changed at stop")
        served = lab.client("connect", "10.77.100.1", 80, 20)
        check(not served["errors"], "no forwarding after stop: %s" % served["errors"][:3])
        print("     booted in %.2f s; seccomp %s, no_new_privs, capabilities %s; %d notifications: %s"
              % (systemd.boot_seconds, fields["Seccomp"], fields["CapEff"], len(sent),
                 " | ".join(m.split(",")[0] for m in sent)))
    finally:
        systemd.shutdown()
        lab.forget_rollouts()


@test
def unit_lets_splitd_attach(lab):
    """systemd: under the unit splitd attaches XDP to an interface itself, pins its maps and serves"""
    lb = lab.ns("lb")
    pins = "/sys/fs/bpf/xdpsplit-test-systemd-%d" % os.getpid()
    env = dict(os.environ, XDPSPLIT_PIN_DIR=pins, LIBXDP_BPFFS=pins + "-libxdp")
    subprocess.run(["ip", "-n", lb, "link", "add", "xsd0", "type", "veth", "peer", "name",
                    "xsd1"], check=True)
    subprocess.run(["ip", "-n", lb, "link", "set", "xsd0", "up"], check=True)
    subprocess.run(["ip", "-n", lb, "link", "set", "xsd1", "up"], check=True)
    systemd = None
    try:
        os.makedirs(env["LIBXDP_BPFFS"], exist_ok=True)
        systemd = booted(lab, "interfaces:\n  - {name: xsd0, mode: native}\n" + config("slow"),
                         drop_in="Environment=XDPSPLIT_PIN_DIR=%s\nEnvironment=LIBXDP_BPFFS=%s\n"
                         % (pins, env["LIBXDP_BPFFS"]))
        result = systemd.systemctl("start", UNIT)
        check(result.returncode == 0, "start: %s %s" % (result.stderr, systemd.journal()[-4:]))
        link = json.loads(subprocess.run(["ip", "-n", lb, "-j", "link", "show", "xsd0"],
                                         capture_output=True, text=True).stdout)[0]
        check("xdp" in link, "no XDP program on xsd0: %s" % link)
        check(os.listdir(pins), "nothing pinned in %s" % pins)
        check("xdpsplit_flow_table_entries" in lab.metrics(), "no metrics")
        check(systemd.systemctl("stop", UNIT).returncode == 0, "stop")
        print("     attached program %s on xsd0, %d pins" % (
            link["xdp"].get("prog", {}).get("id"), len(os.listdir(pins))))
    finally:
        if systemd:
            systemd.shutdown()
        subprocess.run(["nsenter", "--net=/run/netns/" + lb,
                        os.path.join(BUILD, "splitctl"), "detach", "xsd0"],
                       env=env, capture_output=True, timeout=60)
        subprocess.run(["ip", "-n", lb, "link", "del", "xsd0"], capture_output=True)
        subprocess.run(["rm", "-rf", pins, env["LIBXDP_BPFFS"]])


def write_config(systemd, text):
    result = systemd.enter("sh", "-c", "cat > /etc/xdpsplit/xdpsplit.yaml", input=text)
    check(result.returncode == 0, "writing the configuration: " + result.stderr)


@test
def reload_is_reloading_then_ready(lab):
    """systemd: systemctl reload is RELOADING=1 then READY=1; a bad file says so in the status and changes nothing"""
    systemd = booted(lab, config("slow"))
    try:
        check(systemd.systemctl("start", UNIT).returncode == 0, "start")
        second = config("slow").replace("rollouts:", """  - vip: 10.77.100.2:80/tcp
    backends:
      - {address: 10.77.0.11, pool: blue}
rollouts:""", 1)
        write_config(systemd, second)
        result = systemd.systemctl("reload", UNIT)
        check(result.returncode == 0, "reload: " + result.stderr)
        wait_for(lambda: status_text(systemd) == "serving 2 VIPs, 0 rollouts running", 10,
                 "the reload in the status (%r)" % status_text(systemd))
        check(len(lab.json("vip", "list")) == 2, "the second VIP is not in the maps")
        sent = notifications(systemd)
        reloading = [i for i, m in enumerate(sent) if m.startswith("RELOADING=1")]
        check(len(reloading) == 1 and "MONOTONIC_USEC=" in sent[reloading[0]] and
              any(m.startswith("READY=1") for m in sent[reloading[0] + 1:]),
              "notifications: %s" % sent)
        write_config(systemd, "vips: [\n")
        check(systemd.systemctl("reload", UNIT).returncode == 0, "reload")
        wait_for(lambda: "last reload failed, nothing changed" in status_text(systemd), 10,
                 "the failed reload in the status (%r)" % status_text(systemd))
        check(systemd.show("ActiveState")["ActiveState"] == "active", "splitd stopped")
        check(len(lab.json("vip", "list")) == 2, "a refused reload changed the maps")
        warnings = [m for p, m in systemd.journal() if p == 4]
        check(any("reload of /etc/xdpsplit/xdpsplit.yaml refused" in m for m in warnings),
              "the refusal is not a warning in the journal: %s" % systemd.journal()[-4:])
        print("     status after the bad file: %r" % status_text(systemd))
        check(systemd.systemctl("stop", UNIT).returncode == 0, "stop")
    finally:
        systemd.shutdown()
        lab.forget_rollouts()
        lab.splitctl("vip", "del", "10.77.100.2:80/tcp")


@test
def journal_gets_each_level(lab):
    """systemd: journald files splitd's lines at their level (error 3, warning 4, info 6), outside it no prefix"""
    systemd = booted(lab, "vips: [\n")
    try:
        check(systemd.systemctl("start", UNIT).returncode != 0, "a bad file started")
        entries = systemd.journal()
        errors = [m for p, m in entries if p == 3 and m.startswith("Error: ")]
        check(errors, "no error at priority 3: %s" % entries[-5:])
        check(not any(m.startswith("<") for _, m in entries), "a prefix reached the journal")
        write_config(systemd, config("slow"))
        check(systemd.systemctl("start", UNIT).returncode == 0, "start")
        write_config(systemd, config("slow").replace("127.0.0.1:9464", "127.0.0.1:9465"))
        systemd.systemctl("reload", UNIT)
        wait_for(lambda: any(p == 4 and "daemon.metrics changed" in m
                             for p, m in systemd.journal()), 10, "a warning at priority 4")
        check(any(p == 6 and m.startswith("splitd ready") for p, m in systemd.journal()),
              "'splitd ready' is not at priority 6")
        check(systemd.systemctl("stop", UNIT).returncode == 0, "stop")
    finally:
        systemd.shutdown()
        lab.forget_rollouts()
    # the same binary outside the journal: plain lines, also when
    # JOURNAL_STREAM names a stream that is not its stderr
    lab.start_splitd(config("slow"), extra_env={"JOURNAL_STREAM": "1:1"})
    lab.stop_splitd()
    output = lab.splitd_output()
    check("splitd ready" in output and not re.search(r"^<\d>", output, re.M),
          "plain output has prefixes: %s" % output[-300:])


@test
def analyze_verify_and_security(lab):
    """systemd: systemd-analyze verify is clean on the installed unit, security rates it 4.0 or lower"""
    systemd = booted(lab, config("slow"))
    try:
        # the boot's /usr holds /usr/sbin/splitd; the man pages go beside it
        for page in ("splitd.8", "splitctl.8"):
            result = systemd.enter("install", "-D", "-m", "644", os.path.join(ROOT, "doc", page),
                                   "/usr/share/man/man8/" + page)
            check(result.returncode == 0, "man page: " + result.stderr)
        result = systemd.enter("systemd-analyze", "verify", UNIT_FILE)
        check(result.returncode == 0 and not result.stderr.strip(),
              "verify: %s%s" % (result.stdout, result.stderr))
    finally:
        systemd.shutdown()
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", UNIT_FILE],
                            capture_output=True, text=True, timeout=60)
    match = re.search(r"Overall exposure level for splitd.service: ([\d.]+)", result.stdout)
    check(match, "no exposure level: %s" % (result.stdout + result.stderr)[-300:])
    check(float(match.group(1)) <= SECURITY_LIMIT, "exposure %s is over %.1f"
          % (match.group(1), SECURITY_LIMIT))
    print("     systemd-analyze security --offline=true dist/splitd.service: %s" % match.group(1))
