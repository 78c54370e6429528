# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The maps as bpftool shows them: every enumerated field of a key or value
by its enumerator's name, the Maglev tables typed, and the pins of the
release before the enums (plain bytes) reused by an upgrade, since the
layout is the same. The fields come from maps/contract.h itself (each
XS_ENUM_FIELD), so a new one that no dump shows fails here."""
import json
import os
import re
import subprocess

from harness import BACKENDS, BUILD, ROOT, check, test

VIP = "10.77.100.1:80/tcp"
BYTEFIELDS = os.path.join(BUILD, "upgrade/xdp_split_bytefields.bpf.o")

# the structs each dumped map holds (keys and values, a flow bucket's slots)
MAP_STRUCTS = {
    "vips": ("xs_vip_key", "xs_vip"),
    "routes": ("xs_route",),
    "backends": ("xs_backend",),
    "overrides": ("xs_override",),
    "flows": ("xs_flow_key", "xs_flow"),
}
# where a struct sits in a map's formatted entry: key, value, or a
# bucket's slots' key or flow
PLACES = {
    "xs_vip_key": lambda e: [e["key"]],
    "xs_vip": lambda e: [e["value"]],
    "xs_route": lambda e: [e["value"]],
    "xs_backend": lambda e: [e["value"]],
    "xs_override": lambda e: [e["value"]],
    "xs_flow_key": lambda e: [s["key"] for s in e["value"]["slot"]],
    "xs_flow": lambda e: [s["flow"] for s in e["value"]["slot"]],
}


def contract():
    """(enums: name -> enumerator names, fields: [(struct, field, enum)])
    from maps/contract.h."""
    with open(os.path.join(ROOT, "maps/contract.h")) as header:
        text = header.read()
    enums = {name: re.findall(r"^\s*(XS_\w+)\s*=", body, re.M)
             for name, body in re.findall(
                 r"enum __attribute__\(\(packed\)\) (\w+) \{(.*?)\};", text, re.S)}
    fields = []
    for struct, body in re.findall(r"^struct (\w+) \{(.*?)^\}", text, re.S | re.M):
        for enum, field in re.findall(r"XS_ENUM_FIELD\((\w+)\) (\w+);", body):
            fields.append((struct, field, enum))
    return enums, fields


def bpftool_json(*args):
    result = subprocess.run(["bpftool", "-j"] + list(args), capture_output=True, text=True,
                            timeout=60)
    check(result.returncode == 0, "bpftool %s: %s" % (" ".join(args), result.stderr))
    return json.loads(result.stdout)


def formatted(pin):
    return [e["formatted"] for e in bpftool_json("map", "dump", "pinned", pin)
            if "formatted" in e]


def enum_names_everywhere(lab, pin_dir):
    """Each enumerated field's values in the dumps: {(struct, field): set}."""
    enums, fields = contract()
    seen = {}
    for name, structs in MAP_STRUCTS.items():
        if name == "flows":
            entries = flow_entries(os.path.join(pin_dir, name))
        else:
            entries = formatted(os.path.join(pin_dir, name))
        for entry in entries:
            for struct in structs:
                for place in PLACES[struct](entry):
                    for s, field, enum in fields:
                        if s == struct:
                            seen.setdefault((struct, field), set()).add(place[field])
    return enums, fields, seen


def flow_entries(pin):
    """Buckets of the flow table holding a way, without reading the whole
    dump into memory: bpftool's output is streamed and cut at the first
    few used buckets (their tags are nonzero)."""
    process = subprocess.Popen(["bpftool", "map", "dump", "pinned", pin],
                               stdout=subprocess.PIPE, text=True)
    found, current = [], None
    try:
        # each bucket is "[{" or "    },{" ... up to the next such line
        for line in process.stdout:
            end = line.rstrip("\n") in ("    },{", "    }", "]")
            if end and current:
                entry = json.loads("".join(current) + "}")
                if any(entry["value"]["tag"]):
                    found.append(entry)
                    if len(found) >= 4:
                        break
                current = None
            if line.rstrip("\n") in ("[{", "    },{"):
                current = ["{"]
            elif current is not None:
                current.append(line)
    finally:
        process.kill()
        process.wait()
    return found


def maglev_tables(pin_dir):
    """Each inner map of the maglev array: (its bpftool show, its dump)."""
    tables = []
    for entry in bpftool_json("map", "dump", "pinned", os.path.join(pin_dir, "maglev")):
        value = entry.get("value")
        inner = (entry.get("inner_map_id") if isinstance(value, (str, type(None))) else
                 int.from_bytes(bytes(int(b, 16) for b in value), "little"))
        tables.append((bpftool_json("map", "show", "id", str(inner)),
                       bpftool_json("map", "dump", "id", str(inner))))
    return tables


def pinned_map_ids(pin_dir):
    return {name: bpftool_json("map", "show", "pinned", os.path.join(pin_dir, name))["id"]
            for name in sorted(os.listdir(pin_dir))}


@test
def bpftool_names_enumerated_fields(lab):
    """btf: bpftool dumps every enumerated field of every map by name, and the Maglev tables typed"""
    lab.service(VIP, {"blue": ["blue1", "blue2"], "canary": ["canary1"]})
    lab.ok("backend", "set", VIP, BACKENDS["blue2"], "state", "draining")
    lab.ok("override", "add", VIP, "10.77.0.2/32", "canary")
    lab.client("connect", "10.77.100.1", 80, 5)
    enums, fields, seen = enum_names_everywhere(lab, lab.pin_dir)
    check(len(fields) >= 13, "contract.h lists %d enumerated fields" % len(fields))
    for struct, field, enum in fields:
        values = seen.get((struct, field))
        check(values, "%s.%s (enum %s): in no dump" % (struct, field, enum))
        named = {v for v in values if isinstance(v, str)}
        check(named and named <= set(enums[enum]),
              "%s.%s: dumped as %s, not enum %s's names" % (struct, field, sorted(
                  map(str, values)), enum))
    backends = {e["value"]["state"] for e in formatted(os.path.join(lab.pin_dir, "backends"))}
    check({"XS_BACKEND_UP", "XS_BACKEND_DRAINING"} <= backends, "states: %s" % backends)
    print("     %d enumerated fields, each by name; backend states seen: %s"
          % (len(fields), ", ".join(sorted(backends))))

    tables = maglev_tables(lab.pin_dir)
    check(len(tables) == 2, "%d Maglev tables, want blue and canary" % len(tables))
    ids = {b["formatted"]["key"]: b["formatted"]["value"]
           for b in bpftool_json("map", "dump", "pinned", os.path.join(lab.pin_dir, "backends"))}
    for shown, dump in tables:
        check(shown.get("btf_id"), "a Maglev table without BTF: %s" % shown)
        values = [e.get("formatted", {}).get("value") for e in dump]
        check(all(isinstance(v, dict) and set(v) == {"backend_id"} for v in values),
              "Maglev entries not typed: %s" % values[:3])
        used = {v["backend_id"] for v in values}
        check(all(ids[i]["state"] == "XS_BACKEND_UP" for i in used),
              "a table holds a backend not UP: %s" % sorted(used))
    print("     %d Maglev tables, BTF %s, entries {backend_id}"
          % (len(tables), sorted({t[0]["btf_id"] for t in tables})))


@test
def upgrade_from_byte_fields(lab):
    """btf: pins of the release before the enums (plain bytes) are reused by an upgrade and dump by name once re-created"""
    check(os.path.exists(BYTEFIELDS), "the test build is missing: run make")
    pin_dir = lab.pin_dir + "-bytes"
    subprocess.run(["ip", "-n", lab.ns("lb"), "link", "add", "up0", "type", "veth", "peer",
                    "name", "up1"], check=True)

    def ctl(*args):
        return lab.splitctl("--pin-dir", pin_dir, *args)

    try:
        for device in ("up0", "up1"):
            subprocess.run(["ip", "-n", lab.ns("lb"), "link", "set", device, "up"], check=True)
        attached = ctl("attach", "up0", "object", BYTEFIELDS, "flows", "64")
        check(attached.returncode == 0, "attach of the earlier build: " + attached.stderr)
        check(ctl("vip", "add", VIP).returncode == 0, "vip add")
        check(ctl("backend", "add", VIP, "blue", BACKENDS["blue1"]).returncode == 0,
              "backend add")
        before = formatted(os.path.join(pin_dir, "backends"))[1]["value"]
        check(before["state"] == 1 and before["pool"] == 0,
              "the earlier build's pins dump by name already: %s" % before)
        map_ids = pinned_map_ids(pin_dir)
        upgraded = ctl("-j", "upgrade", "up0")
        check(upgraded.returncode == 0, "upgrade over the byte fields refused: " +
              upgraded.stderr)
        after_ids = pinned_map_ids(pin_dir)
        check(after_ids == map_ids, "the upgrade replaced maps: %s -> %s"
              % (map_ids, after_ids))
        kept = formatted(os.path.join(pin_dir, "backends"))[1]["value"]
        check(kept["state"] == 1 and kept["address"] == before["address"],
              "the pinned entry changed: %s" % kept)
        # the program's BTF is the pins' (numbers); new Maglev tables are
        # typed all the same, from the earlier object's template
        check(ctl("backend", "add", VIP, "blue", BACKENDS["blue2"]).returncode == 0,
              "backend add after the upgrade")
        tables = maglev_tables(pin_dir)
        check(tables and all(t[0].get("btf_id") for t in tables),
              "Maglev tables after the upgrade: %s" % [t[0] for t in tables])
        print("     upgrade over the byte-field pins: %s; backends still dump as %s"
              % (json.loads(upgraded.stdout).get("program_id"), {
                  k: kept[k] for k in ("state", "pool")}))
        # and back: the byte-field build over pins it did not make
        ctl("detach", "up0")
        subprocess.run(["rm", "-rf", pin_dir], check=False)
        check(ctl("attach", "up0", "flows", "64").returncode == 0, "attach of this build")
        renewed = formatted(os.path.join(pin_dir, "backends"))[0]["value"]
        check(renewed["state"] == "XS_BACKEND_ABSENT",
              "re-created pins dump the state as %r" % renewed["state"])
        back = ctl("upgrade", "up0", "object", BYTEFIELDS)
        check(back.returncode == 0, "the byte-field build refused this build's pins: " +
              back.stderr)
    finally:
        ctl("detach", "up0")
        subprocess.run(["ip", "-n", lab.ns("lb"), "link", "del", "up0"], check=False)
        subprocess.run(["rm", "-rf", pin_dir], check=False)
