# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The installed xdpsplit: the Debian package built by make deb, installed
with dpkg, run and purged; make install and uninstall in a DESTDIR; the
audit log rotated by the real logrotate under writes from splitd and
splitctl."""
import glob
import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

import harness
from fixtures import backends, canary, pause, policy, splitd_config, vip
from harness import ROOT, BUILD, Skip, check, test, wait_for

PACKAGE = "xdpsplit"


def source_version():
    """XS_VERSION of user/lib/version.h, the one version."""
    with open(os.path.join(ROOT, "user/lib/version.h")) as header:
        return re.search(r'#define XS_VERSION "([^"]+)"', header.read()).group(1)


def run(*args, **kwargs):
    kwargs.setdefault("timeout", 120)
    return subprocess.run(list(args), capture_output=True, text=True, **kwargs)


def installed_status():
    """dpkg's status of the package ('' when dpkg never heard of it)."""
    result = run("dpkg-query", "-W", "-f=${Status}", PACKAGE)
    return result.stdout.strip() if result.returncode == 0 else ""


def make(*args, timeout=300):
    result = run("make", "-C", ROOT, "--no-print-directory",
                 "BUILD=" + os.path.relpath(BUILD, ROOT), *args, timeout=timeout)
    check(result.returncode == 0, "make %s failed: %s" % (
        " ".join(args), (result.stdout + result.stderr)[-1500:]))
    return result


@test
def version_is_one(lab):
    """package: debian/changelog, version.h and both --version agree"""
    version = source_version()
    changelog = run("dpkg-parsechangelog", "-l", os.path.join(ROOT, "debian/changelog"),
                    "-SVersion")
    if changelog.returncode != 0 and not shutil.which("dpkg-parsechangelog"):
        raise Skip("no dpkg-parsechangelog (apt-get install dpkg-dev)")
    check(changelog.stdout.strip() == version, "debian/changelog says %r, version.h %r" %
          (changelog.stdout.strip(), version))
    for program in ("splitd", "splitctl"):
        for option in ("--version", "-V"):
            result = run(os.path.join(BUILD, program), option)
            check(result.returncode == 0 and result.stdout == "%s %s\n" % (program, version),
                  "%s %s: %d %r" % (program, option, result.returncode, result.stdout))


@test
def deb_installs_runs_and_purges(lab):
    """package: make deb builds a package that installs, runs and purges clean"""
    for tool in ("dpkg-buildpackage", "dh", "dpkg"):
        if not shutil.which(tool):
            raise Skip("no %s (apt-get install dpkg-dev debhelper)" % tool)
    # an operator's real installation is not ours to replace or purge
    if installed_status():
        raise Skip("an xdpsplit package is installed here (%s): not touching it"
                   % installed_status())
    for path in ("/usr/sbin/splitd", "/usr/sbin/splitctl"):
        if os.path.exists(path):
            raise Skip("%s exists (installed by hand?): not overwriting it" % path)
    version = source_version()
    started = time.monotonic()
    make("deb", timeout=600)
    built = time.monotonic() - started
    deb = os.path.join(BUILD, "%s_%s_%s.deb" % (
        PACKAGE, version, run("dpkg", "--print-architecture").stdout.strip()))
    check(os.path.exists(deb), "no %s after make deb" % deb)
    check(not glob.glob(os.path.join(os.path.dirname(ROOT), "xdpsplit_*")),
          "make deb left artefacts in ../ of the checkout")
    if shutil.which("lintian"):  # optional, not a dependency (~5 s)
        lint = run("lintian", "--fail-on", "error,warning", deb)
        check(lint.returncode == 0, "lintian: " + lint.stdout + lint.stderr)
    installing = run("dpkg", "-i", deb)
    try:
        check(installing.returncode == 0, "dpkg -i: " + installing.stdout + installing.stderr)
        files = [path for path in run("dpkg", "-L", PACKAGE).stdout.split("\n")
                 if path and os.path.isfile(path)]
        for program in ("splitd", "splitctl"):
            result = run("/usr/sbin/" + program, "--version")
            check(result.returncode == 0 and result.stdout == "%s %s\n" % (program, version),
                  "installed %s --version: %r %r" % (program, result.stdout, result.stderr))
        check(run("dpkg-query", "-W", "-f=${Version}", PACKAGE).stdout == version,
              "the package's version is not " + version)
        for page in ("splitd", "splitctl"):
            result = run("man", "-w", page)
            check(result.returncode == 0 and result.stdout.startswith("/usr/share/man/man8/"),
                  "man -w %s: %r %r" % (page, result.stdout, result.stderr))
        completion = [path for path in files if path.endswith("/completions/splitctl")]
        check(len(completion) == 1, "completion: %s" % completion)
        result = run("bash", "-c", "source %s && complete -p splitctl" % completion[0])
        check(result.returncode == 0 and "splitctl" in result.stdout,
              "the completion registers nothing: %r %r" % (result.stdout, result.stderr))
        units = [path for path in files if path.endswith("/systemd/system/splitd.service")]
        check(len(units) == 1, "unit: %s" % units)
        with open(units[0]) as unit:
            text = unit.read()
        check(re.search(r"^ExecStart=/usr/sbin/splitd\b", text, re.M),
              "ExecStart is not the installed splitd")
        check("ConditionPathExists=/etc/xdpsplit/xdpsplit.yaml" in text,
              "the unit would start without a configuration")
        verify = run("systemd-analyze", "verify", units[0])
        check(verify.returncode == 0 and not (verify.stdout + verify.stderr).strip(),
              "systemd-analyze verify: %d %s" % (verify.returncode, verify.stdout + verify.stderr))
        # enabled for the boot once configured, and no configuration shipped
        check(os.path.islink("/etc/systemd/system/multi-user.target.wants/splitd.service"),
              "the unit is not enabled")
        check(not any(path.startswith("/etc/xdpsplit/") for path in files),
              "the package ships a configuration: %s" % files)
        check("/usr/share/doc/xdpsplit/examples/xdpsplit.yaml" in files, "no example")
        check("/usr/share/doc/xdpsplit/copyright" in files, "no copyright")
        conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", PACKAGE).stdout
        check("/etc/logrotate.d/xdpsplit" in conffiles, "conffiles: %r" % conffiles)
        rotate = run("logrotate", "-d", "-s", "/dev/null", "/etc/logrotate.d/xdpsplit") \
            if shutil.which("logrotate") else None
        check(rotate is None or rotate.returncode == 0,
              "logrotate -d on the rule: %s" % (rotate and rotate.stderr))
    finally:
        purging = run("dpkg", "--purge", PACKAGE)
    check(purging.returncode == 0, "dpkg --purge: " + purging.stdout + purging.stderr)
    check(installed_status() == "", "still known to dpkg: " + installed_status())
    left = [path for path in files if os.path.lexists(path)]
    check(not left, "left after the purge: %s" % left)
    check(not os.path.lexists("/etc/systemd/system/multi-user.target.wants/splitd.service"),
          "the enable link survived the purge")
    print("     make deb %.0f s; %d files installed, run, purged" % (built, len(files)))


def files_under(top):
    return sorted(os.path.relpath(os.path.join(d, f), top)
                  for d, _, names in os.walk(top) for f in names)


@test
def make_install_and_uninstall(lab):
    """package: make install lays out a DESTDIR and make uninstall empties it"""
    destdir = tempfile.mkdtemp(prefix="xdpsplit-destdir-")
    try:
        make("install", "DESTDIR=" + destdir)
        files = files_under(destdir)
        expected = {"usr/local/sbin/splitd", "usr/local/sbin/splitctl",
                    "usr/local/share/man/man8/splitd.8", "usr/local/share/man/man8/splitctl.8",
                    "etc/logrotate.d/xdpsplit",
                    "usr/local/share/doc/xdpsplit/README.md",
                    "usr/local/share/doc/xdpsplit/fleet.md"}
        expected |= {"usr/local/share/doc/xdpsplit/examples/" + name
                     for name in os.listdir(os.path.join(ROOT, "examples"))
                     if name.endswith(".yaml")}
        # the two directories pkg-config names, under the prefix
        completion = [f for f in files if f.endswith("/completions/splitctl")]
        units = [f for f in files if f.endswith("/systemd/system/splitd.service")]
        check(len(completion) == 1 and completion[0].startswith("usr/local/share/"),
              "completion: %s" % completion)
        check(len(units) == 1 and units[0].startswith("usr/local/lib/"), "unit: %s" % units)
        check(set(files) == expected | set(completion + units),
              "unexpected layout: extra %s, missing %s" % (
                  sorted(set(files) - expected - set(completion + units)),
                  sorted(expected - set(files))))
        with open(os.path.join(destdir, units[0])) as unit:
            check(re.search(r"^ExecStart=/usr/local/sbin/splitd\b", unit.read(), re.M),
                  "the unit does not run the installed splitd")
        for program in ("splitd", "splitctl"):
            path = os.path.join(destdir, "usr/local/sbin", program)
            check(os.stat(path).st_mode & 0o777 == 0o755, "%s mode" % program)
            check(run(path, "--version").stdout == "%s %s\n" % (program, source_version()),
                  "installed %s --version" % program)
        check(not any("test" in f or "bpf.o" in f for f in files), "test files installed")
        make("uninstall", "DESTDIR=" + destdir)
        left = files_under(destdir)
        check(not left, "left after make uninstall: %s" % left)
    finally:
        shutil.rmtree(destdir, ignore_errors=True)


STEPS = 32  # the most a policy may have
ROTATIONS = 5
CTL_WRITES = 60
ROTATE_VIP = "10.77.100.1:80/tcp"
CTL_VIP = "10.77.100.2:80/tcp"

ROTATE_CONFIG = splitd_config(
    "100ms", [vip(ROTATE_VIP, backends("blue1", "canary1"), rollout="stepper"),
              vip(CTL_VIP, backends("blue2", "canary2"))],
    [policy("stepper", "200ms",
            [step for n in range(STEPS // 2) for step in (canary(n + 1), pause("300ms"))])])


def shipped_rule(log_path):
    """dist/xdpsplit.logrotate with the audit log's path replaced: the
    same directives as the package's."""
    with open(os.path.join(ROOT, "dist/xdpsplit.logrotate")) as rule:
        text = rule.read()
    check("/var/lib/xdpsplit/audit.log" in text, "the rule names no audit log")
    check("copytruncate" not in re.sub(r"#.*", "", text), "the rule copies and truncates")
    return text.replace("/var/lib/xdpsplit/audit.log", log_path)


def read_rotated(log_path):
    """Every audit log file, oldest first: (name, lines)."""
    names = glob.glob(log_path + ".*")
    names.sort(key=lambda n: -int(re.match(r".*\.log\.(\d+)", n).group(1)))
    files = []
    for name in names + [log_path]:
        if not os.path.exists(name):
            continue
        opener = gzip.open if name.endswith(".gz") else open
        with opener(name, "rt") as log:
            files.append((name, log.read()))
    return files


@test
def audit_log_rotation(lab):
    """package: logrotate under audit writes from splitd and splitctl loses and tears no line"""
    if not shutil.which("logrotate"):
        raise Skip("no logrotate (apt-get install logrotate)")
    log_path = os.path.join(lab.state_dir, "audit.log")
    work = tempfile.mkdtemp(prefix="xdpsplit-logrotate-")
    rule = os.path.join(work, "xdpsplit")
    with open(rule, "w") as out:
        out.write(shipped_rule(log_path))
    for old in glob.glob(log_path + "*"):
        os.unlink(old)
    lab.start_splitd(ROTATE_CONFIG)
    commands, failures = [], []

    def splitctl_writer():
        for n in range(CTL_WRITES):
            # each different from the one before (and from the file's
            # 100/0/0), so each is a change and recorded
            args = ("weights", CTL_VIP, "blue", str(99 - n), "green", "0",
                    "canary", str(n + 1))
            result = lab.splitctl(*args)
            if result.returncode == 0:
                commands.append(" ".join(args))
            else:
                failures.append(result.stderr)
            time.sleep(0.03)

    writer = threading.Thread(target=splitctl_writer)
    try:
        lab.ok("rollout", "start", ROTATE_VIP)
        writer.start()
        rotated = 0
        for _ in range(ROTATIONS):
            time.sleep(0.5)
            result = run("logrotate", "-f", "-s", os.path.join(work, "status"), rule)
            check(result.returncode == 0, "logrotate: " + result.stderr)
            rotated += 1
        last_rotation = time.time()
        writer.join()
        check(not failures, "splitctl weights failed: %s" % failures[:2])
        wait_for(lambda: lab.json("rollout", "status", ROTATE_VIP)["rollouts"][0]["phase"]
                 == "succeeded", 30, "the rollout to finish")
    finally:
        if writer.is_alive():
            writer.join()
        shutil.rmtree(work, ignore_errors=True)
    files = read_rotated(log_path)
    entries, torn = [], []
    for name, text in files:
        check(text == "" or text.endswith("\n"), "%s ends inside a line" % name)
        for line in text.splitlines():
            try:
                entries.append((name, json.loads(line)))
            except ValueError:
                torn.append(line[:120])
    check(not torn, "torn lines: %s" % torn[:3])
    holding = [name for name, text in files if text]
    check(len(holding) >= ROTATIONS, "lines in only %s: the rotations were not during the writes"
          % holding)
    # every splitctl change recorded once, wherever it landed
    recorded = [e["command"] for _, e in entries if e["command"].startswith("weights ")]
    check(sorted(recorded) == sorted(commands),
          "splitctl: %d changes, %d recorded (missing %s)" % (
              len(commands), len(recorded), sorted(set(commands) - set(recorded))[:3]))
    # every step of the rollout recorded once, in order
    steps = [e["after"]["step"] for _, e in entries
             if e["command"].startswith("splitd rollout %s: " % ROTATE_VIP)
             and e["after"] and e["after"].get("phase") == "running"]
    # (a weights step and its pause: one record, at the pause)
    check(steps == list(range(2, STEPS + 1, 2)),
          "splitd's step records: %s (of %s)" % (
              steps, [(e["command"], e["after"]) for _, e in entries
                      if e["command"].startswith("splitd")][:6]))
    # and splitd's writes after the last rotation are in the new file
    current = [e for name, e in entries if name == log_path
               and e["command"].startswith("splitd rollout")]
    check(current and harness.audit_time(current[-1]) >= last_rotation - 0.01,
          "splitd wrote nothing to the new audit.log after the last rotation")
    check(any("succeeded" in e["command"] or (e["after"] or {}).get("phase") == "succeeded"
              for e in current), "the rollout's end is not in the new audit.log")
    for rotated_file in glob.glob(log_path + ".*"):
        os.unlink(rotated_file)
    print("     %d rotations during %d splitctl and %d splitd records; %d files, "
          "%d lines, none torn or lost" % (rotated, len(recorded), len(steps),
                                           len(files), len(entries)))
