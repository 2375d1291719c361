// SPDX-License-Identifier: GPL-2.0
/*
 * lol-bench output: the header (host, clock, accelerator, method), the
 * table, the goals, and the JSON file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/utsname.h>

#include "bench.h"

static const char *const group_names[BG_NR] = {
	[BG_SYSCALL] = "guest-syscall round trip",
	[BG_FAULT] = "guest page-fault round trip",
	[BG_ASSWITCH] = "address-space switch",
	[BG_HOSTTAX] = "host tax",
	[BG_SEED] = "seed host table",
};

const char *bench_group_name(enum bench_group g)
{
	return g < BG_NR ? group_names[g] : "?";
}

static const char *clock_name(clockid_t c)
{
	switch (c) {
	case CLOCK_MONOTONIC:
		return "CLOCK_MONOTONIC";
	case CLOCK_THREAD_CPUTIME_ID:
		return "CLOCK_THREAD_CPUTIME_ID";
	case CLOCK_PROCESS_CPUTIME_ID:
		return "CLOCK_PROCESS_CPUTIME_ID";
	default:
		return "?";
	}
}

static void cpu_model(char *buf, size_t len)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *v;

		if (strncmp(line, "model name", 10))
			continue;
		v = strchr(line, ':');
		if (!v)
			continue;
		v++;
		while (*v == ' ' || *v == '\t')
			v++;
		v[strcspn(v, "\n")] = '\0';
		snprintf(buf, len, "%s", v);
		break;
	}
	fclose(f);
}

void bench_host_info(struct bench_host *h, const struct bench_opts *o)
{
	struct utsname u;
	struct timespec res;
	const char *accel = getenv("LOL_ACCEL");
	time_t now = time(NULL);

	(void)o;
	memset(h, 0, sizeof(*h));
	if (!uname(&u))
		snprintf(h->kernel, sizeof(h->kernel), "%s %s %s %s",
			 u.sysname, u.release, u.version, u.machine);
	else
		snprintf(h->kernel, sizeof(h->kernel), "unknown");
	cpu_model(h->cpu_model, sizeof(h->cpu_model));
	snprintf(h->accel, sizeof(h->accel), "%s",
		 accel && *accel ? accel : "native");
	clock_getres(CLOCK_MONOTONIC, &res);
	snprintf(h->clock, sizeof(h->clock),
		 "CLOCK_MONOTONIC (resolution %ld ns)",
		 res.tv_sec * 1000000000L + res.tv_nsec);
	strftime(h->date, sizeof(h->date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	h->online_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
}

void bench_print_header(const struct bench_host *h, const struct bench_opts *o)
{
	printf("lol-bench  %s\n", h->date);
	printf("  kernel       %s\n", h->kernel);
	printf("  cpu          %s (%d online)\n", h->cpu_model, h->online_cpus);
	printf("  accelerator  %s%s\n", h->accel,
	       strcasestr(h->accel, "icount") ?
	       " (guest clock counts instructions)" : "");
	printf("  clock        %s; host-tax rows: CLOCK_THREAD_CPUTIME_ID\n",
	       h->clock);
	if (o->cpu >= 0)
		printf("  pinning      every benchmark process and its peers pinned to CPU %d (sched_setaffinity)\n",
		       o->cpu);
	else
		printf("  pinning      none (no CPU to pin to)\n");
	if (o->iters)
		printf("  method       warm-up >= %.0f ms, then %u runs x %llu iterations; per-op min/median/max over runs\n",
		       o->warmup_ns / 1e6, o->runs,
		       (unsigned long long)o->iters);
	else
		printf("  method       warm-up >= %.0f ms, then %u runs x M iterations, M calibrated to ~%.0f ms a run; per-op min/median/max over runs\n",
		       o->warmup_ns / 1e6, o->runs, o->run_ns / 1e6);
	printf("\n");
}

const char *bench_fmt_value(const struct bench_result *r, double ns,
			    char *buf, size_t len)
{
	if (r->b->unit == BU_MBS) {
		snprintf(buf, len, "%.0f MB/s",
			 ns > 0 ? (double)r->op_bytes / ns * 1e9 / 1048576.0 : 0);
	} else if (ns < 1e3) {
		snprintf(buf, len, "%.1f ns", ns);
	} else if (ns < 1e6) {
		snprintf(buf, len, "%.2f us", ns / 1e3);
	} else {
		snprintf(buf, len, "%.2f ms", ns / 1e6);
	}
	return buf;
}

/* ---- goals ---- */

static const struct bench_result *find(const struct bench_result *res,
				       size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(res[i].b->id, id))
			return &res[i];
	return NULL;
}

const char *bench_verdict_name(enum goal_verdict v)
{
	return v == GV_PASS ? "PASS" : v == GV_MISS ? "MISS" : "n/a";
}

void bench_eval_goal(const struct bench_goal *g,
		     const struct bench_result *res, size_t n,
		     struct goal_eval *e)
{
	const struct bench_result *s = find(res, n, g->subject), *ref = NULL;
	char a[32], b[32];
	int i;

	memset(e, 0, sizeof(*e));
	e->v = GV_NA;
	if (!s) {
		snprintf(e->why, sizeof(e->why), "%s not run", g->subject);
		return;
	}
	if (!s->ok) {
		snprintf(e->why, sizeof(e->why), "%s: %s", g->subject,
			 s->reason);
		return;
	}
	/* Several references: compare with the fastest (the strictest). */
	for (i = 0; i < 2 && g->ref[i]; i++) {
		const struct bench_result *r = find(res, n, g->ref[i]);

		if (r && r->ok && r->median > 0 &&
		    (!ref || r->median < ref->median))
			ref = r;
	}
	if (!ref) {
		snprintf(e->why, sizeof(e->why), "reference %s not measured",
			 g->ref[0]);
		return;
	}
	if (s->median <= 0) {
		snprintf(e->why, sizeof(e->why), "%s median not positive",
			 g->subject);
		return;
	}
	bench_fmt_value(s, s->median, a, sizeof(a));
	bench_fmt_value(ref, ref->median, b, sizeof(b));
	switch (g->kind) {
	case GOAL_RATIO_LE:
		e->value = s->median / ref->median;
		e->v = e->value <= g->target ? GV_PASS : GV_MISS;
		snprintf(e->why, sizeof(e->why), "%.2fx %s (%s vs %s)",
			 e->value, ref->b->id, a, b);
		break;
	case GOAL_SPEEDUP_GE:
		e->value = ref->median / s->median;
		e->v = e->value >= g->target ? GV_PASS : GV_MISS;
		snprintf(e->why, sizeof(e->why), "%.2fx faster than %s (%s vs %s)",
			 e->value, ref->b->id, a, b);
		break;
	case GOAL_TAX_LE:
		e->value = s->median / ref->median - 1;
		e->v = e->value <= g->target ? GV_PASS : GV_MISS;
		snprintf(e->why, sizeof(e->why), "tax %+.1f%% (%s vs %s)",
			 e->value * 100, a, b);
		break;
	}
}

/*
 * Verdict of all goals whose subject is @r: "" when it is none's, "n/a"
 * when one cannot be judged, else "PASS" or "MISS G2 ..." (the misses).
 */
static const char *row_goal(const struct bench_result *r,
			    const struct bench_result *res, size_t n)
{
	static char buf[64];
	struct goal_eval e;
	size_t i;
	int any = 0, na = 0, miss = 0;

	buf[0] = '\0';
	for (i = 0; i < bench_goals_len; i++) {
		if (strcmp(bench_goals[i].subject, r->b->id))
			continue;
		any = 1;
		bench_eval_goal(&bench_goals[i], res, n, &e);
		if (e.v == GV_NA)
			na = 1;
		else if (e.v == GV_MISS)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
				 "%s%s", miss++ ? "," : "MISS ",
				 bench_goals[i].id);
	}
	if (!any)
		return "";
	if (na)
		return "n/a";
	return miss ? buf : "PASS";
}

/* ---- table ---- */

void bench_print_table(const struct bench_result *res, size_t n)
{
	const struct bench_result *ref = find(res, n, BENCH_REF_ID);
	int group = -1, nnotes = 0;
	char med[32], lo[32], hi[32], ratio[32];
	size_t i;

	printf("%-26s %-27s %11s %11s %11s %9s  %s\n", "mechanism",
	       "operation", "median", "min", "max", "x getpid", "goal");
	for (i = 0; i < n; i++) {
		const struct bench_result *r = &res[i];

		if ((int)r->b->group != group) {
			group = r->b->group;
			printf("-- %s%s\n", bench_group_name(r->b->group),
			       r->b->group == BG_SEED ? " (MB = 2^20 bytes)" : "");
		}
		if (!r->ok) {
			printf("%-26s %-27s n/a (%s)%*s%s\n", r->b->mech,
			       r->b->op, r->reason, 2, "",
			       row_goal(r, res, n));
			continue;
		}
		if (r->b->unit == BU_MBS) {
			/* Throughput: min column = slowest run. */
			bench_fmt_value(r, r->median, med, sizeof(med));
			bench_fmt_value(r, r->max, lo, sizeof(lo));
			bench_fmt_value(r, r->min, hi, sizeof(hi));
			snprintf(ratio, sizeof(ratio), "-");
		} else {
			bench_fmt_value(r, r->median, med, sizeof(med));
			bench_fmt_value(r, r->min, lo, sizeof(lo));
			bench_fmt_value(r, r->max, hi, sizeof(hi));
			if (ref && ref->ok && ref->median > 0)
				snprintf(ratio, sizeof(ratio), "%.2fx",
					 r->median / ref->median);
			else
				snprintf(ratio, sizeof(ratio), "-");
		}
		printf("%-26s %-27s %11s %11s %11s %9s  %s%s\n", r->b->mech,
		       r->b->op, med, lo, hi, ratio, row_goal(r, res, n),
		       r->note[0] || r->b->clock != CLOCK_MONOTONIC ? " *" : "");
	}

	for (i = 0; i < n; i++) {
		const struct bench_result *r = &res[i];

		if (!r->ok || (!r->note[0] && r->b->clock == CLOCK_MONOTONIC))
			continue;
		if (!nnotes++)
			printf("\n* notes\n");
		printf("  %-18s ", r->b->id);
		if (r->b->clock != CLOCK_MONOTONIC)
			printf("clock %s%s", clock_name(r->b->clock),
			       r->note[0] ? "; " : "");
		printf("%s\n", r->note);
	}

	printf("\ngoals\n");
	for (i = 0; i < bench_goals_len; i++) {
		struct goal_eval e;

		bench_eval_goal(&bench_goals[i], res, n, &e);
		printf("  %s  %-52s %-4s  %s\n", bench_goals[i].id,
		       bench_goals[i].text, bench_verdict_name(e.v), e.why);
	}
}

/* ---- JSON ---- */

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_num(FILE *f, double v)
{
	fprintf(f, "%.6g", v);
}

/* Value in the row's unit: ns, or MB/s for throughput rows. */
static double unit_value(const struct bench_result *r, double ns)
{
	if (r->b->unit == BU_MBS)
		return ns > 0 ? (double)r->op_bytes / ns * 1e9 / 1048576.0 : 0;
	return ns;
}

int bench_write_json(const char *path, const struct bench_host *h,
		     const struct bench_opts *o,
		     const struct bench_result *res, size_t n)
{
	const struct bench_result *ref = find(res, n, BENCH_REF_ID);
	FILE *f = fopen(path, "w");
	size_t i;
	unsigned int k;

	if (!f)
		return -errno;
	fprintf(f, "{\n  \"tool\": \"lol-bench\",\n  \"format\": 1,\n");
	fprintf(f, "  \"date\": ");
	json_str(f, h->date);
	fprintf(f, ",\n  \"accelerator\": ");
	json_str(f, h->accel);
	fprintf(f, ",\n  \"kernel\": ");
	json_str(f, h->kernel);
	fprintf(f, ",\n  \"cpu_model\": ");
	json_str(f, h->cpu_model);
	fprintf(f, ",\n  \"online_cpus\": %d,\n  \"clock\": ", h->online_cpus);
	json_str(f, h->clock);
	fprintf(f, ",\n  \"pinned_cpu\": %d,\n  \"quick\": %s,\n"
		"  \"runs\": %u,\n  \"run_target_ms\": %.0f,\n"
		"  \"warmup_ms\": %.0f,\n  \"reference\": \"%s\",\n"
		"  \"results\": [\n",
		o->cpu, o->quick ? "true" : "false", o->runs,
		o->iters ? 0 : o->run_ns / 1e6, o->warmup_ns / 1e6,
		BENCH_REF_ID);

	for (i = 0; i < n; i++) {
		const struct bench_result *r = &res[i];
		int mbs = r->b->unit == BU_MBS;

		fprintf(f, "    {\"id\": ");
		json_str(f, r->b->id);
		fprintf(f, ", \"group\": ");
		json_str(f, bench_group_name(r->b->group));
		fprintf(f, ", \"mechanism\": ");
		json_str(f, r->b->mech);
		fprintf(f, ", \"operation\": ");
		json_str(f, r->b->op);
		fprintf(f, ", \"unit\": \"%s\", \"clock\": \"%s\"",
			mbs ? "MB/s" : "ns", clock_name(r->b->clock));
		fprintf(f, ", \"status\": \"%s\"", r->ok ? "ok" : "n/a");
		if (!r->ok) {
			fprintf(f, ", \"reason\": ");
			json_str(f, r->reason);
			fprintf(f, ", \"median\": null, \"min\": null, \"max\": null, \"runs\": 0, \"ratio_to_native\": null");
		} else {
			fprintf(f, ", \"median\": ");
			json_num(f, unit_value(r, r->median));
			/* For MB/s, min is the slowest run. */
			fprintf(f, ", \"min\": ");
			json_num(f, unit_value(r, mbs ? r->max : r->min));
			fprintf(f, ", \"max\": ");
			json_num(f, unit_value(r, mbs ? r->min : r->max));
			fprintf(f, ", \"runs\": %u, \"iters_per_run\": %llu",
				r->runs, (unsigned long long)r->iters);
			if (mbs)
				fprintf(f, ", \"bytes_per_op\": %llu",
					(unsigned long long)r->op_bytes);
			fprintf(f, ", \"ratio_to_native\": ");
			if (!mbs && ref && ref->ok && ref->median > 0)
				json_num(f, r->median / ref->median);
			else
				fputs("null", f);
			fprintf(f, ", \"samples\": [");
			for (k = 0; k < r->runs; k++) {
				if (k)
					fputs(", ", f);
				json_num(f, unit_value(r, r->per_op[k]));
			}
			fputc(']', f);
		}
		fprintf(f, ", \"pinned_cpu\": %d", r->cpu);
		if (r->note[0]) {
			fprintf(f, ", \"note\": ");
			json_str(f, r->note);
		}
		fprintf(f, ", \"goal\": ");
		if (*row_goal(r, res, n))
			json_str(f, row_goal(r, res, n));
		else
			fputs("null", f);
		fprintf(f, "}%s\n", i + 1 < n ? "," : "");
	}

	fprintf(f, "  ],\n  \"goals\": [\n");
	for (i = 0; i < bench_goals_len; i++) {
		const struct bench_goal *g = &bench_goals[i];
		struct goal_eval e;

		bench_eval_goal(g, res, n, &e);
		fprintf(f, "    {\"id\": \"%s\", \"text\": ", g->id);
		json_str(f, g->text);
		fprintf(f, ", \"subject\": \"%s\", \"reference\": [\"%s\"",
			g->subject, g->ref[0]);
		if (g->ref[1])
			fprintf(f, ", \"%s\"", g->ref[1]);
		fprintf(f, "], \"target\": ");
		json_num(f, g->target);
		fprintf(f, ", \"value\": ");
		if (e.v == GV_NA)
			fputs("null", f);
		else
			json_num(f, e.value);
		fprintf(f, ", \"verdict\": \"%s\", \"detail\": ",
			bench_verdict_name(e.v));
		json_str(f, e.why);
		fprintf(f, "}%s\n", i + 1 < bench_goals_len ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	if (fclose(f))
		return -errno;
	return 0;
}
