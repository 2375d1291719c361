// SPDX-License-Identifier: GPL-2.0
/*
 * insnprof: a QEMU TCG plugin that counts, per guest-virtual instruction
 * address, the instructions executed between two marker addresses
 * (lol-bench --profile calls a page at BENCH_PROF_ON before the runs it
 * measures and one at BENCH_PROF_OFF after). scripts/profile.sh builds
 * it, loads it with -plugin and turns the counts into functions with the
 * guest's /proc/kallsyms. Under -icount an instruction is a nanosecond of
 * guest time, so these counts are exactly the benchmark's figures, split
 * by where they were spent.
 *
 * Debian packages QEMU with plugin support but without its header
 * (qemu-plugin.h); the few calls used here are declared below as QEMU
 * 7.2's plugin API, version 1, documents them.
 *
 * Usage: -plugin insnprof.so,out=FILE
 * FILE: "# windows N", then "ADDR COUNT" (16 hex digits, decimal) for
 * every address executed inside the markers.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;

enum qemu_plugin_cb_flags {
	QEMU_PLUGIN_CB_NO_REGS,
	QEMU_PLUGIN_CB_R_REGS,
	QEMU_PLUGIN_CB_RW_REGS,
};

enum qemu_plugin_op {
	QEMU_PLUGIN_INLINE_ADD_U64,
};

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
	void (*cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb));
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
						 size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn,
	void (*cb)(unsigned int vcpu_index, void *userdata),
	enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *insn,
						enum qemu_plugin_op op,
						void *ptr, uint64_t imm);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
	void (*cb)(qemu_plugin_id_t id, void *userdata), void *userdata);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* userspace/bench/bench.h */
#define MARK_ON		0x7e570000ULL
#define MARK_OFF	0x7e571000ULL

/*
 * One counter per translated instruction (a retranslated address gets
 * another: they are summed at the end). QEMU adds to it inline; the
 * markers snapshot all of them.
 */
struct insn {
	uint64_t vaddr;
	uint64_t count;		/* executions since boot */
	uint64_t mark;		/* count at the last MARK_ON */
	uint64_t inside;	/* executions between the markers */
};

static struct insn **insns;
static size_t nr_insns, cap_insns;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t windows;
static bool open_window;
static const char *out_path = "insnprof.out";

static void mark_on(unsigned int vcpu, void *data)
{
	size_t i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nr_insns; i++)
		insns[i]->mark = insns[i]->count;
	open_window = true;
	pthread_mutex_unlock(&lock);
}

static void mark_off(unsigned int vcpu, void *data)
{
	size_t i;

	pthread_mutex_lock(&lock);
	if (open_window) {
		/* Translated inside the window: its mark is 0, as it should. */
		for (i = 0; i < nr_insns; i++)
			insns[i]->inside += insns[i]->count - insns[i]->mark;
		windows++;
		open_window = false;
	}
	pthread_mutex_unlock(&lock);
}

static void translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);

	pthread_mutex_lock(&lock);
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *qi = qemu_plugin_tb_get_insn(tb, i);
		struct insn *in;

		if (nr_insns == cap_insns) {
			cap_insns = cap_insns ? 2 * cap_insns : 1 << 16;
			insns = realloc(insns, cap_insns * sizeof(*insns));
			if (!insns)
				abort();
		}
		in = calloc(1, sizeof(*in));
		if (!in)
			abort();
		in->vaddr = qemu_plugin_insn_vaddr(qi);
		insns[nr_insns++] = in;
		qemu_plugin_register_vcpu_insn_exec_inline(qi,
			QEMU_PLUGIN_INLINE_ADD_U64, &in->count, 1);
		if (in->vaddr == MARK_ON)
			qemu_plugin_register_vcpu_insn_exec_cb(qi, mark_on,
				QEMU_PLUGIN_CB_NO_REGS, NULL);
		else if (in->vaddr == MARK_OFF)
			qemu_plugin_register_vcpu_insn_exec_cb(qi, mark_off,
				QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
	pthread_mutex_unlock(&lock);
}

static void write_out(qemu_plugin_id_t id, void *data)
{
	FILE *f = fopen(out_path, "w");
	size_t i;

	if (!f) {
		perror(out_path);
		return;
	}
	fprintf(f, "# windows %llu\n", (unsigned long long)windows);
	for (i = 0; i < nr_insns; i++)
		if (insns[i]->inside)
			fprintf(f, "%016llx %llu\n",
				(unsigned long long)insns[i]->vaddr,
				(unsigned long long)insns[i]->inside);
	fclose(f);
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc,
			char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4)) {
			out_path = argv[i] + 4;
		} else {
			fprintf(stderr, "insnprof: unknown argument '%s'\n",
				argv[i]);
			return -1;
		}
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, translate);
	qemu_plugin_register_atexit_cb(id, write_out, NULL);
	return 0;
}
