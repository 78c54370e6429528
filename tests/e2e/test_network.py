# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The network under the LB changing: its interface going down and up, and a
backend's whole host (namespace) deleted mid-connection and built again.
(A backend's MAC changing is in test_splitd.)"""
import os
import subprocess
import time

from fixtures import backends, probe, splitd_config, vip
from harness import BUILD, ROOT, check, test, wait_for

VIP = "10.77.100.1:80/tcp"

PROBED = splitd_config("500ms", [vip(VIP, backends("blue1", "blue2"), probe=probe())])


def backend(lab, address):
    return [b for b in lab.json("backend", "list", VIP) if b["backend"] == address][0]


def attached_program(lab):
    return [i for i in lab.json("status")["interfaces"] if i["interface"] == "eth0"]


@test
def interface_down_and_up(lab):
    """network: the LB's interface down for a second and up: the program stays, connections live on"""
    lab.service(VIP, {"blue": ["blue1", "blue2"]})
    program = attached_program(lab)
    held = lab.client_background("hold", "10.77.100.1", 80, 10, 5)
    time.sleep(1.0)
    subprocess.run(["ip", "-n", lab.ns("lb"), "link", "set", "eth0", "down"], check=True)
    time.sleep(1.0)
    subprocess.run(["ip", "-n", lab.ns("lb"), "link", "set", "eth0", "up"], check=True)
    came_up = time.monotonic()
    result = lab.finish(held)
    after = lab.client("connect", "10.77.100.1", 80, 200)
    # connections opened during the outage may time out; none after it
    late_failures = [n for n in result["new"] if n[0] > came_up + 1.0 and
                     n[1].startswith("error")]
    print("     1 s down: %d of 10 long-lived connections broken; %d new connections"
          " failed after it was up a second; then 200 connections: %s, %d failed"
          % (sum(1 for h in result["held"] if h["broken"]), len(late_failures),
             after["servers"], len(after["errors"])))
    check(attached_program(lab) == program, "the program changed: %s" % attached_program(lab))
    check(all(not h["broken"] and h["servers_seen"] == [h["server"]] for h in result["held"]),
          "a long-lived connection broke or moved: %s" % result["held"])
    check(not late_failures, "failures after the interface came back: %s" % late_failures[:3])
    check(not after["errors"], "after: %s" % after["errors"][:3])


@test
def backend_host_deleted_mid_connection(lab):
    """network: a backend's namespace deleted mid-connection: its own connections end, the others live, probes take it out and back in once rebuilt"""
    lab.start_splitd(PROBED)
    held = lab.client_background("hold", "10.77.100.1", 80, 20, 6)
    time.sleep(0.5)
    lab.servers.pop("blue1").kill()
    deleted = time.monotonic()
    subprocess.run(["ip", "netns", "del", lab.ns("blue1")], check=True)
    wait_for(lambda: backend(lab, "10.77.0.11")["state"] == "down", 5, "blue1 DOWN")
    down_at = time.monotonic()
    while_down = lab.client("connect", "10.77.100.1", 80, 200)
    old_mac = backend(lab, "10.77.0.11")["mac"]
    # the host comes back (a new veth, so a new MAC): the neighbour watcher
    # and the probes bring it back with no operator
    subprocess.run([os.path.join(ROOT, "scripts/topology.sh"), "backend", lab.prefix,
                    BUILD, "blue1"], check=True)
    lab.start_server("blue1")
    rebuilt = time.monotonic()
    wait_for(lambda: backend(lab, "10.77.0.11")["state"] == "up", 30, "blue1 UP again")
    up_at = time.monotonic()
    back = lab.client("connect", "10.77.100.1", 80, 200)
    result = lab.finish(held)
    on_blue1 = [h for h in result["held"] if h["server"] == "blue1"]
    on_blue2 = [h for h in result["held"] if h["server"] == "blue2"]
    print("     DOWN %.0f ms after the delete; %d of %d long-lived on blue1 ended, %d of %d on"
          " blue2 broke; while down %s; rebuilt: MAC %s -> %s, UP %.0f ms later, then %s"
          % ((down_at - deleted) * 1000, sum(1 for h in on_blue1 if h["broken"]),
             len(on_blue1), sum(1 for h in on_blue2 if h["broken"]), len(on_blue2),
             while_down["servers"], old_mac, backend(lab, "10.77.0.11")["mac"],
             (up_at - rebuilt) * 1000, back["servers"]))
    check(not any(h["broken"] for h in on_blue2), "a connection to blue2 broke")
    check(while_down["servers"] == {"blue2": 200} and not while_down["errors"],
          "while blue1 was gone: %s %s" % (while_down["servers"], while_down["errors"][:2]))
    check(backend(lab, "10.77.0.11")["mac"] != old_mac, "the new MAC was not followed")
    check(back["servers"].get("blue1", 0) > 0 and not back["errors"],
          "after the rebuild: %s %s" % (back["servers"], back["errors"][:2]))
