# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# xdpsplit build. `make` builds everything, `make check` runs every test,
# `make deps` installs what a fresh Debian 12 machine lacks. V=1 shows commands.

# SANITIZE=1: userspace with AddressSanitizer and UndefinedBehaviorSanitizer,
# in a build directory of its own
ifeq ($(SANITIZE),1)
BUILD     ?= build-sanitize
SANITIZER_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD     ?= build
endif
CLANG     ?= clang
BPFTOOL   ?= bpftool
CC        ?= gcc
PKGS      := libbpf libxdp libelf libmnl yaml-0.1 json-c libcurl libmicrohttpd
# splitd's alone: systemd's notify protocol (sd_notify)
SPLITD_PKGS := libsystemd
ARCH_INC  := /usr/include/$(shell $(CC) -dumpmachine)

# Everything but `make deps`, `make demo` and `make demo-fleet` (which
# install them themselves),
# `make clean`, `make uninstall` and `make deb` (which builds in a copy,
# after dpkg-buildpackage has checked the Build-Depends) needs the libraries.
ifeq ($(filter deps demo demo-fleet clean uninstall deb,$(MAKECMDGOALS)),)
ifneq ($(shell pkg-config --exists $(PKGS) $(SPLITD_PKGS) 2>/dev/null && echo found),found)
$(error pkg-config finds no $(PKGS) $(SPLITD_PKGS): run 'make deps' first)
endif
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

CFLAGS    ?= -O2 -g
CFLAGS    += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE \
	     -I. -I$(BUILD) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS    += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
CFLAGS    += $(SANITIZER_FLAGS)
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -Wall -Werror -I. -I$(ARCH_INC)

BPF_PROGS := xdp_split xdp_decap xdp_pass
BPF_OBJS  := $(patsubst %,$(BUILD)/%.bpf.o,$(BPF_PROGS))
SKELS     := $(patsubst %,$(BUILD)/%.skel.h,$(BPF_PROGS))
BPF_HEADERS := $(wildcard maps/*.h bpf/*.h)
HEADERS   := $(BPF_HEADERS) $(wildcard user/lib/*.h user/lib/*/*.h user/splitctl/*.h user/splitd/*.h tests/*.h bench/*.h testlib/*.h)
# Each object depends on the headers it includes, as the compiler found
# them (-MMD), not on every header of the tree
DEPFLAGS   = -MMD -MP -MF $(@:.o=.d)

# user/lib/fleet/: the fleet's etcd, leader and announcements
LIB_SRCS  := $(wildcard user/lib/*.c user/lib/*/*.c)
LIB_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS))
LIB       := $(BUILD)/libxdpsplit.a

SPLITCTL_SRCS := $(wildcard user/splitctl/*.c)
SPLITCTL_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(SPLITCTL_SRCS))
SPLITCTL  := $(BUILD)/splitctl

SPLITD_SRCS := $(wildcard user/splitd/*.c)
SPLITD_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(SPLITD_SRCS))
SPLITD    := $(BUILD)/splitd

# testlib/: what the tests and the benchmarks share (the test environment
# on BPF_PROG_TEST_RUN, packets, traffic, the live-frames generator)
TESTLIB_OBJS := $(BUILD)/testlib/env.o $(BUILD)/testlib/packet.o
TRAFFIC_OBJS := $(TESTLIB_OBJS) $(BUILD)/testlib/traffic.o
LIVE_FRAMES_OBJS := $(BUILD)/testlib/live_frames.o $(BUILD)/testlib/packet.o

TEST_SRCS := $(wildcard tests/*.c)
TEST_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(TEST_SRCS)) $(TRAFFIC_OBJS)
TEST_BIN  := $(BUILD)/xdpsplit-tests

# The SYN flood of the flood test: the live-frames generator with forged
# sources
FLOOD_BIN := $(BUILD)/xdpsplit-flood
FLOOD_OBJS := $(BUILD)/tests/flood/flood.o $(LIVE_FRAMES_OBJS)

# The fleet tests' decision probe: the attached program on made-up SYNs
DECIDE_BIN := $(BUILD)/xdpsplit-decide
DECIDE_OBJS := $(BUILD)/tests/tools/decide.o $(BUILD)/testlib/packet.o

# The fleet tests' announcer driver: user/lib/fleet/announce.c on its own,
# announcing what it is told until its stdin closes (or it is killed)
ANNOUNCE_BIN := $(BUILD)/xdpsplit-announce
ANNOUNCE_OBJS := $(BUILD)/tests/tools/announce.o

.PHONY: all check deps clean demo demo-fleet bench bench-idle fuzz \
	programs install uninstall deb
.DELETE_ON_ERROR:

# Other builds of xdp_split for the upgrade tests: a rebuild over the same
# maps; one whose global_stats has one more counter and one whose flow entry
# has two members swapped (other layouts); one whose flow entry claims a
# reserved field (the same layout); one whose flow table is not mmapable,
# as the release before flow sharing made it (its pins are refused); one
# whose enumerated fields are plain bytes, as the release before their BTF
# enums had them (the same layout)
UPGRADE_BUILDS := rebuild layout swapped claimed unmapped bytefields
UPGRADE_OBJS := $(patsubst %,$(BUILD)/upgrade/xdp_split_%.bpf.o,$(UPGRADE_BUILDS))
upgrade_flags_rebuild := -DXS_BUILD_TAG=2
upgrade_flags_layout := -DXS_BUILD_TAG=3 -DXS_TEST_EXTRA_COUNTERS=1
upgrade_flags_swapped := -DXS_BUILD_TAG=4 -DXS_TEST_FLOW_VALUE=1
upgrade_flags_claimed := -DXS_BUILD_TAG=5 -DXS_TEST_FLOW_VALUE=2
upgrade_flags_unmapped := -DXS_BUILD_TAG=6 -DXS_TEST_FLOWS_UNMAPPED=1
upgrade_flags_bytefields := -DXS_BUILD_TAG=7 -DXS_TEST_BYTE_FIELDS=1

# The configuration's structs with BTF: the test of the diff's field table
# (tests/test_config_diff.c) lists their members from it
CONFIG_BTF := $(BUILD)/tests/btf/config_types.bpf.o

all: $(BPF_OBJS) $(SKELS) $(LIB) $(SPLITCTL) $(SPLITD) $(TEST_BIN) $(FLOOD_BIN) \
     $(DECIDE_BIN) $(ANNOUNCE_BIN) $(UPGRADE_OBJS) $(CONFIG_BTF)

$(CONFIG_BTF): tests/btf/config_types.bpf.c $(HEADERS)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  BPF      $@")
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/upgrade/xdp_split_%.bpf.o: bpf/xdp_split.bpf.c Makefile
	@mkdir -p $(@D)
	$(if $(Q),@echo "  BPF      $@")
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) $(upgrade_flags_$*) -c $< -o $@

$(BUILD)/tests/flood/flood.o $(BUILD)/testlib/live_frames.o: $(BUILD)/generator.skel.h
$(DECIDE_BIN): $(DECIDE_OBJS)
	$(if $(Q),@echo "  LINK     $@")
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(FLOOD_BIN): $(FLOOD_OBJS)
	$(if $(Q),@echo "  LINK     $@")
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(ANNOUNCE_BIN): $(ANNOUNCE_OBJS) $(LIB)
	$(if $(Q),@echo "  LINK     $@")
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# libFuzzer targets for every parser of outside input (make fuzz; a short
# run of each is part of make check)
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
	       $(shell pkg-config --cflags yaml-0.1 2>/dev/null)
FUZZ_TARGETS := config arguments control state audit packets etcd flow_share \
		fleet_documents
FUZZ_BINS := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))
FUZZ_SECONDS ?= 60
fuzz_sources_config := user/lib/config.c user/lib/config_vip.c user/lib/config_policy.c user/lib/config_fleet.c user/lib/yaml_walker.c user/lib/parse.c user/lib/rollout.c user/lib/safe_open.c \
	user/lib/config_webhooks.c user/lib/webhook.c
fuzz_libs_config := $(shell pkg-config --libs json-c 2>/dev/null)
fuzz_flags_config := $(shell pkg-config --cflags json-c 2>/dev/null)
fuzz_sources_arguments := user/lib/parse.c
fuzz_sources_control := user/splitd/request.c
fuzz_sources_state := user/lib/state.c user/lib/fault.c user/lib/clock.c user/lib/parse.c user/lib/atomic_file.c user/lib/safe_open.c
fuzz_sources_audit := user/lib/audit_read.c
fuzz_sources_flow_share := user/lib/fleet/flow_share_format.c
# the JSON values of the fleet's keys, and the keys
fuzz_sources_fleet_documents := user/lib/fleet/documents.c user/lib/fleet/rollout_doc.c \
	user/lib/fleet/json_fields.c user/lib/fleet/keys.c user/lib/parse.c user/lib/rollout.c
fuzz_libs_fleet_documents := $(shell pkg-config --libs json-c 2>/dev/null) -lm
fuzz_flags_fleet_documents := $(shell pkg-config --cflags json-c 2>/dev/null)
fuzz_libs_audit := $(shell pkg-config --libs json-c 2>/dev/null)
fuzz_flags_audit := $(shell pkg-config --cflags json-c 2>/dev/null)
# the etcd client's parsers: the fuzz file includes etcd.c itself
fuzz_sources_etcd := user/lib/fleet/base64.c
fuzz_libs_etcd := $(shell pkg-config --libs json-c libcurl 2>/dev/null) -lpthread
fuzz_flags_etcd := $(shell pkg-config --cflags json-c libcurl 2>/dev/null)
# the packet fuzzer runs the real program: the library, the test environment
# and the fixture table, built with the fuzzer's instrumentation
fuzz_sources_packets := $(LIB_SRCS) testlib/env.c testlib/packet.c tests/test_fixtures.c
fuzz_flags_packets := -I$(BUILD) $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
fuzz_libs_packets := $(LDLIBS)
$(BUILD)/fuzz/fuzz_packets: $(SKELS)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(HEADERS) $(wildcard user/lib/*.c user/lib/*/*.c user/splitd/request.c testlib/*.c) tests/test_fixtures.c
	@mkdir -p $(@D)
	$(if $(Q),@echo "  FUZZ     $@")
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $(fuzz_flags_$*) $< $(fuzz_sources_$*) \
		$(shell pkg-config --libs yaml-0.1 2>/dev/null) $(fuzz_libs_$*) -o $@

fuzz: $(FUZZ_BINS)
	$(Q)scripts/fuzz.sh $(BUILD) $(FUZZ_SECONDS)

# Benchmark baselines and drivers (make bench)
BENCH_BPF := $(BUILD)/floors.bpf.o $(BUILD)/generator.bpf.o $(BUILD)/forwarder.bpf.o
BENCH_BIN := $(BUILD)/xdpsplit-bench
BENCH_OBJS := $(BUILD)/bench/testrun.o $(BUILD)/bench/classes.o $(BUILD)/bench/common.o $(TESTLIB_OBJS)
LIVE_BIN := $(BUILD)/xdpsplit-live
LIVE_OBJS := $(BUILD)/bench/live.o $(BUILD)/bench/classes.o $(BUILD)/bench/common.o $(TESTLIB_OBJS) $(BUILD)/testlib/live_frames.o
# two cores against one: LIVE_OBJS' pieces without the one-core driver
CORES_BIN := $(BUILD)/xdpsplit-cores
CORES_OBJS := $(BUILD)/bench/cores.o $(BUILD)/bench/classes.o $(BUILD)/bench/common.o $(TESTLIB_OBJS) $(BUILD)/testlib/live_frames.o
# the end-to-end ceiling's trivial forwarder (bench/compare.py)
FORWARDER_BIN := $(BUILD)/xdpsplit-forwarder
FORWARDER_OBJS := $(BUILD)/bench/forwarder.o
SWITCH_BIN := $(BUILD)/xdpsplit-switch
SWITCH_OBJS := $(BUILD)/bench/switch.o $(BUILD)/bench/common.o $(TESTLIB_OBJS)
ROLLBACK_BIN := $(BUILD)/xdpsplit-rollback
ROLLBACK_OBJS := $(BUILD)/bench/rollback.o $(BUILD)/bench/common.o $(TESTLIB_OBJS)
# flow sharing's export and import over a full default-size table
FLOWSHARE_BIN := $(BUILD)/xdpsplit-flowshare
FLOWSHARE_OBJS := $(BUILD)/bench/flowshare.o $(BUILD)/bench/common.o $(TRAFFIC_OBJS)
SCALE_BIN := $(BUILD)/xdpsplit-scale
SCALE_OBJS := $(BUILD)/bench/scale.o $(BUILD)/bench/common.o $(TESTLIB_OBJS)

$(BUILD)/%.bpf.o: bench/%.bpf.c Makefile
	@mkdir -p $(@D)
	$(if $(Q),@echo "  BPF      $@")
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/%.bpf.o: testlib/%.bpf.c Makefile
	@mkdir -p $(@D)
	$(if $(Q),@echo "  BPF      $@")
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/bench/testrun.o: $(BUILD)/floors.skel.h
$(BUILD)/bench/live.o $(BUILD)/bench/cores.o: $(BUILD)/floors.skel.h $(BUILD)/generator.skel.h
$(BUILD)/bench/classes.o: $(BUILD)/generator.skel.h

$(LIVE_BIN): $(LIVE_OBJS) $(LIB)
	$(if $(Q),@echo "  LINK     $@")
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/bench/forwarder.o: $(BUILD)/forwarder.skel.h
$(FORWARDER_BIN): $(FORWARDER_OBJS)
	$(if $(Q),@echo "  LINK     $@")
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(CORES_BIN): $(CORES_OBJS) $(LIB)
	$(if $(Q),@echo "  LINK     $@")
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BENCH_BIN): $(BENCH_OBJS) $(LIB)
	$(if $(Q),@echo "  LINK     $@")
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(SCALE_BIN): $(SCALE_OBJS) $(LIB)
	$(if $(Q),@echo "  LINK     $@")
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(FLOWSHARE_BIN): $(FLOWSHARE_OBJS) $(LIB)
	$(if $(Q),@echo "  LINK     $@")
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(SWITCH_BIN): $(SWITCH_OBJS) $(LIB)
	$(if $(Q),@echo "  LINK     $@")
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(ROLLBACK_BIN): $(ROLLBACK_OBJS) $(LIB)
	$(if $(Q),@echo "  LINK     $@")
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

bench: all $(BENCH_BIN) $(LIVE_BIN) $(CORES_BIN) $(FORWARDER_BIN) $(SCALE_BIN) $(FLOWSHARE_BIN) $(SWITCH_BIN) $(ROLLBACK_BIN)
	$(Q)scripts/bench.sh $(BUILD)

# One line of make bench on its own: idle splitd's CPU with probes on
# (bench/idle.py; needs root, as make bench)
bench-idle: all
	$(Q)/usr/bin/python3 bench/idle.py $(BUILD)

$(BUILD)/%.bpf.o: bpf/%.bpf.c Makefile
	@mkdir -p $(@D)
	$(if $(Q),@echo "  BPF      $@")
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(if $(Q),@echo "  SKEL     $@")
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@ 2> $@.log || { cat $@.log; false; }

# the skeletons first: a first build has no dependency files to say which
# object includes which; and all again when this file changes (its flags)
$(BUILD)/%.o: %.c Makefile | $(SKELS)
	@mkdir -p $(@D)
	$(if $(Q),@echo "  CC       $@")
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(Q)$(AR) rcs $@ $^

$(SPLITCTL): $(SPLITCTL_OBJS) $(LIB)
	$(if $(Q),@echo "  LINK     $@")
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(SPLITD_OBJS): CFLAGS += $(shell pkg-config --cflags $(SPLITD_PKGS) 2>/dev/null)
$(SPLITD): $(SPLITD_OBJS) $(LIB)
	$(if $(Q),@echo "  LINK     $@")
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) $(shell pkg-config --libs $(SPLITD_PKGS) 2>/dev/null) -o $@

$(TEST_BIN): $(TEST_OBJS) $(LIB)
	$(if $(Q),@echo "  LINK     $@")
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# The tests load programs, create namespaces and veths: they need root.
check: all $(FUZZ_BINS)
	$(Q)XDPSPLIT_BUILD=$(BUILD) scripts/run-tests.sh $(TEST_BIN)

deps:
	$(Q)scripts/install-deps.sh

# The main job: installs what is missing, builds, runs a live rollout.
demo:
	$(Q)scripts/install-deps.sh
	$(Q)$(MAKE) --no-print-directory all
	$(Q)/usr/bin/python3 scripts/demo.py

# The fleet's: a BGP router, LB hosts with splitd in fleet mode, etcd; a
# rollout while a host dies and another joins (~1 min).
demo-fleet:
	$(Q)scripts/install-deps.sh
	$(Q)$(MAKE) --no-print-directory all
	$(Q)/usr/bin/python3 scripts/demo_fleet.py

# What an installation runs: the two programs (xdp_split's object is
# embedded in them as a skeleton; libxdp brings its own dispatcher)
programs: $(SPLITD) $(SPLITCTL)

# make install [PREFIX=/usr/local] [DESTDIR=...]; debian/rules passes
# PREFIX=/usr. splitd's own paths (/etc/xdpsplit, /var/lib/xdpsplit,
# /run/xdpsplit) do not follow the prefix, and logrotate reads only
# /etc/logrotate.d: sysconfdir stays /etc. The completion and unit
# directories are the ones pkg-config gives for this prefix.
PREFIX     ?= /usr/local
sbindir    ?= $(PREFIX)/sbin
datadir    ?= $(PREFIX)/share
mandir     ?= $(datadir)/man
docdir     ?= $(datadir)/doc/xdpsplit
sysconfdir ?= /etc
PC_PREFIX   = $(if $(filter /usr,$(PREFIX)),,--define-variable=prefix=$(PREFIX) \
	      --define-variable=rootprefix=$(PREFIX) --define-variable=root_prefix=$(PREFIX))
pc_variable = $(shell pkg-config $(PC_PREFIX) --variable=$(1) $(2) 2>/dev/null)
bashcompdir ?= $(or $(call pc_variable,completionsdir,bash-completion),$(datadir)/bash-completion/completions)
systemdunitdir ?= $(or $(call pc_variable,systemdsystemunitdir,systemd),$(if $(filter /usr,$(PREFIX)),/lib,$(PREFIX)/lib)/systemd/system)
INSTALL    ?= install
DOCS       := README.md doc/fleet.md
EXAMPLES   := $(wildcard examples/*.yaml)
# Every file install lays down, for uninstall (one list)
INSTALLED  := $(sbindir)/splitd $(sbindir)/splitctl \
	      $(mandir)/man8/splitd.8 $(mandir)/man8/splitctl.8 \
	      $(bashcompdir)/splitctl $(systemdunitdir)/splitd.service \
	      $(sysconfdir)/logrotate.d/xdpsplit \
	      $(addprefix $(docdir)/,$(notdir $(DOCS))) \
	      $(addprefix $(docdir)/examples/,$(notdir $(EXAMPLES)))

# No configuration is installed in /etc/xdpsplit (only the directory): a
# shipped one would attach to whatever interface it names. The unit starts only once the operator has
# written /etc/xdpsplit/xdpsplit.yaml (from $(docdir)/examples).
install: programs
	$(INSTALL) -d $(DESTDIR)$(sbindir) $(DESTDIR)$(mandir)/man8 \
		$(DESTDIR)$(bashcompdir) $(DESTDIR)$(systemdunitdir) \
		$(DESTDIR)$(sysconfdir)/logrotate.d $(DESTDIR)$(docdir)/examples \
		$(DESTDIR)$(sysconfdir)/xdpsplit
	$(INSTALL) -m 0755 $(SPLITD) $(SPLITCTL) $(DESTDIR)$(sbindir)/
	$(INSTALL) -m 0644 doc/splitd.8 doc/splitctl.8 $(DESTDIR)$(mandir)/man8/
	$(INSTALL) -m 0644 completion/splitctl.bash $(DESTDIR)$(bashcompdir)/splitctl
	sed 's|/usr/sbin/|$(sbindir)/|g' dist/splitd.service > $(DESTDIR)$(systemdunitdir)/splitd.service
	chmod 0644 $(DESTDIR)$(systemdunitdir)/splitd.service
	$(INSTALL) -m 0644 dist/xdpsplit.logrotate $(DESTDIR)$(sysconfdir)/logrotate.d/xdpsplit
	$(INSTALL) -m 0644 $(DOCS) $(DESTDIR)$(docdir)/
	$(INSTALL) -m 0644 $(EXAMPLES) $(DESTDIR)$(docdir)/examples/

# Removes what install laid down (with the same variables), and the
# directories of ours that are left empty
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(docdir)/examples $(DESTDIR)$(docdir) \
		$(DESTDIR)$(sysconfdir)/xdpsplit 2>/dev/null

# The Debian package, built by dpkg-buildpackage in a copy of the tree under
# $(BUILD)/deb (its artefacts go next to the tree it builds, so not to ../
# of this checkout); the .deb is copied to $(BUILD)/
deb:
	$(Q)scripts/make-deb.sh $(BUILD)

clean:
	rm -rf $(BUILD)

# (not those of make deb's copy of the tree in $(BUILD)/deb)
-include $(shell find $(BUILD) -path $(BUILD)/deb -prune -o -type f -name '*.d' -print 2>/dev/null)
