# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""A SYN flood from forged sources through a small flow table, while 100
real long-lived connections run and the service switches blue -> green.

The flood comes in on a second LB interface (eth1, a veth straight from the
client namespace, the splitter attached to it too): sent through the test
bridge, about 240,000 of 3,000,000 frames reached the LB in a trial; sent
straight, all of them do, at 0.5-0.7 million a second here.
Both interfaces share the one set of maps, so the flood fills the same flow
tables the real connections use."""
import json
import os
import subprocess
import time

from harness import BUILD, check, test

VIP = "10.77.100.1:80/tcp"
POOLS = {"blue": ["blue1", "blue2"], "green": ["green1", "green2"]}
FLOOD_PACKETS = 3000000
HELD = 100


def lb_mac(lab, interface):
    out = subprocess.run(["ip", "-n", lab.ns("lb"), "-j", "link", "show", interface],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]["address"]


def add_flood_link(lab):
    subprocess.run(["ip", "link", "add", "flood0", "netns", lab.ns("client"), "type",
                    "veth", "peer", "name", "eth1", "netns", lab.ns("lb")], check=True)
    subprocess.run(["ip", "-n", lab.ns("client"), "link", "set", "flood0", "up"], check=True)
    subprocess.run(["ip", "-n", lab.ns("lb"), "link", "set", "eth1", "up"], check=True)
    lab.ok("attach", "eth1")


def remove_flood_link(lab):
    lab.splitctl("detach", "eth1")
    subprocess.run(["ip", "-n", lab.ns("client"), "link", "del", "flood0"], check=False)


def flow_tables(lab):
    """The flow table's two kinds of entry, by kind (confirmed, pending)."""
    return {m["kind"]: m for m in lab.json("status")["maps"] if m["map"] == "flows"}


@test
def flood_breaks_no_long_lived_connection(lab):
    """flood: 3M forged SYNs through a 65,536-flow table, 100 long-lived connections and a switch, none broken"""
    lab.service(VIP, POOLS)
    add_flood_link(lab)
    # connections of earlier tests in this lab: the only confirmed entries
    # old enough (idle a minute) for a new flow to take their way
    earlier = flow_tables(lab)["confirmed"]["entries"]
    try:
        # idle 2 s between lines, as real long-lived connections are: an
        # LRU keeps entries that are used often, a flood evicts idle ones
        held = lab.client_background("hold", "10.77.100.1", 80, HELD, 8, 2.0)
        time.sleep(0.5)
        before = flow_tables(lab)
        flood = subprocess.Popen(
            ["ip", "netns", "exec", lab.ns("client"),
             os.path.join(BUILD, "xdpsplit-flood"), "flood0", lb_mac(lab, "eth1"),
             "10.77.100.1", "80", str(FLOOD_PACKETS)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # mid-flood, new connections go green: a long-lived connection whose
        # entry the flood evicted would be re-chosen onto green, reset there
        time.sleep(1.0)
        lab.ok("switch", VIP, "green")
        out, err = flood.communicate(timeout=120)
        check(flood.returncode == 0, "flood failed: " + err[-300:])
        sent = json.loads(out)
        result = lab.finish(held)
        after = flow_tables(lab)
    finally:
        remove_flood_link(lab)

    broken = [h for h in result["held"] if h["broken"]]
    moved = [h for h in result["held"] if h["servers_seen"] != [h["server"]]]
    new_failed = [n for n in result["new"] if n[1].startswith("error")]
    pending_evicted = after["pending"]["evicted"] - before["pending"]["evicted"]
    print("     flood: %d SYNs in %.1f s (%.0f/s); %d of %d long-lived connections broken,"
          " %d moved; %d of %d new connections failed; evicted: pending %d, confirmed %d;"
          " confirmed entries %d of %d"
          % (sent["packets"], sent["seconds"], sent["rate"], len(broken), HELD,
             len(moved), len(new_failed), len(result["new"]), pending_evicted,
             after["confirmed"]["evicted"] - before["confirmed"]["evicted"],
             after["confirmed"]["entries"],
             after["confirmed"]["max"]))
    check(not broken, "long-lived connections broken: %s" % broken[:3])
    check(not moved, "long-lived connections moved: %s" % moved[:3])
    check(all(h["lines"] >= 3 for h in result["held"]),
          "a long-lived connection carried too little data")
    evicted = after["confirmed"]["evicted"] - before["confirmed"]["evicted"]
    check(evicted <= earlier,
          "%d confirmed flows evicted, more than the %d of earlier tests" % (evicted, earlier))
    # the flood did overflow a table: most SYNs were pushed out of pending
    check(pending_evicted > FLOOD_PACKETS // 2,
          "the flood evicted only %d pending entries" % pending_evicted)
