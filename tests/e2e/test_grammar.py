# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""splitctl's grammar has one source, its command tables: the man page,
the help, the usage errors and the bash completion are held to what
'splitctl help --table' says they are. The completion runs in a plain
bash (no bash-completion package), as bash calls it."""
import json
import os
import re
import shutil
import subprocess
import time

from harness import BUILD, ROOT, Skip, check, test

SPLITCTL = os.path.join(BUILD, "splitctl")
MAN_PAGE = os.path.join(ROOT, "doc/splitctl.8")
COMPLETION = os.path.join(ROOT, "completion/splitctl.bash")
# bash's default COMP_WORDBREAKS, less the blanks
WORD_BREAKS = "\"'@><=;|&(:"
# a value for each positional argument, by its name in the usage
SAMPLES = {"VIP": "10.0.0.1:80/tcp", "IFACE": "lo", "ADDRESS": "10.0.0.2",
           "PREFIX": "10.0.0.0/24", "CLIENT": "10.0.0.3"}
NO_PIN_DIR = "/sys/fs/bpf/xdpsplit-test-grammar-none"


def table():
    result = subprocess.run([SPLITCTL, "help", "--table"], capture_output=True,
                            text=True, timeout=30)
    check(result.returncode == 0, "help --table: %s" % result.stderr)
    return json.loads(result.stdout)


def leaves(dump):
    return [c for c in dump["commands"] if not c["commands"]]


def keywords(entry):
    return [a for a in entry["arguments"] if a["keyword"]]


def comp_words(line):
    """COMP_WORDS as bash makes them of line, the cursor at its end: split
    at blanks, and around every run of COMP_WORDBREAKS characters."""
    words, i = [], 0
    while i < len(line):
        if line[i].isspace():
            i += 1
            continue
        j = i
        if line[i] in WORD_BREAKS:
            while j < len(line) and line[j] in WORD_BREAKS:
                j += 1
        else:
            while j < len(line) and not line[j].isspace() and line[j] not in WORD_BREAKS:
                j += 1
        words.append(line[i:j])
        i = j
    if not line or line[-1].isspace():
        words.append("")
    return words


def complete(line, env=None):
    """COMPREPLY of the completion for line, in bash --norc; and what it
    printed on stderr (nothing, ever)."""
    words = comp_words(line)
    script = ('type _init_completion >/dev/null 2>&1 && echo "bash-completion is loaded" >&2\n'
              'source "$1"; shift\n'
              'COMP_LINE=$1 COMP_POINT=$2 COMP_CWORD=$3; shift 3\n'
              'COMP_WORDS=("$@")\n'
              '_splitctl\n'
              'printf "%s\\0" "${COMPREPLY[@]}"\n')
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script, "bash", COMPLETION, line,
         str(len(line)), str(len(words) - 1)] + words,
        capture_output=True, text=True, timeout=30,
        env=env or dict(os.environ, XDPSPLIT_PIN_DIR=NO_PIN_DIR))
    check(result.returncode == 0, "completion of %r failed: %s" % (line, result.stderr))
    return [w for w in result.stdout.split("\0") if w], result.stderr


def inserted(line, reply):
    """The line after readline puts reply in place of the text it
    completes: what follows the last blank or word break."""
    start = max(line.rfind(c) for c in WORD_BREAKS + " \t\n") + 1
    return line[:start] + reply


def man_page():
    """The rendered man page: {section: [(tag lines, whole entry text)]}."""
    lint = subprocess.run(["mandoc", "-Tlint", MAN_PAGE], capture_output=True,
                          text=True, timeout=30)
    check(lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(),
          "mandoc -Tlint: %s%s" % (lint.stdout, lint.stderr))
    text = subprocess.run(["mandoc", "-Tascii", "-Owidth=300", MAN_PAGE],
                          capture_output=True, text=True, timeout=30, check=True).stdout
    text = re.sub(".\b", "", text)
    sections, entries, last_was_tag = {}, None, False
    for line in text.splitlines():
        if re.match(r"^[A-Z][A-Z ]*$", line):
            entries = sections.setdefault(line.strip(), [])
            last_was_tag = False
        elif entries is not None and re.match(r"^ {7}\S", line):
            if last_was_tag:
                entries[-1][0].append(line)
                entries[-1][1].append(line)
            else:
                entries.append(([line], [line]))
            last_was_tag = True
        elif entries is not None and line.strip():
            if entries:
                entries[-1][1].append(line)
            last_was_tag = False
    return {name: [(tags, "\n".join(body)) for tags, body in found]
            for name, found in sections.items()}


def has_word(text, word):
    return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(word), text) is not None


def path_tag(path):
    """A tag line naming the command: its words in order, the first first."""
    words = path.split()
    return re.compile(r"^ {7}" + r"\b.*\b".join(re.escape(w) for w in words) + r"\b")


def missing_from_man(dump, man):
    """Every command, option, keyword and choice of the table that the man
    page does not document, as 'what: why' lines."""
    missing = []
    entries = [e for name in ("OPTIONS", "COMMANDS", "FLEET") for e in man.get(name, [])]
    tags = "\n".join(line for tag_lines, _ in entries for line in tag_lines)
    objects = " ".join(text for _, text in man.get("SYNOPSIS", []))
    for command in dump["commands"]:
        if " " not in command["path"] and not has_word(objects, command["path"]):
            missing.append("%s: not in the synopsis' OBJECT list" % command["path"])
    for option in dump["arguments"] + [a for c in dump["commands"] if c["commands"]
                                       for a in keywords(c)]:
        for spelling in filter(None, (option["keyword"], option.get("alias"))):
            if not has_word(tags, spelling):
                missing.append("option %s: no entry" % spelling)
    for command in leaves(dump):
        pattern = path_tag(command["path"])
        found = [text for tag_lines, text in entries
                 if any(pattern.search(line) for line in tag_lines)]
        if not found:
            missing.append("command %s: no entry" % command["path"])
            continue
        for argument in command["arguments"]:
            for word in filter(None, [argument["keyword"]] + argument["choices"]):
                if not any(has_word(text, word) for text in found):
                    missing.append("%s: '%s' not in its entry" % (command["path"], word))
    return missing


def missing_from_completion(dump):
    """Every command, option, keyword and choice of the table that the
    completion does not offer where it belongs."""
    missing = []

    def offers(words, wanted, what):
        line = " ".join([SPLITCTL] + words + [""])
        reply, errors = complete(line)
        check(not errors, "completion of %r printed %r" % (line, errors))
        for word in wanted:
            if word not in reply:
                missing.append("%s: '%s' not offered after %r (offered %s)" % (
                    what, word, " ".join(words), reply))

    offers([], [c["path"] for c in dump["commands"] if " " not in c["path"]], "objects")
    reply, _ = complete(SPLITCTL + " -")
    for option in dump["arguments"]:
        for spelling in filter(None, (option["keyword"], option.get("alias"))):
            if spelling not in reply:
                missing.append("option %s not offered after '-'" % spelling)
    for command in dump["commands"]:
        if command["commands"]:
            offers(command["path"].split(), command["commands"], command["path"])
            if keywords(command):
                reply, _ = complete(" ".join([SPLITCTL] + command["path"].split() + ["-"]))
                missing += ["%s: option %s not offered" % (command["path"], k["keyword"])
                            for k in keywords(command) if k["keyword"] not in reply]
            continue
        words = command["path"].split()
        for argument in command["arguments"]:
            if argument["keyword"] or argument["optional"]:
                continue
            if argument["choices"]:
                offers(words, argument["choices"], command["path"] + " " + argument["value"])
            words.append(argument["choices"][0] if argument["choices"]
                         else SAMPLES.get(argument["value"], "x"))
        offers(words, [k["keyword"] for k in keywords(command)], command["path"])
        for keyword in keywords(command):
            if keyword["choices"]:
                offers(words + [keyword["keyword"]], keyword["choices"],
                       "%s %s" % (command["path"], keyword["keyword"]))
    return missing


@test
def man_page_and_completion_know_the_table(lab):
    """grammar: the man page and the completion know every command, option and keyword of the table"""
    dump = table()
    check(len(leaves(dump)) >= 40, "only %d commands in the table" % len(leaves(dump)))
    missing = missing_from_man(dump, man_page())
    check(not missing, "doc/splitctl.8 misses:\n      " + "\n      ".join(missing))
    missing = missing_from_completion(dump)
    check(not missing, "the completion misses:\n      " + "\n      ".join(missing))


def usage_words(form):
    """The literal words of a usage form: its keywords, choices and names."""
    return {w for w in re.findall(r"[\w-]+", form) if not w.isupper() and w != "help"}


@test
def help_and_usage_errors_come_from_the_table(lab):
    """grammar: help and usage errors print the table's forms, which name exactly its words"""
    dump = table()
    for command in leaves(dump):
        table_words = {command["path"].split()[-1]}
        for argument in command["arguments"]:
            table_words |= set(filter(None, [argument["keyword"]] + argument["choices"]))
        said = set().union(*(usage_words(form) for form in command["usage"]))
        check(said == table_words, "%s: its usage names %s, its table %s" % (
            command["path"], sorted(said), sorted(table_words)))
        result = subprocess.run([SPLITCTL] + command["path"].split() + ["help"],
                                capture_output=True, text=True, timeout=30)
        prefix = " ".join(["splitctl"] + command["path"].split()[:-1])
        forms = ["%s %s" % (prefix, form) for form in command["usage"]]
        shown = [line[7:] for line in result.stdout.splitlines()[:len(forms)]]
        check(result.returncode == 0 and shown == forms,
              "%s help: %d %r, want %r" % (command["path"], result.returncode,
                                           result.stdout[:300], forms))
    # the keywords and choices handlers name exist in the tables (they
    # abort on one that does not, but only once that line runs)
    known = {a["keyword"] for c in dump["commands"] for a in c["arguments"]}
    known |= {a["keyword"] for a in dump["arguments"]}
    named = {a["value"] for c in dump["commands"] for a in c["arguments"] if not a["keyword"]}
    choices = {w for c in dump["commands"] for a in c["arguments"] for w in a["choices"]}
    sources = os.path.join(ROOT, "user/splitctl")
    for name in sorted(os.listdir(sources)):
        with open(os.path.join(sources, name)) as source:
            text = source.read()
        for word in re.findall(r'is_keyword\([^,]+, "([^"]+)"\)', text):
            check(word in known, "%s: is_keyword names '%s', in no table" % (name, word))
        for keyword, choice in re.findall(r'value_is\("([^"]+)", [^,]+, "([^"]+)"\)', text):
            check(keyword in known and choice in choices,
                  "%s: value_is names '%s' '%s', in no table" % (name, keyword, choice))
        for word in re.findall(r'choices_text\("([^"]+)"\)', text):
            check(word in known | named, "%s: choices_text of '%s', in no table" % (name, word))
    # a usage error shows the command's forms, and no empty object
    for args, hint in ((["status", "extra"], "Usage: splitctl status\n"),
                       (["backend", "add", "10.0.0.1:80/tcp"], "Usage: splitctl backend add VIP "),
                       (["vip", "frob"], "Try 'splitctl vip help'."),
                       (["fleet", "rollout", "p"], "Try 'splitctl fleet rollout help'."),
                       (["frob"], "Try 'splitctl help'."),
                       (["--frob"], "Try 'splitctl help'.")):
        result = subprocess.run([SPLITCTL] + args, capture_output=True, text=True, timeout=30,
                                env=dict(os.environ, XDPSPLIT_PIN_DIR=NO_PIN_DIR))
        check(result.returncode == 2 and result.stderr.startswith("Error: ") and
              hint in result.stderr and "splitctl  " not in result.stderr,
              "%s: %d %r" % (" ".join(args), result.returncode, result.stderr))
    version = subprocess.run([SPLITCTL, "--version"], capture_output=True, text=True)
    short = subprocess.run([SPLITCTL, "-V"], capture_output=True, text=True)
    check(version.returncode == 0 and re.fullmatch(r"splitctl \d+\.\d+\.\d+\n", version.stdout)
          and short.stdout == version.stdout, "--version: %r %r" % (version.stdout, short.stdout))


def required_words(form):
    """A usage form's words without its optional parts: its first choice
    of each { a | b }, a sample for each value."""
    words, depth, out, i = form.split(), 0, [], 0
    while i < len(words):
        word = words[i]
        if word == "[":
            depth += 1
        elif word == "]":
            depth -= 1
        elif depth or word == "...":
            pass
        elif word == "{":
            j = i + 1
            while words[j] not in ("|", "}"):
                out.append(SAMPLES.get(words[j], "1") if words[j].isupper() else words[j])
                j += 1
            nesting = 1
            while nesting:
                j += 1
                nesting += (words[j] == "{") - (words[j] == "}")
            i = j
        else:
            out.append(SAMPLES.get(word, "1") if word.isupper() else word)
        i += 1
    return out


@test
def dashes_alone_are_no_keyword(lab):
    """grammar: '-' and '--' abbreviate no keyword: every command takes them as it takes any unknown word"""
    # nothing to act on, should a dash be taken for --force or --flush
    env = dict(os.environ, XDPSPLIT_PIN_DIR=NO_PIN_DIR,
               XDPSPLIT_RUN_DIR=os.path.join(lab.state_dir, "no-run"),
               XDPSPLIT_STATE_DIR=os.path.join(lab.state_dir, "no-state"))
    fleet = ["fleet", "--etcd", "http://127.0.0.1:1", "--prefix", "/xdpsplit-test-grammar/"]

    def run(args):
        result = subprocess.run([SPLITCTL] + args, capture_output=True, text=True,
                                timeout=30, env=env)
        return result.returncode, result.stdout, result.stderr

    wrong = []
    for command in leaves(table()):
        path = command["path"].split()
        before = fleet + path[1:-1] if path[0] == "fleet" else path[:-1]
        args = before + required_words(command["usage"][0])
        for dash in ("-", "--"):
            got = run(args + [dash])
            # a word no keyword starts with, said back as the dash
            other = tuple(x.replace("'%szzz'" % dash, "'%s'" % dash) if isinstance(x, str)
                          else x for x in run(args + [dash + "zzz"]))
            if got != other:
                wrong.append("%s: %d %r, not %d %r" % (" ".join(args + [dash]), got[0],
                                                       got[2][:120], other[0], other[2][:120]))
    check(not wrong, "a dash taken for a keyword:\n      " + "\n      ".join(wrong))
    # a real prefix still is one
    result = run(["weights", SAMPLES["VIP"], "blue", "1", "green", "1", "canary", "1", "--fo"])
    check("add up to" in result[2], "--fo is --force no more: %r" % (result,))


@test
def help_names_its_object(lab):
    """grammar: 'help OBJECT' is that object's help; an unknown word, a missing value or command, a bad policy name is an error"""
    env = dict(os.environ, XDPSPLIT_PIN_DIR=NO_PIN_DIR)

    def run(*args):
        return subprocess.run([SPLITCTL] + list(args), capture_output=True, text=True,
                              timeout=30, env=env)

    for words in (["vip"], ["fleet", "rollout"], ["backend", "add"], ["fleet", "ro", "stat"]):
        got, wanted = run("help", *words), run(*words, "help")
        check(got.returncode == 0 and got.stdout == wanted.stdout and got.stdout,
              "help %s: %d %r, not %r" % (" ".join(words), got.returncode,
                                          got.stdout[:200], wanted.stdout[:200]))
    for args, said in ((["help", "--bogus"], "Error: no command '--bogus'"),
                       (["help", "frob"], "Error: no command 'frob'"),
                       (["help", "vip", "add", "x"], "Error: 'add' has no command 'x'"),
                       (["fleet", "--etcd", "x"], "Error: missing fleet command"),
                       (["fleet", "--etcd"], "Error: --etcd needs URLS"),
                       # a word of splitd's line protocol: a configuration's name
                       (["rollout", "start", SAMPLES["VIP"], "a b\nrollout abort"],
                        "Error: 'a b\nrollout abort' is not a policy name"),
                       (["apply", "-f"], "Error: -f needs FILE"),
                       (["check", "-f"], "Error: -f needs FILE"),
                       (["fleet", "--etcd", "http://127.0.0.1:1", "--prefix", "/xdpsplit-test-grammar/",
                         "apply", "-f"], "Error: -f needs FILE")):
        result = run(*args)
        check(result.returncode == 2 and result.stderr.startswith(said),
              "%s: %d %r" % (" ".join(args), result.returncode, result.stderr[:200]))
    # an object's options with their aliases, as the table has them
    fleet = [c for c in table()["commands"] if c["path"] == "fleet"][0]
    usage = run("fleet", "help").stdout.splitlines()[0]
    for option in keywords(fleet):
        spelled = ("{ %s | %s }" % (option["keyword"], option["alias"]) if option.get("alias")
                   else option["keyword"])
        check("[ %s %s ]" % (spelled, option["value"]) in usage,
              "fleet help lacks '%s': %r" % (spelled, usage))


@test
def completion_lists_vips_of_the_pin_dir(lab):
    """completion: plain bash, the VIPs of --pin-dir or $XDPSPLIT_PIN_DIR, colon-safe"""
    vips = ["10.77.100.1:80/tcp", "[fd77::100]:443/tcp"]
    for vip in vips:
        lab.ok("vip", "add", vip)
    # no pin directory from the environment: only --pin-dir says where
    env = dict(os.environ, XDPSPLIT_PIN_DIR=NO_PIN_DIR)
    base = "%s --pin-dir %s " % (SPLITCTL, lab.pin_dir)
    reply, errors = complete(base + "vip del ", env)
    check(sorted(reply) == sorted(vips) and not errors, "vip del: %s %r" % (reply, errors))
    for typed, whole in (("10.77.100.1:", vips[0]), ("10.77.100.1:8", vips[0]),
                         ("10.77", vips[0]), ("[fd77::1", vips[1]),
                         ("[fd77::100]:4", vips[1])):
        line = base + "backend add " + typed
        reply, errors = complete(line, env)
        check(len(reply) == 1 and inserted(line, reply[0]) == base + "backend add " + whole,
              "%r gives %s, not %s" % (typed, reply, whole))
    reply, _ = complete("%s --pin-dir=%s stats 10.77.100.1:" % (SPLITCTL, lab.pin_dir), env)
    check(reply == ["80/tcp"], "--pin-dir=DIR: %s" % reply)
    # --pin-dir as splitctl reads it: by an unambiguous prefix too
    for line in ("%s --pin %s vip del " % (SPLITCTL, lab.pin_dir),
                 "%s -j --pin-d=%s vip del " % (SPLITCTL, lab.pin_dir)):
        reply, errors = complete(line, env)
        check(sorted(reply) == sorted(vips) and not errors, "%r: %s %r" % (line, reply, errors))
    # the environment's pin directory, when no --pin-dir is given
    reply, _ = complete(SPLITCTL + " rollout status ",
                        dict(os.environ, XDPSPLIT_PIN_DIR=lab.pin_dir))
    check(set(vips) <= set(reply), "$XDPSPLIT_PIN_DIR: %s" % reply)
    # nothing loaded there: no VIPs and not a word on the terminal
    reply, errors = complete(SPLITCTL + " vip del ", env)
    check(reply == [] and errors == "", "nothing loaded: %s %r" % (reply, errors))
    # keywords after a VIP with colons: the VIP counts as one word
    reply, _ = complete(base + "backend add %s blue 10.77.0.11 " % vips[1], env)
    check(sorted(reply) == ["dev", "mac", "state", "weight"], "after [v6]:port: %s" % reply)
    real_tab(lab, vips)


def real_tab(lab, vips):
    """The same in an interactive bash, through a real terminal: tmux
    types the line and a TAB, and the screen shows the completed VIP."""
    if not shutil.which("tmux"):
        raise Skip("no tmux")
    # its socket in the lab's state directory, which the lab removes
    server = os.path.join(lab.state_dir, "tmux.sock")
    os.makedirs(lab.state_dir, exist_ok=True)
    env = dict(os.environ, XDPSPLIT_PIN_DIR=NO_PIN_DIR, PS1="$ ",
               PATH=BUILD + ":" + os.environ.get("PATH", ""))
    subprocess.run(["tmux", "-S", server, "new-session", "-d", "-s", "t", "-x", "200",
                    "-y", "20", "bash --norc --noprofile"], env=env, check=True)
    try:
        def send(*keys):
            subprocess.run(["tmux", "-S", server, "send-keys", "-t", "t"] + list(keys),
                           check=True)

        def screen():
            return subprocess.run(["tmux", "-S", server, "capture-pane", "-p", "-t", "t"],
                                  capture_output=True, text=True, check=True).stdout

        send("source %s" % COMPLETION, "Enter")
        send("splitctl --pin-dir %s vip show 10.77.100.1:" % lab.pin_dir, "Tab")
        wanted = "vip show %s" % vips[0]
        deadline = time.monotonic() + 10
        while wanted not in screen() and time.monotonic() < deadline:
            time.sleep(0.1)
        check(wanted in screen(), "TAB in a real bash: %r" % screen().strip()[-300:])
    finally:
        subprocess.run(["tmux", "-S", server, "kill-server"], check=False)


@test
def splitd_takes_every_rollout_command(lab):
    """grammar: splitd's control socket takes every rollout command of the table"""
    from test_splitd import config
    lab.start_splitd(config("slow"))
    vip = "10.77.100.1:80/tcp"
    commands = [c for c in leaves(table()) if c["path"].startswith("rollout ")]
    check(len(commands) >= 7, "rollout commands: %s" % [c["path"] for c in commands])
    for command in commands:
        verb = command["path"].split()[1]
        flags = [k["keyword"] for k in keywords(command) if k["keyword"] == "--flush"]
        for args in ([verb, vip], [verb, vip] + flags):
            result = lab.splitctl("rollout", *args)
            # a verb may be refused in this phase, never unknown to splitd
            check("unknown request" not in result.stdout + result.stderr and
                  result.returncode in (0, 1),
                  "rollout %s: %d %s%s" % (" ".join(args), result.returncode,
                                           result.stdout, result.stderr))
