# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The pieces of splitd's configuration file that the end-to-end tests
share, as text: the daemon line, a VIP and its backends (the lab's servers
of harness.BACKENDS), a rollout policy with its steps and analysis rules.
Each function returns the lines the tests wrote out by hand before, to the
byte, so a test's file (and what it edits in it with replace) stays the same.

    splitd_config("500ms", [vip(VIP, backends(*ALL_BACKENDS), rollout="slow")],
                  [policy("slow", "500ms", [canary(10), pause("60s")])])

Texts that tests fill in later (`CONFIG % {"policy": ...}`) may hold
%(name)s placeholders anywhere a value goes. Besides: the canary's servers
stopped and started, and client.py's checksum for packet scripts."""
import os

from harness import BACKENDS, BACKENDS_V6

METRICS = "127.0.0.1:9464"
ALL_BACKENDS = ("blue1", "blue2", "green1", "green2", "canary1", "canary2")


def daemon(interval, metrics=METRICS):
    return "daemon: {interval: %s, metrics: %s}\n" % (interval, metrics)


def pool_of(name):
    """The pool a lab backend serves: blue1 -> blue."""
    return name.rstrip("0123456789")


def backend(name, v6=False):
    """One line of a VIP's backends: the lab's server of that name in its
    pool (v6: its IPv6 address, quoted)."""
    address = '"%s"' % BACKENDS_V6[name] if v6 else BACKENDS[name]
    return "      - {address: %s, pool: %s}\n" % (address, pool_of(name))


def backends(*names, v6=False):
    """A VIP's backends: block, the lab's servers of these names."""
    return "    backends:\n" + "".join(backend(name, v6) for name in names)


def vip(address, backends_text, **fields):
    """One entry of vips:, its fields (weights, probe, rollout...) in the
    order given, then its backends (a backends() block or lines of its own)."""
    return ("  - vip: %s\n" % address +
            "".join("    %s: %s\n" % field for field in fields.items()) + backends_text)


def probe(kind="tcp", port=80, path=None, interval="200ms", timeout="150ms", rise=2, fall=2):
    """A VIP's probe: value; path for an HTTP probe (kind may be a %s
    placeholder, filled in later)."""
    return ("{type: %s, port: %s, %sinterval: %s, timeout: %s, rise: %s, fall: %s}"
            % (kind, port, "path: %s, " % path if path else "", interval, timeout, rise, fall))


def canary(percent):
    """A step setting the canary's share."""
    return "weights: {canary: %s}" % percent


def pause(duration):
    return "pause: %s" % duration


def bake(duration):
    return "bake: %s" % duration


GATE = "gate"
SWITCH = "switch"


def entries(items):
    """A list's entries, one "- " each; an entry's further lines are its own."""
    return "".join("      - %s\n" % item for item in items)


def policy(name, interval, steps, analysis=(), webhooks=(), **fields):
    """One entry of rollouts:; fields (on_failure, flush_canary...) come
    between its interval and its steps, in the order given; steps, analysis
    rules and webhooks are lists of entries."""
    text = "  - name: %s\n    interval: %s\n" % (name, interval)
    text += "".join("    %s: %s\n" % field for field in fields.items())
    text += "    steps:\n" + entries(steps)
    if analysis:
        text += "    analysis:\n" + entries(analysis)
    if webhooks:
        text += "    webhooks:\n" + entries(webhooks)
    return text


def handshake_rule(min_ratio, min_samples, failures, name="canary-handshakes"):
    """An analysis rule on the canary's handshake ratio (one flow map, wrapped)."""
    return ("{name: %s, metric: handshake_ratio, pool: canary, min: %s,\n"
            "         min_samples: %s, failures: %s}" % (name, min_ratio, min_samples, failures))


def p99_rule(maximum, min_samples, failures, relative=False):
    """An analysis rule on the canary's p99 handshake latency (relative:
    the rule's relative: true, maximum then not in seconds)."""
    return ("{name: canary-p99, metric: latency_p99, pool: canary, %smax: %s,\n"
            "         min_samples: %s, failures: %s}"
            % ("relative: true, " if relative else "", maximum, min_samples, failures))


def prometheus_errors_rule(url):
    """An analysis rule asking Prometheus at url for the canary's error rate."""
    return ("name: canary-errors\n"
            "        prometheus: %s\n"
            "        query: sum(rate(backend_errors_total{pool=\"canary\"}[5s]))\n"
            "        max: 0.5" % url)


def splitd_config(interval, vips, rollouts=(), head="\n"):
    """splitd's file: the daemon line (after head, a blank line as the
    tests' triple-quoted texts begin), the VIPs, the rollout policies."""
    text = head + daemon(interval) + "vips:\n" + "".join(vips)
    if rollouts:
        text += "rollouts:\n" + "".join(rollouts)
    return text


def stop_canary(lab):
    """The canary pool's servers stopped: its backends refuse connections."""
    lab.stop_server("canary1")
    lab.stop_server("canary2")


def start_canary(lab):
    lab.start_server("canary1")
    lab.start_server("canary2")


# The first lines of a script run by python -c in a namespace that builds
# packets: client.py's Internet checksum, checksum(data).
IMPORT_CHECKSUM = ("import sys\nsys.path.insert(0, %r)\nfrom client import checksum\n"
                   % os.path.dirname(os.path.abspath(__file__)))
