# Weir: one Makefile builds everything.
#   make          BPF objects, skeletons, libweir, binaries and test programs
#   make deps     install the Debian packages everything needs (idempotent)
#   make test     deps, build, then every test suite; ends with "N passed, N failed"
#   make bench    benchmarks (not part of make test)
#   make check    clang-tidy, cppcheck, clang-format and shellcheck
#   make test-asan the unit tests built with AddressSanitizer and UBSan (in $(BUILD)-asan), run
# V=1 shows the full commands.

.DELETE_ON_ERROR:
.SECONDARY:

BUILD	?= build
CC	?= gcc
CLANG	?= clang
BPFTOOL	?= bpftool
MULTIARCH := $(shell $(CC) -dumpmachine)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

PKGS	:= libbpf libelf zlib jansson libmicrohttpd libmnl cmocka libcurl sqlite3 yaml-0.1
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs libbpf libelf zlib jansson 2>/dev/null) -lpthread
AGENT_LIBS := $(shell pkg-config --libs libmicrohttpd libmnl libcurl yaml-0.1 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
CURL_LIBS  := $(shell pkg-config --libs libcurl 2>/dev/null)

CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes \
	   -Iinclude -Ilib -I$(BUILD) $(PKG_CFLAGS) -MMD -MP
BPF_CFLAGS := -O2 -g -target bpf -mcpu=v3 -Wall -Wextra -Werror \
	   -Iinclude -Idatapath -I/usr/include/$(MULTIARCH) -MMD -MP

# The datapath: one object, one skeleton, embedded in every binary that loads it;
# and the flow table's iterator (datapath/flow_dump.bpf.c, lib/flow_table.c).
BPF_OBJ	:= $(BUILD)/weir.bpf.o
SKEL	:= $(BUILD)/weir.skel.h $(BUILD)/flow_dump.skel.h

LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIBWEIR	 := $(BUILD)/libweir.a

# weir-agent: main.c plus libagent (its components, which unit tests link too).
AGENT_SRCS := $(filter-out agent/main.c,$(wildcard agent/*.c))
AGENT_OBJS := $(AGENT_SRCS:%.c=$(BUILD)/%.o)
LIBAGENT   := $(BUILD)/libagent.a
BINS	   := $(BUILD)/weir-agent $(BUILD)/weir

# weir (the CLI): main.c plus libcli (its components, which CLI unit tests link too).
CLI_SRCS := $(filter-out cli/main.c,$(wildcard cli/*.c))
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
LIBCLI	 := $(BUILD)/libcli.a

# weir-relay: main.c plus librelay (its components, which relay unit tests link too).
RELAY_SRCS := $(filter-out relay/main.c,$(wildcard relay/*.c))
RELAY_OBJS := $(RELAY_SRCS:%.c=$(BUILD)/%.o)
LIBRELAY   := $(BUILD)/librelay.a
RELAY_LIBS := $(shell pkg-config --libs libmicrohttpd libcurl sqlite3 2>/dev/null)
BINS	   += $(BUILD)/weir-relay

# weir-cni: main.c plus libcni (its components, which CNI unit tests link too).
CNI_SRCS := $(filter-out cni/main.c,$(wildcard cni/*.c))
CNI_OBJS := $(CNI_SRCS:%.c=$(BUILD)/%.o)
LIBCNI	 := $(BUILD)/libcni.a
# Static: the runtime runs it on the host, copied there from the image.
CNI_LIBS := -static $(shell pkg-config --static --libs jansson 2>/dev/null)
BINS	 += $(BUILD)/weir-cni

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:%.c=$(BUILD)/%)

TEST_BINS := $(BUILD)/tests/datapath/test_datapath $(BUILD)/tests/datapath/test_lb \
	     $(BUILD)/tests/netns/dp_harness $(UNIT_BINS)
TEST_BINS += $(BUILD)/tests/datapath/test_prefilter
TEST_BINS += $(BUILD)/tests/datapath/test_policy
BENCH_BINS := $(BUILD)/bench/datapath $(BUILD)/bench/agent $(BUILD)/bench/relay $(BUILD)/bench/ipfix \
	      $(BUILD)/bench/history $(BUILD)/bench/prefilter $(BUILD)/bench/lb $(BUILD)/bench/lb_api

all: $(BUILD)/.pkgs-ok $(LIBWEIR) $(BINS) $(TEST_BINS) $(BENCH_BINS)

# Fail early, naming the missing package.
$(BUILD)/.pkgs-ok: Makefile
	$(Q)mkdir -p $(@D)
	$(Q)for p in $(PKGS); do pkg-config --exists $$p || \
		{ echo "missing pkg-config package '$$p': run 'make deps'" >&2; exit 1; }; done
	$(Q)for t in $(CLANG) $(BPFTOOL); do command -v $$t >/dev/null || \
		{ echo "missing tool '$$t': run 'make deps'" >&2; exit 1; }; done
	$(Q)touch $@

$(BUILD)/%.bpf.o: datapath/%.bpf.c $(BUILD)/.pkgs-ok Makefile
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/lib/%.o: lib/%.c $(SKEL) Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIBWEIR): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/agent/%.o: agent/%.c $(SKEL) Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iagent -c $< -o $@

$(LIBAGENT): $(AGENT_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/weir-agent: $(BUILD)/agent/main.o $(LIBAGENT) $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS) $(AGENT_LIBS)

$(BUILD)/cli/%.o: cli/%.c $(BUILD)/.pkgs-ok Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Icli -c $< -o $@

$(LIBCLI): $(CLI_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/weir: $(BUILD)/cli/main.o $(LIBCLI) $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS) $(CURL_LIBS)

$(BUILD)/relay/%.o: relay/%.c $(BUILD)/.pkgs-ok Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Irelay -c $< -o $@

$(LIBRELAY): $(RELAY_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/weir-relay: $(BUILD)/relay/main.o $(LIBRELAY) $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS) $(RELAY_LIBS)

$(BUILD)/cni/%.o: cni/%.c $(BUILD)/.pkgs-ok Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Icni -c $< -o $@

$(LIBCNI): $(CNI_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/weir-cni: $(BUILD)/cni/main.o $(LIBCNI)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(CNI_LIBS)

# CNI unit tests link libcni.
$(BUILD)/tests/unit/test_cni_%.o: CFLAGS += -Icni
$(BUILD)/tests/unit/test_cni_%: $(BUILD)/tests/unit/test_cni_%.o $(LIBCNI)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(shell pkg-config --libs jansson 2>/dev/null) $(CMOCKA_LIBS)

# Relay unit tests link librelay.
$(BUILD)/tests/unit/test_relay_%.o: CFLAGS += -Irelay
$(BUILD)/tests/unit/test_relay_%: $(BUILD)/tests/unit/test_relay_%.o $(LIBRELAY) $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS) $(RELAY_LIBS) $(CMOCKA_LIBS)

# lib/filter_sql is checked against lib/filter on a real history: librelay, SQLite.
$(BUILD)/tests/unit/test_filter_sql.o: CFLAGS += -Irelay
$(BUILD)/tests/unit/test_filter_sql: $(BUILD)/tests/unit/test_filter_sql.o $(LIBRELAY) $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS) $(RELAY_LIBS) $(CMOCKA_LIBS)

# CLI unit tests link libcli; they find cli/weir.1 through WEIR_SRCDIR.
$(BUILD)/tests/unit/test_cli_%.o: CFLAGS += -DWEIR_SRCDIR='"$(CURDIR)"'
$(BUILD)/tests/unit/test_cli_%: $(BUILD)/tests/unit/test_cli_%.o $(LIBCLI) $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS) $(CURL_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/unit/test_%: $(BUILD)/tests/unit/test_%.o $(LIBAGENT) $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS) $(AGENT_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/%.o: tests/%.c $(SKEL) Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests -Iagent -c $< -o $@

$(BUILD)/tests/datapath/test_datapath: $(BUILD)/tests/datapath/test_datapath.o \
		$(BUILD)/tests/datapath/pkt.o $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS) $(CMOCKA_LIBS)

# The prefilter tests write the deny list through the agent's own code (libagent).
$(BUILD)/tests/datapath/test_prefilter: $(BUILD)/tests/datapath/test_prefilter.o \
		$(BUILD)/tests/datapath/pkt.o $(LIBAGENT) $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS) $(AGENT_LIBS) $(CMOCKA_LIBS)

# The policy tests write the policy maps through the agent's policy engine (libagent).
$(BUILD)/tests/datapath/test_policy: $(BUILD)/tests/datapath/test_policy.o \
		$(BUILD)/tests/datapath/pkt.o $(LIBAGENT) $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS) $(AGENT_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/datapath/test_lb: $(BUILD)/tests/datapath/test_lb.o \
		$(BUILD)/tests/datapath/pkt.o $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS) $(CMOCKA_LIBS)

$(BUILD)/tests/netns/dp_harness: $(BUILD)/tests/netns/dp_harness.o $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS)

# Benchmarks: baseline programs, and the datapath again with a per-CPU flow
# table (WEIR_FLOWS_PERCPU), each with its own skeleton.
BENCH_SKELS := $(BUILD)/bench/baseline.skel.h $(BUILD)/bench/weir_percpu.skel.h \
	       $(BUILD)/bench/weir_nolb.skel.h $(BUILD)/bench/lb_bounds.skel.h

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c $(BUILD)/.pkgs-ok Makefile
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/weir_percpu.bpf.o: datapath/weir.bpf.c $(BUILD)/.pkgs-ok Makefile
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DWEIR_FLOWS_PERCPU -c $< -o $@

# The datapath without the XDP prefilter: bench/prefilter's miss-path baseline.
$(BUILD)/bench/weir_nopf.bpf.o: datapath/weir.bpf.c $(BUILD)/.pkgs-ok Makefile
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DWEIR_NO_PREFILTER -c $< -o $@

# bench/lb's baseline: the datapath without the load balancer (WEIR_NO_LB).
$(BUILD)/bench/weir_nolb.bpf.o: datapath/weir.bpf.c $(BUILD)/.pkgs-ok Makefile
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DWEIR_NO_LB -c $< -o $@

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

$(BUILD)/bench/common.o: bench/common.c Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/bench/datapath.o: bench/datapath.c $(SKEL) $(BENCH_SKELS) Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests -c $< -o $@

$(BUILD)/bench/datapath: $(BUILD)/bench/datapath.o $(BUILD)/bench/common.o \
		$(BUILD)/tests/datapath/pkt.o $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS)

# bench/prefilter: the lists written through libagent's prefilter code.
$(BUILD)/bench/prefilter.o: bench/prefilter.c $(SKEL) $(BUILD)/bench/baseline.skel.h \
		$(BUILD)/bench/weir_nopf.skel.h Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests -Iagent -c $< -o $@

$(BUILD)/bench/prefilter: $(BUILD)/bench/prefilter.o $(BUILD)/bench/common.o \
		$(BUILD)/tests/datapath/pkt.o $(LIBAGENT) $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS) $(AGENT_LIBS)

$(BUILD)/bench/lb.o: bench/lb.c $(SKEL) $(BENCH_SKELS) Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests -c $< -o $@

$(BUILD)/bench/lb: $(BUILD)/bench/lb.o $(BUILD)/bench/common.o $(BUILD)/tests/datapath/pkt.o \
		$(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS)

# bench/agent: the agent's parts (libagent, libweir) through their real code; its HTTP
# client is bench/flows_client (libcurl), a process of its own, next to it.
$(BUILD)/bench/agent.o: bench/agent.c $(SKEL) Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests -Iagent -c $< -o $@

$(BUILD)/bench/agent: $(BUILD)/bench/agent.o $(BUILD)/bench/common.o \
		$(BUILD)/tests/datapath/pkt.o $(LIBAGENT) $(LIBWEIR) $(BUILD)/bench/flows_client
	$(call msg,LD,$@)
	$(Q)$(CC) $(filter %.o %.a,$^) -o $@ $(PKG_LIBS) $(AGENT_LIBS)

$(BUILD)/bench/flows_client: bench/flows_client.c $(LIBWEIR) $(BUILD)/.pkgs-ok Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)pkg-config --exists libcurl || \
		{ echo "missing pkg-config package 'libcurl': run 'make deps'" >&2; exit 1; }
	$(Q)$(CC) $(CFLAGS) $(shell pkg-config --cflags libcurl 2>/dev/null) $< $(LIBWEIR) -o $@ \
		$(PKG_LIBS) $(CURL_LIBS)

# bench/relay: the relay's parts (librelay, libweir) through their real code; simulated
# agents on libmicrohttpd.
$(BUILD)/bench/relay.o: bench/relay.c $(BUILD)/.pkgs-ok Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Irelay -c $< -o $@

$(BUILD)/bench/relay: $(BUILD)/bench/relay.o $(BUILD)/bench/common.o $(LIBRELAY) $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS) $(RELAY_LIBS)

# bench/ipfix: IPFIX encoding and the agent's exporter (libagent, libweir).
$(BUILD)/bench/ipfix.o: bench/ipfix.c $(SKEL) Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Iagent -c $< -o $@

$(BUILD)/bench/ipfix: $(BUILD)/bench/ipfix.o $(BUILD)/bench/common.o $(LIBAGENT) $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS) $(AGENT_LIBS)

# bench/history: the relay's history (librelay, SQLite) through its real code.
$(BUILD)/bench/history.o: bench/history.c $(BUILD)/.pkgs-ok Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Irelay -c $< -o $@

$(BUILD)/bench/history: $(BUILD)/bench/history.o $(BUILD)/bench/common.o $(LIBRELAY) $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS) $(RELAY_LIBS)

# bench/lb_api: the service API through the agent's HTTP server, services and maps.
$(BUILD)/bench/lb_api.o: bench/lb_api.c $(SKEL) Makefile
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(shell pkg-config --cflags libcurl 2>/dev/null) -Iagent -c $< -o $@

$(BUILD)/bench/lb_api: $(BUILD)/bench/lb_api.o $(BUILD)/bench/common.o $(LIBAGENT) $(LIBWEIR)
	$(call msg,LD,$@)
	$(Q)$(CC) $^ -o $@ $(PKG_LIBS) $(AGENT_LIBS) $(shell pkg-config --libs libcurl 2>/dev/null)

deps:
	$(Q)scripts/deps.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh $(BUILD)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh $(BUILD)

bench: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/.pkgs-ok $(BENCH_BINS)
	$(Q)bench/run.sh $(BUILD)

check: all
	$(Q)scripts/check.sh $(BUILD)

# The sanitizers stop at the first finding; a leak fails the test that made it.
ASAN_BUILD := $(BUILD)-asan
ASAN_CC	   := $(CC) -fsanitize=address,undefined -fno-omit-frame-pointer -Wno-format-overflow
test-asan: deps
	$(Q)$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) CC="$(ASAN_CC)" \
		$(UNIT_SRCS:%.c=$(ASAN_BUILD)/%)
	$(Q)status=0; for t in $(UNIT_SRCS:%.c=$(ASAN_BUILD)/%); do \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 $$t >$$t.log 2>&1 && \
			echo "  ok       $$t" || { echo "  FAIL     $$t (see $$t.log)"; status=1; }; \
	done; exit $$status

clean:
	$(Q)rm -rf $(BUILD)

.PHONY: all deps test demo bench check test-asan clean

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
