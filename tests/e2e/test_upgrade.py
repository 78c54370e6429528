# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Upgrading the running splitter in place, under traffic: 30 long-lived
connections and a steady stream of new ones while splitctl upgrade loads
another build over the attached one. A build with the same map layout
replaces the program in one swap and keeps the flow tables; a build with
another layout is refused before anything is touched.

The long-lived connections are opened on blue, then the VIP switches to
green: from then on only their flow entries keep them on blue. An upgrade
that lost the flow table would re-choose them onto green, whose servers
reset them; one that left a moment with no program (or a program without
maps) would drop SYNs, which the clients retransmit after a second."""
import json
import os
import subprocess
import time

from harness import BUILD, check, test, wait_for

VIP = "10.77.100.1:80/tcp"
POOLS = {"blue": ["blue1", "blue2"], "green": ["green1", "green2"]}
HELD = 30
REBUILD = os.path.join(BUILD, "upgrade/xdp_split_rebuild.bpf.o")
OTHER_LAYOUT = os.path.join(BUILD, "upgrade/xdp_split_layout.bpf.o")
GREEN = ("10.77.0.21", "10.77.0.22")


def program_id(lab):
    ids = [i["program_id"] for i in lab.json("status")["interfaces"]
           if i["interface"] == "eth0"]
    check(len(ids) == 1, "xdp_split on eth0: %s" % ids)
    return ids[0]


def uses_pinned_flows(lab, prog_id):
    """The program's maps include the pinned flow table itself."""
    prog = json.loads(subprocess.run(["bpftool", "-j", "prog", "show", "id", str(prog_id)],
                                     capture_output=True, text=True, check=True).stdout)
    pinned = json.loads(subprocess.run(
        ["bpftool", "-j", "map", "show", "pinned", os.path.join(lab.pin_dir, "flows")],
        capture_output=True, text=True, check=True).stdout)
    return pinned["id"] in prog.get("map_ids", [])


def new_on_green(lab):
    flows = lab.backend_new_flows(VIP)
    return sum(flows.get(address, 0) for address in GREEN)


def more_new_connections(lab, count):
    """Waits (bounded) until count more connections went to green."""
    start = new_on_green(lab)
    wait_for(lambda: new_on_green(lab) >= start + count, 20,
             "%d new connections" % count)


def across(result, started, ended):
    """New connections begun while the upgrade ran (and half a second
    around it): failed, retransmitted, and the longest gap between the
    starts of successive new connections."""
    window = [n for n in result["new"] if started - 0.5 <= n[0] <= ended + 0.5]
    failed = [n for n in window if n[1].startswith("error")]
    retransmitted = [n for n in window if len(n) > 2 and n[2]]
    starts = [n[0] for n in window]
    gap = max((b - a for a, b in zip(starts, starts[1:])), default=0.0)
    return {"connections": len(window), "failed": len(failed),
            "retransmitted": len(retransmitted), "gap_ms": gap * 1000,
            "took_ms": (ended - started) * 1000}


def broken_between(result, started, until):
    return [h for h in result["held"]
            if h["broken_at"] is not None and started <= h["broken_at"] < until]


@test
def upgrade_in_place_under_traffic(lab):
    """upgrade: a same-layout build replaces xdp_split under 30 long-lived and new connections (flows kept, 0 broken, 0 failed); another layout is refused, the old program still attached"""
    check(os.path.exists(REBUILD) and os.path.exists(OTHER_LAYOUT),
          "the test builds are missing: run make")
    lab.service(VIP, POOLS)
    held = lab.client_background("hold", "10.77.100.1", 80, HELD, 0, 0.1, until_told=True)
    try:
        lab.ok("switch", VIP, "green")
        more_new_connections(lab, 100)
        old_id = program_id(lab)
        flows_before = [m for m in lab.json("status")["maps"] if m["map"] == "flows"][0]

        started = time.monotonic()
        same = lab.splitctl("-j", "upgrade", "eth0", "object", REBUILD)
        same_ended = time.monotonic()
        check(same.returncode == 0, "same-layout upgrade failed: " +
              (same.stderr + same.stdout)[-500:])
        upgraded = json.loads(same.stdout)
        new_id = program_id(lab)
        check(upgraded["old_program_id"] == old_id and upgraded["program_id"] == new_id,
              "upgrade said %s; attached before %u, now %u" % (upgraded, old_id, new_id))
        check(new_id != old_id, "the program id did not change")
        same_flows = uses_pinned_flows(lab, new_id)
        more_new_connections(lab, 100)

        refused_started = time.monotonic()
        other = lab.splitctl("upgrade", "eth0", "object", OTHER_LAYOUT)
        refused_ended = time.monotonic()
        check(other.returncode == 1, "another layout was not refused (%d): %s"
              % (other.returncode, other.stdout + other.stderr))
        check("'global_stats' max_entries" in other.stderr and
              "nothing was detached" in other.stderr,
              "the refusal does not say why: " + other.stderr)
        check(program_id(lab) == new_id, "the program changed on a refused upgrade")
        # long enough after the last step for every held connection to
        # answer a few more times (one ping round per new connection at most)
        more_new_connections(lab, 60)
        result = lab.finish(held)
        held = None
    finally:
        if held:
            held.kill()
            held.wait()

    flows_after = [m for m in lab.json("status")["maps"] if m["map"] == "flows"][0]
    broken = [h for h in result["held"] if h["broken"]]
    moved = [h for h in result["held"] if h["servers_seen"] != [h["server"]]]
    silent = [h for h in result["held"] if not h["last_at"] or h["last_at"] < refused_ended]
    failed = [n for n in result["new"] if n[1].startswith("error")]
    same_layout = across(result, started, same_ended)
    refused = across(result, refused_started, refused_ended)
    # a break is the upgrade's if it came before the next step began
    for name, figures, began, until in (("same layout", same_layout, started, refused_started),
                                        ("other layout (refused)", refused, refused_started,
                                         float("inf"))):
        print("     %s: took %.0f ms; %d of %d long-lived broken; %d new connections within"
              " 0.5 s of it, %d failed, %d retransmitted a packet, longest gap %.0f ms"
              % (name, figures["took_ms"], len(broken_between(result, began, until)), HELD,
                 figures["connections"], figures["failed"], figures["retransmitted"],
                 figures["gap_ms"]))
    whole = across(result, result["new"][0][0] + 0.5, result["new"][-1][0] - 0.5)
    print("     program id %u -> %u; flow entries %d before, %d after; overall %d of %d long-lived"
          " broken, %d moved; %d of %d new connections failed; longest gap in the whole run"
          " %.0f ms"
          % (old_id, new_id, flows_before["entries"], flows_after["entries"], len(broken), HELD,
             len(moved), len(failed), len(result["new"]), whole["gap_ms"]))
    check(same_flows, "the new program has another flow table than the pinned one")
    check(not broken, "long-lived connections broken: %s" % broken[:3])
    check(not moved, "long-lived connections moved: %s" % moved[:3])
    check(not silent, "long-lived connections silent after the upgrades: %s" % silent[:3])
    check(not failed, "new connections failed: %s" % failed[:3])
    # a moment with no program, or one without the VIPs, drops SYNs: the
    # client sends them again after a second (no loss otherwise on veths)
    check(not same_layout["retransmitted"] and not refused["retransmitted"],
          "new connections lost packets during an upgrade: %s %s" % (same_layout, refused))
    check(not any(h["retransmissions"] for h in result["held"]),
          "long-lived connections lost packets: %s"
          % [h for h in result["held"] if h["retransmissions"]][:3])
    check(flows_after["entries"] >= HELD, "flow entries lost: %s" % flows_after)


@test
def other_layout_attach_and_generic_upgrade(lab):
    """upgrade: attach of another layout says why (not 'try generic'); an upgrade keeps generic mode"""
    subprocess.run(["ip", "-n", lab.ns("lb"), "link", "add", "up0", "type", "veth", "peer",
                    "name", "up1"], check=True)
    try:
        for device in ("up0", "up1"):
            subprocess.run(["ip", "-n", lab.ns("lb"), "link", "set", device, "up"], check=True)
        refused = lab.splitctl("attach", "up0", "object", OTHER_LAYOUT)
        check(refused.returncode == 1 and "'global_stats' max_entries" in refused.stderr and
              "try 'generic'" not in refused.stderr,
              "attach of another layout: %d %s" % (refused.returncode, refused.stderr))
        check(not [i for i in lab.json("status")["interfaces"] if i["interface"] == "up0"],
              "something was attached to up0")
        lab.ok("attach", "up0", "generic")
        before = [i for i in lab.json("status")["interfaces"] if i["interface"] == "up0"][0]
        upgraded = lab.json("upgrade", "up0", "object", REBUILD)
        after = [i for i in lab.json("status")["interfaces"] if i["interface"] == "up0"][0]
        print("     attach of another layout: %s; generic upgrade: program id %u -> %u"
              % (refused.stderr.strip().splitlines()[0][:160], before["program_id"],
                 after["program_id"]))
        check(after["mode"] == "generic" and upgraded["mode"] == "generic",
              "the mode changed: %s %s" % (after, upgraded))
        check(after["program_id"] == upgraded["program_id"] != before["program_id"],
              "program ids: before %s, upgrade said %s, now %s" % (before, upgraded, after))
    finally:
        lab.splitctl("detach", "up0")
        subprocess.run(["ip", "-n", lab.ns("lb"), "link", "del", "up0"], check=False)


UNMAPPED = os.path.join(BUILD, "upgrade/xdp_split_unmapped.bpf.o")


def xdp_program_on(lab, device):
    links = json.loads(subprocess.run(["ip", "-j", "-n", lab.ns("lb"), "link", "show", device],
                                      capture_output=True, text=True, check=True).stdout)
    xdp = links[0].get("xdp", {})
    return xdp.get("prog", {}).get("id") or xdp.get("attached", [{}])[0].get("prog", {}).get("id")


@test
def upgrade_from_unmapped_flow_table_refused(lab):
    """upgrade: pins of the release before the mmapable flow table are refused, naming the table and the way on; the old program still attached"""
    check(os.path.exists(UNMAPPED), "the test build is missing: run make")
    pin_dir = lab.pin_dir + "-unmapped"
    subprocess.run(["ip", "-n", lab.ns("lb"), "link", "add", "up0", "type", "veth", "peer",
                    "name", "up1"], check=True)
    try:
        for device in ("up0", "up1"):
            subprocess.run(["ip", "-n", lab.ns("lb"), "link", "set", device, "up"], check=True)
        attached = lab.splitctl("--pin-dir", pin_dir, "attach", "up0", "object", UNMAPPED)
        check(attached.returncode == 0, "attach of the earlier build: " + attached.stderr)
        before = xdp_program_on(lab, "up0")
        refused = lab.splitctl("--pin-dir", pin_dir, "upgrade", "up0")
        after = xdp_program_on(lab, "up0")
        print("     %s" % refused.stderr.strip().splitlines()[-1][:200])
        check(refused.returncode == 1 and "'flows'" in refused.stderr and
              "not mmapable" in refused.stderr and "nothing was detached" in refused.stderr,
              "upgrade over the unmapped table: %d %s" % (refused.returncode, refused.stderr))
        check(before and after == before, "program %s before, %s after" % (before, after))
    finally:
        lab.splitctl("--pin-dir", pin_dir, "detach", "up0")
        subprocess.run(["ip", "-n", lab.ns("lb"), "link", "del", "up0"], check=False)
        subprocess.run(["rm", "-rf", pin_dir], check=False)
