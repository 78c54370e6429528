# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Real connections through the splitter: split, switch, rollback, overrides,
backend states, both forwarding modes, UDP and IPv6."""
import time

from harness import (BACKENDS, BACKENDS_V6, CLIENT, check, test, wait_for,
                     within_binomial_bound)

VIP = "10.77.100.1:80/tcp"
ALL_POOLS = {"blue": ["blue1", "blue2"], "green": ["green1", "green2"],
             "canary": ["canary1", "canary2"]}


def in_pool(servers, pool):
    return sum(count for name, count in servers.items() if name.startswith(pool))


@test
def split_matches_weights_and_stats(lab):
    """split: 2,000 connections at 90/0/10 within bound, stats agree with servers"""
    lab.service(VIP, ALL_POOLS)
    lab.ok("weights", VIP, "blue", "90", "green", "0", "canary", "10")
    before = lab.backend_new_flows(VIP)
    result = lab.client("connect", "10.77.100.1", 80, 2000)
    after = lab.backend_new_flows(VIP)
    servers = result["servers"]
    canary = in_pool(servers, "canary")
    print("     90/0/10: blue %d, green %d, canary %d of 2000 (%.2f%% canary), %d failed"
          % (in_pool(servers, "blue"), in_pool(servers, "green"), canary,
             canary / 20.0, len(result["errors"])))
    check(not result["errors"], "failed connections: %s" % result["errors"][:3])
    check(in_pool(servers, "green") == 0, "green got connections: %s" % servers)
    check(within_binomial_bound(canary, 2000, 0.10), "canary %d of 2000" % canary)
    for name, address in BACKENDS.items():
        counted = after.get(address, 0) - before.get(address, 0)
        check(counted == servers.get(name, 0),
              "%s: stats say %d new flows, the server saw %d"
              % (name, counted, servers.get(name, 0)))


def switch_under_load(lab, flush):
    lab.service(VIP, ALL_POOLS)
    process = lab.client_background("hold", "10.77.100.1", 80, 20, 4)
    time.sleep(1.0)
    issued = time.monotonic()
    lab.ok("switch", VIP, "green", *(["--flush"] if flush else []))
    switched = time.monotonic()
    result = lab.finish(process)
    new = result["new"]
    failed = [n for n in new if n[1].startswith("error")]
    before = [n for n in new if n[0] < issued]
    after = [n for n in new if n[0] > switched]
    first_green = min((n[0] for n in new if n[1].startswith("green")), default=0)
    print("     switch command %.1f ms; first connection on green started %.1f ms after"
          " the command; %d new connections before, %d after, %d failed"
          % ((switched - issued) * 1000, (first_green - issued) * 1000,
             len(before), len(after), len(failed)))
    check(not failed, "failed new connections: %s" % failed[:3])
    check(before and all(n[1].startswith("blue") for n in before),
          "before the switch not all on blue")
    check(after and all(n[1].startswith("green") for n in after),
          "after the switch not all on green: %s"
          % [n[1] for n in after if not n[1].startswith("green")][:5])
    return result


@test
def switch_keeps_established_flows(lab):
    """switch: blue->green under load, 20 long-lived stay on blue, no failure"""
    result = switch_under_load(lab, flush=False)
    for held in result["held"]:
        check(not held["broken"], "long-lived connection broke: %s" % held["broken"])
        check(held["server"].startswith("blue") and
              held["servers_seen"] == [held["server"]],
              "long-lived connection moved: %s" % held)
        check(held["lines"] >= 20, "too little data on a long-lived connection")


@test
def switch_flush_moves_established_flows(lab):
    """switch --flush: long-lived blue flows move to green"""
    result = switch_under_load(lab, flush=True)
    for held in result["held"]:
        # a green backend has no socket for it and resets it: it moved
        check(held["broken"], "a long-lived flow was not moved: %s" % held)
        flow = lab.json("explain", VIP, "10.77.0.2", str(held["port"]))
        check(flow["existing_flow"]["pool"] == "green",
              "flow %d is on %s" % (held["port"], flow["existing_flow"]))


@test
def rollback_drill(lab):
    """rollback: canary 20% then 0%: no new connection reaches the canary"""
    lab.service(VIP, ALL_POOLS)
    lab.ok("weights", VIP, "blue", "80", "green", "0", "canary", "20")
    during = lab.client("connect", "10.77.100.1", 80, 300)
    lab.ok("weights", VIP, "blue", "100", "green", "0", "canary", "0")
    after = lab.client("connect", "10.77.100.1", 80, 500)
    print("     canary at 20%%: %d of 300; after rollback: %d of 500"
          % (in_pool(during["servers"], "canary"), in_pool(after["servers"], "canary")))
    check(in_pool(during["servers"], "canary") > 0, "the canary took nothing at 20%")
    check(in_pool(after["servers"], "canary") == 0 and not after["errors"],
          "after rollback: %s, errors %s" % (after["servers"], after["errors"][:3]))


@test
def client_override(lab):
    """override: a client prefix pinned to the canary reaches only the canary"""
    lab.service(VIP, ALL_POOLS)
    lab.ok("override", "add", VIP, "10.77.0.0/24", "canary")
    pinned = lab.client("connect", "10.77.100.1", 80, 200)
    lab.ok("override", "del", VIP, "10.77.0.0/24")
    released = lab.client("connect", "10.77.100.1", 80, 200)
    check(in_pool(pinned["servers"], "canary") == 200, "pinned: %s" % pinned["servers"])
    check(in_pool(released["servers"], "blue") == 200, "released: %s" % released["servers"])


@test
def draining_then_down(lab):
    """backends: DRAINING keeps its flows and gets no new ones; DOWN moves them"""
    lab.service(VIP, {"blue": ["blue1", "blue2"]})
    process = lab.client_background("hold", "10.77.100.1", 80, 20, 5)
    time.sleep(0.5)
    lab.ok("backend", "set", VIP, BACKENDS["blue1"], "state", "draining")
    drained = time.monotonic()
    time.sleep(2.0)
    down_issued = time.monotonic()
    lab.ok("backend", "set", VIP, BACKENDS["blue1"], "state", "down")
    result = lab.finish(process)
    new_after = [n for n in result["new"] if n[0] > drained]
    on_blue1 = [h for h in result["held"] if h["server"] == "blue1"]
    print("     %d long-lived on blue1; %d new connections after draining, %d on blue1"
          % (len(on_blue1), len(new_after),
             len([n for n in new_after if n[1] == "blue1"])))
    check(on_blue1, "no long-lived connection landed on blue1")
    check(all(n[1] == "blue2" for n in new_after),
          "new connections reached the draining/down backend or failed")
    for held in result["held"]:
        if held["server"] == "blue1":
            check(held["broken_at"] and held["broken_at"] > down_issued,
                  "a blue1 flow broke while draining, or was not moved when down")
        else:
            check(not held["broken"], "a blue2 flow broke")


@test
def ipip_ipv4_and_ipv6(lab):
    """ipip: IPv4-in-IPv4 and IPv6-in-IPv6 to backends decapsulating with xdp_decap"""
    for vip, address, v6 in (("10.77.100.2:80/tcp", "10.77.100.2", False),
                             ("[fd77:100::2]:80/tcp", "fd77:100::2", True)):
        lab.service(vip, {"blue": ["blue1", "blue2"], "canary": ["canary1"]},
                    mode="ipip", v6=v6)
        lab.ok("weights", vip, "blue", "50", "green", "0", "canary", "50")
        result = lab.client("connect", address, 80, 400)
        canary = in_pool(result["servers"], "canary")
        print("     %s: %s, %d failed" % (vip, result["servers"], len(result["errors"])))
        check(not result["errors"], "failed: %s" % result["errors"][:3])
        check(within_binomial_bound(canary, 400, 0.5), "canary %d of 400" % canary)
        stats = lab.json("stats", vip)
        check(stats["global"]["forward_ipip"] > 0, "nothing counted as ipip")


@test
def udp_and_ipv6_l2dsr(lab):
    """l2dsr: a UDP VIP and an IPv6 TCP VIP"""
    lab.service("10.77.100.3:80/udp", {"blue": ["blue1"], "green": ["green1"]})
    lab.ok("weights", "10.77.100.3:80/udp", "blue", "50", "green", "50", "canary", "0")
    udp = lab.client("udp", "10.77.100.3", 80, 400)
    lab.service("[fd77:100::1]:80/tcp", {"blue": ["blue1", "blue2"]}, v6=True)
    tcp6 = lab.client("connect", "fd77:100::1", 80, 200)
    print("     udp: %s; tcp6: %s" % (udp["servers"], tcp6["servers"]))
    check(not udp["errors"] and not tcp6["errors"],
          "failed: %s %s" % (udp["errors"][:3], tcp6["errors"][:3]))
    check(within_binomial_bound(udp["servers"].get("green1", 0), 400, 0.5),
          "udp split %s" % udp["servers"])
    check(sum(tcp6["servers"].values()) == 200 and
          set(tcp6["servers"]) <= {"blue1", "blue2"}, "tcp6 %s" % tcp6["servers"])


@test
def reattach_keeps_connections(lab):
    """restart: re-running attach on an attached interface loses no connection"""
    lab.service(VIP, ALL_POOLS)
    process = lab.client_background("hold", "10.77.100.1", 80, 20, 3)
    flows_before = [m for m in lab.json("status")["maps"] if m["map"] == "flows"][0]
    result = lab.splitctl("attach", "eth0")
    flows_after = [m for m in lab.json("status")["maps"] if m["map"] == "flows"][0]
    held = lab.finish(process)["held"]
    check(result.returncode == 0 and "unchanged" in result.stdout,
          "attach again: %d %s" % (result.returncode, result.stdout + result.stderr))
    check(flows_after["entries"] >= flows_before["entries"] >= 20,
          "flow table lost entries: %s -> %s" % (flows_before, flows_after))
    check(all(not h["broken"] for h in held), "a connection broke")


def pool_counters(lab, vip):
    """splitctl's per-pool counters of the VIP: {pool: {counter: value}}."""
    stats = lab.json("stats", vip)
    return {p["pool"]: p for v in stats["vips"] for p in v["pools"]}


def counter_changes(before, after, pool):
    return {name: after[pool][name] - before[pool][name]
            for name in ("new_flows", "syn_retransmits", "handshakes")}


@test
def retried_connection_follows_todays_weights(lab):
    """flows: a client's retry (another ISN) on a tuple the canary never answered goes where the weights say now"""
    port, isn = 29999, 0x1000aaaa
    lab.service(VIP, {"blue": ["blue1", "blue2"], "canary": ["canary1", "canary2"]})
    lab.ok("weights", VIP, "blue", "0", "green", "0", "canary", "100")
    # the canary refuses: its kernel resets the SYN straight to the client
    # (direct server return), which ignores the reset; the LB sees no answer
    for name in ("canary1", "canary2"):
        lab.stop_server(name)
    try:
        before = pool_counters(lab, VIP)
        lab.client("syn", "10.77.100.1", 80, port, isn, 2)  # a SYN, its retransmission
        flow = wait_for(lambda: lab.json("explain", VIP, CLIENT, str(port)).get("existing_flow"),
                        5, "the flow of the unanswered SYN")
        refused = pool_counters(lab, VIP)
    finally:
        for name in ("canary1", "canary2"):
            lab.start_server(name)
    # the canary is rolled back; the client's kernel tries again from the
    # same port, with an initial sequence number of its own
    lab.ok("weights", VIP, "blue", "100", "green", "0", "canary", "0")
    answer = lab.client("connect_from", "10.77.100.1", 80, port)["answers"][0][1]
    after = pool_counters(lab, VIP)
    retry = lab.json("explain", VIP, CLIENT, str(port)).get("existing_flow", {})
    print("     unanswered SYN (ISN %#x, sent twice) at canary 100%%: flow on %s (%s, %s);"
          " canary counters %s" % (isn, flow["pool"], flow["state"], flow["table"],
                                   counter_changes(before, refused, "canary")))
    print("     retry from port %d at canary 0%%: served by %s; flow now %s (%s);"
          " blue %s, canary %s" % (port, answer, retry.get("pool"), retry.get("state"),
                                   counter_changes(refused, after, "blue"),
                                   counter_changes(refused, after, "canary")))
    check(flow["pool"] == "canary" and flow["state"] == "syn-seen",
          "the unanswered SYN's flow: %s" % flow)
    check(counter_changes(before, refused, "canary") ==
          {"new_flows": 1, "syn_retransmits": 1, "handshakes": 0},
          "canary counters for the SYN and its retransmission: %s"
          % counter_changes(before, refused, "canary"))
    check(answer.startswith("blue"), "the retried connection was served by %s" % answer)
    check(counter_changes(refused, after, "blue") ==
          {"new_flows": 1, "syn_retransmits": 0, "handshakes": 1} and
          counter_changes(refused, after, "canary") ==
          {"new_flows": 0, "syn_retransmits": 0, "handshakes": 0},
          "pool counters for the retry: blue %s, canary %s"
          % (counter_changes(refused, after, "blue"),
             counter_changes(refused, after, "canary")))
