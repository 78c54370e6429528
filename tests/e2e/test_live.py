# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""The live views on a real terminal: splitctl rollout status --watch and
stats --watch run in a tmux pane (a tmux server of their own), read back
with capture-pane. They must redraw in place (the pane's scrollback stays
empty), follow the rollout step by step with the data plane's weights, show
the promote command at a gate, end with the rollout's outcome as their exit
code, restore the cursor on C-c, and print plain lines when piped."""
import json
import os
import re
import select
import signal
import subprocess
import time

from fixtures import (ALL_BACKENDS, GATE, SWITCH, backends, bake, canary, handshake_rule,
                      p99_rule, pause, policy, splitd_config, start_canary, stop_canary, vip)
from harness import BUILD, PYTHON, ROOT, Failure, check, test, wait_for

VIP = "10.77.100.1:80/tcp"
ROWS, COLUMNS = 40, 120

CONFIG = splitd_config("200ms", [vip(VIP, backends(*ALL_BACKENDS), rollout="%(policy)s")], [
    policy("stepped", "500ms",
           [canary(20), pause("2s"), canary(50), pause("2s"), GATE, canary(0), SWITCH,
            bake("1s")],
           analysis=[handshake_rule(0.9, 2, 3), p99_rule(0.5, 2, 3)]),
    policy("fragile", "500ms", [canary(50), pause("60s")],
           analysis=[handshake_rule(0.9, 3, 2)]),
    policy("long", "200ms", [canary(20), pause("120s")])])

ESCAPE = "\x1b"


class Pane:
    """One tmux server of our own (-L), one pane of ROWS x COLUMNS with a
    shell running a command in the LB's namespace, as an operator would;
    the shell prints the command's exit status and stays, so the last
    screen and the terminal's state (the cursor) can be read after it."""

    def __init__(self, lab, *args):
        self.lab = lab
        self.socket = "xdpsplit-live-%d" % os.getpid()
        conf = os.path.join(lab.state_dir, "tmux.conf")
        os.makedirs(lab.state_dir, exist_ok=True)
        with open(conf, "w") as f:
            f.write("set -g history-limit 5000\nset -g status off\n")
        command = " ".join(["nsenter", "--net=/run/netns/" + lab.ns("lb"),
                            os.path.join(BUILD, "splitctl")] + list(args))
        self.tmux("-f", conf, "new-session", "-d", "-s", "live", "-x", str(COLUMNS),
                  "-y", str(ROWS), "bash -c '%s; echo splitctl-exit=$?; exec sleep 600'"
                  % command)
        self.socket_path = self.value("socket_path")

    def tmux(self, *args):
        result = subprocess.run(["tmux", "-L", self.socket] + list(args),
                                capture_output=True, text=True, timeout=10,
                                env=self.lab.environment())
        check(result.returncode == 0, "tmux %s: %s" % (args[0], result.stderr))
        return result.stdout

    def screen(self, joined=False):
        """The visible rows; joined: rows the terminal wrapped as one line."""
        return self.tmux("capture-pane", "-p", "-t", "live", *(["-J"] if joined else []))

    def value(self, name):
        return self.tmux("display-message", "-p", "-t", "live", "#{%s}" % name).strip()

    def history(self):
        return int(self.value("history_size"))

    def status(self):
        """The command's exit status once it has ended, else None."""
        match = re.search(r"^splitctl-exit=(\d+)$", self.screen(), re.M)
        return int(match.group(1)) if match else None

    def dead(self):
        return self.status() is not None

    def close(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"],
                       capture_output=True, timeout=10)
        try:  # the server leaves its socket behind
            os.unlink(self.socket_path)
        except OSError:
            pass


def traffic(lab, rate=60):
    """New connections to the VIP at rate per second, until killed."""
    return subprocess.Popen(
        ["ip", "netns", "exec", lab.ns("client"), PYTHON,
         os.path.join(ROOT, "tests/e2e/client.py"), "steady", "10.77.100.1", "80", str(rate)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(process):
    process.kill()
    process.wait()


def shown_step(screen):
    match = re.search(r"step (\d+)/(\d+)", screen)
    return int(match.group(1)) if match else None


def shown_weights(screen):
    match = re.search(r"weights +blue +([\d.]+)% +green +([\d.]+)% +canary +([\d.]+)%", screen)
    return tuple(float(w) for w in match.groups()) if match else None


def map_weights(lab):
    shown = lab.json("vip", "show", VIP)
    return (float(shown["blue"]), float(shown["green"]), float(shown["canary"]))


def save(name, screen):
    """XDPSPLIT_LIVE_CAPTURES=DIR keeps the screens (for the README)."""
    directory = os.environ.get("XDPSPLIT_LIVE_CAPTURES")
    if directory:
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, name), "w") as f:
            f.write("\n".join(line.rstrip() for line in screen.rstrip().splitlines()) + "\n")


def check_in_place(pane, screen, what):
    """Redrawn, not scrolled: nothing went into the scrollback, the frame
    starts on the first row and fits the pane."""
    lines = screen.rstrip("\n").split("\n")
    check(pane.history() == 0, "%s: %d lines scrolled into the history (the view "
          "printed instead of redrawing)" % (what, pane.history()))
    check(lines[0].startswith("rollout  " + VIP), "%s: first row is %r" % (what, lines[0]))
    check(len(lines) <= ROWS and all(len(line) < COLUMNS for line in lines),
          "%s: %d lines, widest %d" % (what, len(lines), max(map(len, lines))))


def cut_to_width(screen, columns):
    """Each line of the frame cut to the width, not wrapped by the terminal:
    the progress line (wider than 70) is followed by the steps line."""
    rows = [row.rstrip() for row in screen.splitlines()]
    progress = [i for i, row in enumerate(rows) if row.startswith("progress [")]
    return (rows and rows[0].startswith("rollout  " + VIP) and progress and
            rows[progress[0] + 1] == "steps" and all(len(row) < columns for row in rows))


@test
def live_rollout_watch_follows_a_rollout(lab):
    """live: rollout status --watch redraws in place, follows the steps and weights, shows the promote command at the gate and exits 0 on success"""
    lab.start_splitd(CONFIG % {"policy": "stepped"})
    load = traffic(lab)
    pane = None
    try:
        lab.ok("rollout", "start", VIP)
        pane = Pane(lab, "rollout", "status", VIP, "--watch", "0.2")
        steps, frames, mid = [], 0, None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            screen = pane.screen()
            step = shown_step(screen)
            if step is None:
                time.sleep(0.05)
                continue
            frames += 1
            check_in_place(pane, screen, "step %d" % step)
            if not steps or steps[-1] != step:
                check(not steps or step > steps[-1], "step went back: %s then %d" % (steps, step))
                steps.append(step)
            if step in (2, 4) and "  ok  (" in screen:
                mid = mid or screen  # a pause, with traffic and a verdict
            if "waiting at gate" in screen:
                break
            time.sleep(0.1)
        check("waiting at gate" in screen, "never at the gate; saw steps %s:\n%s" % (steps, screen))
        check(len(steps) >= 3, "the step shown did not advance: %s" % steps)
        command = "splitctl rollout promote " + VIP
        check(command in screen, "the gate does not say how to open it:\n" + screen)
        check(shown_weights(screen) == map_weights(lab) == (50.0, 0.0, 50.0),
              "at the gate the screen shows %s, the map %s" % (shown_weights(screen), map_weights(lab)))
        check(mid, "no frame with a rule's verdict during the pauses")
        save("rollout-mid.txt", mid)
        save("rollout-gate.txt", screen)
        lab.ok("rollout", "promote", VIP)
        wait_for(pane.dead, 15, "the watch to end after the promote")
        final = pane.screen()
        check_in_place(pane, final, "the end")
        check("state    succeeded" in final, "final screen:\n" + final)
        check(shown_weights(final) == map_weights(lab) == (0.0, 100.0, 0.0),
              "final weights %s, map %s" % (shown_weights(final), map_weights(lab)))
        check(pane.status() == 0, "exit status %d after success" % pane.status())
        print("     %d frames read, steps shown %s, history 0; gate -> promote -> succeeded, exit 0"
              % (frames, steps))
    finally:
        stop(load)
        if pane:
            pane.close()


@test
def live_rollout_watch_exits_1_on_abort_and_restores_the_cursor(lab):
    """live: rollout status --watch follows a resize, a pause and a splitd restart, exits 1 when the rollout is aborted, and C-c restores the cursor (exit 130)"""
    lab.start_splitd(CONFIG % {"policy": "long"})
    lab.ok("rollout", "start", VIP)
    pane = Pane(lab, "rollout", "status", VIP, "--watch", "0.2")
    try:
        wait_for(lambda: "next step in" in pane.screen(), 10, "the first frame")
        check(pane.value("cursor_flag") == "0", "the cursor is not hidden while drawing")
        # a narrower terminal (SIGWINCH): the frame is cut to its width.
        # tmux's own reflow of the old frame may push a few lines into the
        # history once; the redraws after it add none
        pane.tmux("resize-window", "-t", "live", "-x", "70")
        wait_for(lambda: cut_to_width(pane.screen(), 70), 5, "a frame 70 columns wide")
        reflowed, first_row = pane.history(), pane.screen().splitlines()[0]
        wait_for(lambda: pane.screen().splitlines()[0] != first_row, 5,
                 "the next second's frame")
        check(pane.history() == reflowed and pane.screen().startswith("rollout  " + VIP),
              "after the resize the history went from %d to %d lines"
              % (reflowed, pane.history()))
        # paused: the command that goes on; splitd away: said, then back
        lab.ok("rollout", "pause", VIP)
        wait_for(lambda: "splitctl rollout resume " + VIP in pane.screen(), 5,
                 "the resume command")
        lab.stop_splitd()
        wait_for(lambda: "Couldn't reach splitd" in pane.screen(), 5,
                 "the view to say splitd is gone")
        check(not pane.dead(), "the view ended when splitd stopped")
        lab.start_splitd(CONFIG % {"policy": "long"})
        wait_for(lambda: "state    paused" in pane.screen(), 5,
                 "the view to come back with splitd")
        check(pane.history() == reflowed, "history %d" % pane.history())
        lab.ok("rollout", "abort", VIP)
        wait_for(pane.dead, 10, "the watch to end after the abort")
        check("state    aborted: aborted by an operator" in pane.screen(),
              "final screen:\n" + pane.screen())
        check(pane.status() == 1, "exit status %d after an abort" % pane.status())
        check(pane.value("cursor_flag") == "1", "the cursor stayed hidden after the end")
    finally:
        pane.close()
    lab.ok("rollout", "start", VIP)
    pane = Pane(lab, "rollout", "status", VIP, "--watch", "0.2")
    try:
        wait_for(lambda: "next step in" in pane.screen(), 10, "the first frame")
        # stopped (C-z), the terminal is the shell's; continued, the view's
        shell = int(pane.value("pane_pid"))
        with open("/proc/%d/task/%d/children" % (shell, shell)) as f:
            watcher = int(f.read().split()[0])
        os.kill(watcher, signal.SIGTSTP)
        wait_for(lambda: pane.value("cursor_flag") == "1", 5, "the cursor while stopped")
        os.kill(watcher, signal.SIGCONT)
        wait_for(lambda: pane.value("cursor_flag") == "0", 5, "the cursor hidden again")
        pane.tmux("send-keys", "-t", "live", "C-c")
        wait_for(pane.dead, 5, "C-c to end the watch")
        check(pane.value("cursor_flag") == "1", "C-c left the cursor hidden")
        check(pane.status() == 130, "exit status %d after C-c" % pane.status())
        check(pane.history() == 0, "history %d" % pane.history())
    finally:
        pane.close()


@test
def live_rollout_watch_shows_a_failing_rule(lab):
    """live: a canary that stops answering: the view shows its rule failing against the bound, the rollback, and exits 1"""
    lab.start_splitd(CONFIG % {"policy": "fragile"})
    load = traffic(lab)
    pane = None
    try:
        lab.ok("rollout", "start", VIP)
        pane = Pane(lab, "rollout", "status", VIP, "--watch", "0.2")
        try:
            wait_for(lambda: re.search(r"canary-handshakes .* >= 90.0%  ok", pane.screen()),
                     10, "the rule judged ok")
        except Failure as failure:
            raise Failure("%s:\n%s" % (failure, pane.screen()))
        stop_canary(lab)
        wait_for(pane.dead, 15, "the rollback to end the watch")
        final, status = pane.screen(), pane.status()
        check_in_place(pane, final, "the rollback")
    finally:
        stop(load)
        start_canary(lab)
        if pane:
            pane.close()
    check(re.search(r"canary-handshakes +handshake_ratio canary +[\d.]+% < 90.0%  FAILING 2/2",
                    final), "the failing rule is not shown against its bound:\n" + final)
    check("state    rolled-back: canary-handshakes" in final, "final screen:\n" + final)
    check(shown_weights(final) == map_weights(lab) == (100.0, 0.0, 0.0),
          "after the rollback the screen shows %s, the map %s"
          % (shown_weights(final), map_weights(lab)))
    check(status == 1, "exit status %d after a rollback" % status)
    print("     " + [line for line in final.splitlines() if "FAILING" in line][0].strip())


@test
def live_rollout_watch_piped_is_plain(lab):
    """live: rollout status --watch piped prints plain blocks on each change (no escape codes), -j one JSON object a line"""
    lab.start_splitd(CONFIG % {"policy": "stepped"})
    lab.ok("rollout", "start", VIP)
    for args, message in ((["--watch", "0"], "0.1 to 3600 seconds"),
                          (["--watch", "soon"], "0.1 to 3600 seconds"),
                          (["--watch", "1", "2"], "unexpected '2'")):
        result = lab.splitctl("rollout", "status", VIP, *args)
        check(result.returncode == 2 and message in result.stderr,
              "%s: %d %s" % (args, result.returncode, result.stderr))
    result = lab.splitctl("rollout", "status", "--watch")
    check(result.returncode == 2 and "watches one rollout" in result.stderr, result.stderr)
    env, started = lab.environment(), time.monotonic()
    command = ["nsenter", "--net=/run/netns/" + lab.ns("lb"), os.path.join(BUILD, "splitctl")]
    plain = subprocess.Popen(command + ["rollout", "status", VIP, "--watch", "0.2"],
                             stdout=subprocess.PIPE, env=env)
    lines = subprocess.Popen(command + ["-j", "rollout", "status", VIP, "--watch", "0.2"],
                             stdout=subprocess.PIPE, text=True, env=env)
    try:
        # promoted once the piped view has shown the gate
        out = ""
        deadline = time.monotonic() + 15
        while "splitctl rollout promote" not in out and time.monotonic() < deadline:
            if select.select([plain.stdout], [], [], 0.5)[0]:
                out += os.read(plain.stdout.fileno(), 65536).decode()
        # and without --watch
        once = lab.ok("rollout", "status", VIP)
        lab.ok("rollout", "promote", VIP)
        rest, _ = plain.communicate(timeout=20)
        out += rest.decode()
        json_out, _ = lines.communicate(timeout=20)
    finally:
        for process in (plain, lines):
            if process.poll() is None:
                stop(process)
    took = time.monotonic() - started
    blocks = out.strip("\n").split("\n\n")
    objects = [json.loads(line) for line in json_out.splitlines()]
    print("     piped: %d blocks in %.1f s at 0.2 s; -j: %d lines" %
          (len(blocks), took, len(objects)))
    check(ESCAPE not in out, "escape codes in piped output: %r" % out[:200])
    check(plain.returncode == 0 and lines.returncode == 0,
          "exit %d / %d" % (plain.returncode, lines.returncode))
    check("splitctl rollout promote " + VIP in out, "no promote command in the piped output")
    check("waiting for promote: splitctl rollout promote " + VIP in once,
          "rollout status at the gate does not say how to open it:\n" + once)
    check(all(b.startswith("rollout  " + VIP) for b in blocks), "a block is not a frame")
    # one per change (start, steps, gate, end), not one per 0.2 s
    check(4 <= len(blocks) <= took / 0.2 / 2, "%d blocks in %.1f s" % (len(blocks), took))
    check(objects[-1]["phase"] == "succeeded" and
          all("connections_per_second" in o for o in objects) and len(objects) > 20,
          "json lines: %d, last %s" % (len(objects), objects[-1].get("phase")))


@test
def live_stats_watch_redraws_in_place(lab):
    """live: stats --watch redraws in place on a terminal (history stays empty), plain when piped"""
    lab.start_splitd(CONFIG % {"policy": "stepped"})
    load = traffic(lab)
    pane = Pane(lab, "stats", VIP, "--watch", "1", "--count", "4")
    try:
        seen = set()

        def finished():
            screen = pane.screen()
            packets = re.search(r"packets_per_second ([\d.]+)", screen)
            if packets and not pane.dead():
                seen.add(packets.group(1))
                check(pane.history() == 0, "stats scrolled %d lines into the history"
                      % pane.history())
            return pane.dead()
        wait_for(finished, 15, "stats --count 4 to end")
        screen = pane.screen()
        lines = screen.rstrip("\n").split("\n")
        check(pane.history() == 0, "history %d" % pane.history())
        check(pane.status() == 0, "exit %d" % pane.status())
        check(lines[0].strip().startswith("vip " + VIP) and len(lines) < ROWS,
              "first row %r, %d lines" % (lines[0], len(lines)))
        piped = lab.ok("stats", VIP, "--watch", "1", "--count", "2")
    finally:
        stop(load)
        pane.close()
    print("     4 frames, %d different rates seen, history 0; piped: %d lines, no escape"
          % (len(seen), len(piped.splitlines())))
    check(ESCAPE not in piped and piped.count("vip " + VIP) == 2, "piped: %r" % piped[:300])


class SplitdStandIn:
    """A stand-in for splitd on its control socket: it answers the first
    `answers` requests with reply, then takes requests and never answers
    (a splitd stuck), holding their connections open."""

    def __init__(self, lab, reply, answers):
        import socket
        import threading
        os.makedirs(lab.run_dir, exist_ok=True)
        self.path = os.path.join(lab.run_dir, "splitd.sock")
        if os.path.exists(self.path):
            os.unlink(self.path)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(self.path)
        self.server.listen(16)
        self.server.settimeout(0.1)
        self.reply, self.answers, self.requests, self.held = reply, answers, 0, []
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            connection.settimeout(2)
            try:
                connection.recv(4096)
            except OSError:
                pass
            self.requests += 1
            if self.answers:
                self.answers -= 1
                connection.sendall(json.dumps(self.reply).encode())
                connection.close()
            else:
                self.held.append(connection)

    def close(self):
        self.running = False
        self.thread.join(5)
        for connection in self.held:
            connection.close()
        self.server.close()
        os.unlink(self.path)


# splitd's status reply as a peer might send it: a negative step count and
# an escape sequence in its reason
STAND_IN_REPLY = {"ok": True, "rollouts": [{
    "vip": VIP, "policy": "stand-in", "phase": "running", "step": 1, "steps": 2,
    "steps_done": -3, "step_kind": "weights", "step_left_seconds": 50,
    "timeline": [{"kind": "weights", "canary": 20}, {"kind": "pause", "seconds": 60}],
    "route": {"blue": 80, "green": 0, "canary": 20, "live": "blue"},
    "reason": "stand-in \x1b[31mred\x1b[0m", "analysis": [], "history": ["started"]}]}


def watcher_ends(pane, keys, what):
    """Sends keys to the view; the seconds until it has ended."""
    start = time.monotonic()
    pane.tmux("send-keys", "-t", "live", keys)
    deadline = start + 10
    while not pane.dead() and time.monotonic() < deadline:
        time.sleep(0.02)
    check(pane.dead(), "%s did not end the view in 10 s" % what)
    return time.monotonic() - start


@test
def live_views_end_at_once(lab):
    """live: C-c ends a view at once while splitd hangs (130), C-\\ too and shows the cursor (131); stats --watch takes 0.5 s and exits 130 on C-c; plain status shows no control byte"""
    # stats --watch: the same interval as rollout watch, the same 130
    pane = Pane(lab, "stats", "--watch", "0.5")
    try:
        wait_for(lambda: "global" in pane.screen(), 10, "the first stats frame")
        took = watcher_ends(pane, "C-c", "C-c")
        check(pane.status() == 130, "stats --watch exit %s after C-c" % pane.status())
        check(pane.value("cursor_flag") == "1", "C-c left the cursor hidden")
    finally:
        pane.close()
    stand_in = SplitdStandIn(lab, STAND_IN_REPLY, answers=3)
    try:
        plain = lab.splitctl("rollout", "status", VIP)
        check(plain.returncode == 0 and ESCAPE not in plain.stdout and
              "stand-in ?[31mred?[0m" in plain.stdout,
              "plain status: %d %r" % (plain.returncode, plain.stdout))
        waits = {}
        for keys, status in (("C-c", 130), ("C-\\", 131)):
            stand_in.answers, stand_in.requests = 1, 0
            pane = Pane(lab, "rollout", "status", VIP, "--watch", "0.2")
            try:
                wait_for(lambda: "progress [" in pane.screen(), 10, "the first frame")
                screen = pane.screen()
                check("0/2 steps done" in screen and "1844" not in screen,
                      "steps_done -3 shown as: %r" % [l for l in screen.splitlines()
                                                      if "steps done" in l])
                # the next request waits on a splitd that never answers
                wait_for(lambda: stand_in.requests >= 2, 5, "the second request")
                time.sleep(0.3)
                waits[keys] = watcher_ends(pane, keys, keys)
                check(pane.status() == status, "%s: exit %s, not %d" % (
                    keys, pane.status(), status))
                check(pane.value("cursor_flag") == "1", "%s left the cursor hidden" % keys)
                check(waits[keys] < 1.0, "%s took %.2f s to end the view" % (keys, waits[keys]))
            finally:
                pane.close()
    finally:
        stand_in.close()
    print("     stats C-c %.2f s; splitd hanging: C-c %.2f s, C-\\ %.2f s" % (
        took, waits["C-c"], waits["C-\\"]))


@test
def live_rates_skip_a_counter_reset(lab):
    """live: counters that go back (a reset) show no rate for that interval, not a wrapped 1.8e19 (stats and rollout watch)"""
    lab.start_splitd(CONFIG % {"policy": "long"})
    lab.ok("rollout", "start", VIP)
    vip_id = lab.json("vip", "show", VIP)["id"]
    load = traffic(lab)
    rollout_lines = open(os.path.join(lab.state_dir, "rollout-watch.json"), "w+")
    rollout_watch = subprocess.Popen(
        ["nsenter", "--net=/run/netns/" + lab.ns("lb"), os.path.join(BUILD, "splitctl"),
         "-j", "rollout", "status", VIP, "--watch", "0.2"],
        stdout=rollout_lines, text=True, env=lab.environment())
    watch = subprocess.Popen(
        ["nsenter", "--net=/run/netns/" + lab.ns("lb"), os.path.join(BUILD, "splitctl"),
         "-j", "stats", VIP, "--watch", "0.2", "--count", "20"],
        stdout=subprocess.PIPE, text=True, env=lab.environment())
    documents, reset_at = [], None
    try:
        for line in watch.stdout:
            documents.append(json.loads(line))
            pools = documents[-1]["vips"][0]["pools"]
            if reset_at is None and len(documents) >= 3 and pools[0]["packets"] > 0:
                # every pool's counters back to 0 on every CPU, as a
                # reattach would leave them
                for pool in range(3):
                    key = (vip_id * 3 + pool).to_bytes(4, "little")
                    subprocess.run(["bpftool", "map", "update", "pinned",
                                    os.path.join(lab.pin_dir, "pool_stats"),
                                    "key", "hex"] + ["%02x" % b for b in key] +
                                   ["value", "hex"] + ["00"] * (39 * 8),
                                   check=True, capture_output=True, timeout=10)
                reset_at = len(documents)
        check(watch.wait(10) == 0, "stats --watch exit %s" % watch.returncode)
    finally:
        stop(load)
        stop(rollout_watch)
        if watch.poll() is None:
            watch.kill()
    check(reset_at is not None, "no traffic counted: %s" % documents[-1:])
    rollout_lines.seek(0)
    lines = [json.loads(line) for line in rollout_lines if line.startswith("{")]
    rollout_lines.close()
    rates = [line["connections_per_second"] for line in lines]
    check(len(rates) >= 10 and any(r["canary"] for r in rates),
          "rollout watch: %d lines, %s" % (len(rates), rates[-3:]))
    check(all(r[pool] is None or r[pool] < 1e9 for r in rates for pool in r),
          "rollout watch rates: %s" % [r for r in rates
                                       if any(v and v >= 1e9 for v in r.values())][:2])
    check(any(all(v is None for v in r.values()) for r in rates[1:]),
          "rollout watch: no interval without rates after the reset")
    went_back = 0
    for before, after in zip(documents, documents[1:]):
        for old, new in zip(before["vips"][0]["pools"], after["vips"][0]["pools"]):
            rate = new.get("packets_per_second")
            check(rate is None or rate < 1e9, "%s: a rate of %s" % (new["pool"], rate))
            if new["packets"] < old["packets"]:
                went_back += 1
                check(rate is None, "%s went back %d -> %d, rate %s" % (
                    new["pool"], old["packets"], new["packets"], rate))
    check(went_back >= 1, "no counter went back after the reset")
    print("     reset after %d intervals; %d pool counters went back, no rate shown for them"
          % (reset_at, went_back))
