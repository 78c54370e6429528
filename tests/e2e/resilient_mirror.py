#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Test harness only, not part of xdpsplit: gives the fleet router's ECMP
resilient nexthop groups, which BIRD 2.0.12 cannot install (it writes
legacy RTA_MULTIPATH routes only).

Runs in the router's namespace. BIRD exports its routes into table SOURCE
(fleet_net.py, resilient=True); this mirrors each of them into the main
table as `DST nhid G`, G a resilient group (BUCKETS buckets, idle timer 0)
of one nexthop object per gateway, and follows every change `ip monitor`
reports: a next hop that goes or comes moves only the buckets it must.

    resilient_mirror.py SOURCE_TABLE BUCKETS
"""
import json
import subprocess
import sys


def ip(*arguments):
    return subprocess.run(["ip"] + list(arguments), capture_output=True, text=True)


class Mirror:
    def __init__(self, table, buckets):
        self.table, self.buckets = table, buckets
        self.hop_ids = {}  # (gateway, device) -> nexthop id
        self.groups = {}   # destination -> [group id, member ids]
        self.next_id = 1

    def hop(self, gateway, device):
        key = (gateway, device)
        if key not in self.hop_ids:
            self.hop_ids[key] = self.next_id
            self.next_id += 1
            ip("nexthop", "replace", "id", str(self.hop_ids[key]), "via", gateway, "dev", device)
        return self.hop_ids[key]

    def desired(self):
        routes = {}
        for family in ("-4", "-6"):
            listing = ip("-j", family, "route", "show", "table", self.table)
            # a table nothing was put in yet does not exist: no routes
            for route in json.loads(listing.stdout) if listing.returncode == 0 else []:
                hops = route.get("nexthops") or [route]
                members = sorted(self.hop(h["gateway"], h["dev"]) for h in hops if h.get("gateway"))
                if members:
                    routes[route["dst"]] = members
        return routes

    def sync(self):
        wanted = self.desired()
        for destination, members in wanted.items():
            group = "/".join(str(m) for m in members)
            if destination not in self.groups:
                identifier = self.next_id
                self.next_id += 1
                ip("nexthop", "add", "id", str(identifier), "group", group, "type", "resilient",
                   "buckets", str(self.buckets), "idle_timer", "0")
                ip("route", "replace", destination, "nhid", str(identifier))
                self.groups[destination] = [identifier, members]
            elif self.groups[destination][1] != members:
                identifier = self.groups[destination][0]
                ip("nexthop", "replace", "id", str(identifier), "group", group, "type",
                   "resilient", "buckets", str(self.buckets), "idle_timer", "0")
                self.groups[destination][1] = members
        for destination in [d for d in self.groups if d not in wanted]:
            identifier = self.groups.pop(destination)[0]
            ip("route", "del", destination, "nhid", str(identifier))
            ip("nexthop", "del", "id", str(identifier))


def main():
    mirror = Mirror(sys.argv[1], int(sys.argv[2]))
    monitor = subprocess.Popen(["ip", "monitor", "route"], stdout=subprocess.PIPE, text=True)
    mirror.sync()
    print("ready", flush=True)
    marker = "table %s " % sys.argv[1]
    for line in monitor.stdout:
        if marker in line:
            mirror.sync()


if __name__ == "__main__":
    main()
