# hivejob: GNU make. Everything built goes under build/.
# Honours CC, CFLAGS, CPPFLAGS, LDFLAGS, PREFIX and DESTDIR.

PREFIX		?= /usr/local
BINDIR		?= $(PREFIX)/bin
SBINDIR		?= $(PREFIX)/sbin
LIBEXECDIR	?= $(PREFIX)/libexec/hivejob
DATADIR		?= $(PREFIX)/share/hivejob
MANDIR		?= $(PREFIX)/share/man
SYSTEMDUNITDIR	?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR	?= $(PREFIX)/lib/sysusers.d
SYSCONFDIR	?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)

CC		?= cc
CFLAGS		?= -O2 -g
PKG_CONFIG	?= pkg-config
WARNINGS	 = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
		   -Wpointer-arith -Wformat=2 -Wno-format-nonliteral
PKGS		 = libpq json-c

B		 = build
ALL_CPPFLAGS	 = -D_GNU_SOURCE -Icommon -Ictl -Isupervisor -Irunner -Iworkers \
		   -DHIVEJOB_LIBEXECDIR='"$(LIBEXECDIR)"' $(CPPFLAGS)
ALL_CFLAGS	 = -std=gnu11 $(WARNINGS) $(CFLAGS) \
		   $(shell $(PKG_CONFIG) --cflags $(PKGS))
LIBS		 = $(shell $(PKG_CONFIG) --libs $(PKGS))

COMMON_SRC	 = common/log.c common/util.c common/db.c common/migrate.c \
		   common/text.c
SQL_FILES	 = sql/river/main.sql $(sort $(wildcard sql/hivejob/[0-9][0-9][0-9]_*.sql))
CTL_SRC		 = ctl/hivejobctl.c ctl/table.c ctl/cmd_migrate.c ctl/cmd_enqueue.c \
		   ctl/cmd_jobs.c ctl/cmd_ops.c ctl/cmd_queues.c ctl/cmd_sup.c \
		   ctl/cmd_webhooks.c ctl/cmd_top.c

SUP_SRC		 = supervisor/main.c supervisor/conf.c supervisor/priv.c \
		   supervisor/loop.c supervisor/pgconn.c supervisor/jobs.c \
		   supervisor/child.c supervisor/jobdoc.c supervisor/lease.c \
		   supervisor/cron.c supervisor/notify.c supervisor/metrics.c
RUNNER_SRC	 = runner/spawn.c runner/outcome.c
WORKERS		 = $(B)/libexec/hivejob-noop $(B)/libexec/hivejob-webhook \
		   $(B)/libexec/hivejob-embed $(B)/libexec/hivejob-sentiment
WORKER_LIB_SRC	 = workers/http.c workers/netcheck.c

COMMON_OBJ	 = $(COMMON_SRC:%.c=$(B)/obj/%.o) $(B)/obj/sql_embed.o \
		   $(RUNNER_SRC:%.c=$(B)/obj/%.o)
CTL_OBJ		 = $(CTL_SRC:%.c=$(B)/obj/%.o)
SUP_OBJ		 = $(SUP_SRC:%.c=$(B)/obj/%.o)

PROGS		 = $(B)/bin/hivejobctl $(B)/bin/hivejobd $(WORKERS)
MANPAGES	 = $(wildcard man/*.[1-8])

TEST_UNIT_SRC	 = $(wildcard tests/unit/test_*.c)
TEST_INTEG_SRC	 = $(wildcard tests/integ/test_*.c)
TEST_LIB_SRC	 = tests/lib/th.c
TEST_WORKERS	 = $(patsubst tests/workers/%.c,$(B)/tests/workers/%,$(wildcard tests/workers/*.c))
TESTS		 = $(TEST_UNIT_SRC:tests/unit/%.c=$(B)/tests/unit_%) \
		   $(TEST_INTEG_SRC:tests/integ/%.c=$(B)/tests/integ_%)

.PHONY: all check demo bench install uninstall clean lint deps FORCE
.DELETE_ON_ERROR:

all: $(PROGS)

$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/sql_embed.c: scripts/sql2c $(SQL_FILES)
	@mkdir -p $(@D)
	scripts/sql2c $@ $(SQL_FILES)

$(B)/obj/sql_embed.o: $(B)/sql_embed.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(B)/lib/libhivejob.a: $(COMMON_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/bin/hivejobctl: $(CTL_OBJ) $(B)/lib/libhivejob.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/bin/hivejobd: $(SUP_OBJ) $(B)/lib/libhivejob.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# The smallest worker: static, so its exec measures the runner, not ld.so.
$(B)/libexec/hivejob-noop: workers/noop.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -static -o $@ $<

# Workers that speak HTTP: libcurl and OpenSSL live here, never in hivejobd.
WORKER_CFLAGS	 = $(shell $(PKG_CONFIG) --cflags libcurl libcrypto)
WORKER_LIBS	 = $(shell $(PKG_CONFIG) --libs json-c libcurl libcrypto)
$(B)/libexec/hivejob-webhook: workers/webhook.c workers/whsig.c workers/worker.c $(WORKER_LIB_SRC) \
    workers/worker.h workers/http.h workers/netcheck.h $(B)/lib/libhivejob.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(WORKER_CFLAGS) $(LDFLAGS) -o $@ \
	    $(filter %.c,$^) $(B)/lib/libhivejob.a $(WORKER_LIBS)

$(B)/libexec/hivejob-embed: workers/embed.c workers/openai.c workers/worker.c $(WORKER_LIB_SRC) \
    workers/worker.h workers/http.h workers/netcheck.h $(B)/lib/libhivejob.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(WORKER_CFLAGS) $(LDFLAGS) -o $@ \
	    $(filter %.c,$^) $(B)/lib/libhivejob.a $(WORKER_LIBS) -lm

$(B)/libexec/hivejob-sentiment: workers/sentiment.c workers/vader.c workers/openai.c \
    workers/worker.c $(WORKER_LIB_SRC) workers/worker.h workers/vader.h \
    workers/openai.h $(B)/lib/libhivejob.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) -DHIVEJOB_DATADIR='"$(DATADIR)"' $(ALL_CFLAGS) \
	    $(WORKER_CFLAGS) $(LDFLAGS) -o $@ $(filter %.c,$^) $(B)/lib/libhivejob.a \
	    $(WORKER_LIBS) -lm
	rm -rf $(B)/libexec/vader && cp -R data/vader $(B)/libexec/vader

# Tests link the code under test straight in (as pgbouncer's do).
define test_rule
$(B)/tests/$(1)_%: tests/$(1)/%.c $(TEST_LIB_SRC) tests/lib/th.h $(B)/lib/libhivejob.a
	@mkdir -p $$(@D)
	$$(CC) $$(ALL_CPPFLAGS) -Itests/lib $$(ALL_CFLAGS) $$(LDFLAGS) -o $$@ \
	    $$(filter %.c,$$^) $(B)/lib/libhivejob.a $$(LIBS) -lcriterion
endef
$(eval $(call test_rule,unit))
$(eval $(call test_rule,integ))

$(B)/tests/unit_test_conf: supervisor/conf.c supervisor/cron.c
$(B)/tests/unit_test_cron: supervisor/cron.c
$(B)/tests/unit_test_whsig: workers/whsig.c workers/whsig.h
$(B)/tests/unit_test_whsig: private LIBS += $(shell $(PKG_CONFIG) --libs libcrypto)
$(B)/tests/unit_test_vader: workers/vader.c workers/vader.h
$(B)/tests/unit_test_vader: private LIBS += -lm
WORKER_LIB_TESTS = $(B)/tests/unit_test_netcheck $(B)/tests/unit_test_http
$(WORKER_LIB_TESTS): $(WORKER_LIB_SRC) workers/http.h workers/netcheck.h
$(WORKER_LIB_TESTS): private ALL_CFLAGS += $(shell $(PKG_CONFIG) --cflags libcurl)
$(WORKER_LIB_TESTS): private LIBS += $(shell $(PKG_CONFIG) --libs libcurl)

# conf.o carries LIBEXECDIR: rebuild it when PREFIX changes.
$(B)/libexecdir.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(LIBEXECDIR)' | cmp -s - $@ || echo '$(LIBEXECDIR)' >$@
$(B)/obj/supervisor/conf.o: $(B)/libexecdir.stamp
FORCE:

# The webhook tests' receiver (Node): its npm dependencies come from the
# committed lockfile, installed with npm ci under build/receiver.
RECEIVER	 = $(B)/receiver/receiver.js $(B)/receiver/node_modules/.hivejob-npm-ci
$(B)/receiver/receiver.js: tests/receiver/receiver.js
	@mkdir -p $(@D)
	cp $< $@
$(B)/receiver/node_modules/.hivejob-npm-ci: tests/receiver/package.json tests/receiver/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: run scripts/deps test as root" >&2; exit 69; }
	@mkdir -p $(B)/receiver
	cp tests/receiver/package.json tests/receiver/package-lock.json $(B)/receiver/
	cd $(B)/receiver && npm ci --no-audit --no-fund
	touch $@
$(B)/tests/integ_test_webhook: $(RECEIVER)

# The feedback tests' OpenAI-compatible model server (Node, no npm deps).
FAKEAI		 = $(B)/fakeai/fakeai.js
$(B)/fakeai/fakeai.js: tests/fakeai/fakeai.js
	@mkdir -p $(@D)
	cp $< $@
$(B)/tests/integ_test_feedback: $(FAKEAI)

# The metrics test's validator: promtool from Debian's prometheus package,
# unpacked under build/promtool, never installed.
PROMTOOL	 = $(B)/promtool/usr/bin/promtool
$(PROMTOOL):
	@mkdir -p $(B)/promtool
	@command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || \
	    { echo "promtool: needs apt-get and dpkg-deb (Debian's prometheus package)" >&2; exit 69; }
	cd $(B)/promtool && rm -f prometheus_*.deb && \
	    { apt-get download prometheus || \
	    { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get download prometheus; \
	    else echo "promtool: apt-get download prometheus failed; run apt-get update as root" >&2; \
	    exit 69; fi; }; } && dpkg-deb -x prometheus_*.deb . && rm -f prometheus_*.deb
	test -x $@ && touch $@
$(B)/tests/integ_test_metrics: $(PROMTOOL)

# Workers that misbehave on purpose, for the runner's tests.
$(B)/tests/workers/%: tests/workers/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $<

deps:
	@scripts/deps test

check:
	@scripts/deps test
	@$(MAKE) --no-print-directory all $(TESTS) $(TEST_WORKERS)
	tests/run $(TESTS)

demo:
	@scripts/deps demo
	@$(MAKE) --no-print-directory all $(B)/examples/receiver
	scripts/pgtmp run scripts/demo

$(B)/examples/receiver: examples/receiver.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $<

bench:
	@scripts/deps demo
	@$(MAKE) --no-print-directory all $(B)/bench/forkrate
	scripts/pgtmp run bench/run

$(B)/bench/forkrate: bench/forkrate.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $<

lint: all
	mandoc -Tlint -Wwarning $(MANPAGES)
	sh -n scripts/deps scripts/sql2c
	bash -n scripts/pgtmp scripts/demo tests/run bench/run
	@if command -v cppcheck >/dev/null; then \
	    cppcheck -q --error-exitcode=1 --enable=warning,portability \
	    --inline-suppr -D_GNU_SOURCE -Icommon -Ictl -Isupervisor -Irunner common ctl supervisor runner workers; fi

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBEXECDIR) \
	    $(DESTDIR)$(DATADIR)/sql/river $(DESTDIR)$(DATADIR)/sql/hivejob
	install -m 0755 $(B)/bin/hivejobctl $(DESTDIR)$(BINDIR)/
	install -m 0755 $(B)/bin/hivejobd $(DESTDIR)$(SBINDIR)/
	install -m 0755 $(WORKERS) $(DESTDIR)$(LIBEXECDIR)/
	install -d $(DESTDIR)$(DATADIR)/vader
	install -m 0644 data/vader/* $(DESTDIR)$(DATADIR)/vader/
	install -m 0644 sql/roles.sql $(DESTDIR)$(DATADIR)/sql/
	install -m 0644 sql/river/main.sql $(DESTDIR)$(DATADIR)/sql/river/
	install -m 0644 $(wildcard sql/hivejob/*.sql) $(DESTDIR)$(DATADIR)/sql/hivejob/
	@for m in $(MANPAGES); do \
	    s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
	    echo install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; \
	    install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	@# The unit names hivejobd by its installed path; /etc is never written.
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR)
	sed 's|/usr/local/sbin/|$(SBINDIR)/|g' etc/hivejobd.service >$(DESTDIR)$(SYSTEMDUNITDIR)/hivejobd.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/hivejobd.service
	install -m 0644 etc/hivejob.sysusers $(DESTDIR)$(SYSUSERSDIR)/hivejob.conf
	install -m 0644 etc/hivejobd.conf.example $(DESTDIR)$(DATADIR)/hivejobd.conf.example
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 etc/hivejobctl.bash-completion \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/hivejobctl

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hivejobctl $(DESTDIR)$(SBINDIR)/hivejobd
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/hivejobd.service $(DESTDIR)$(SYSUSERSDIR)/hivejob.conf
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(LIBEXECDIR)
	rm -f $(DESTDIR)$(PREFIX)/share/bash-completion/completions/hivejobctl
	@for m in $(MANPAGES); do s=$${m##*.}; b=$${m##*/}; \
	    rm -f $(DESTDIR)$(MANDIR)/man$$s/$$b; done

clean:
	rm -rf $(B)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
