/* Shared helpers of the benchmark programs: timing, CPU pinning and the
 * report line of DESIGN §6:
 *   bench NAME ours=VALUE UNIT floor=VALUE UNIT ratio=R target=T
 * ratio = ours/floor for times and floor/ours for rates, so lower is always
 * better; target is the ratio the issue asks for. */
#ifndef CMOJO_BENCH_BENCH_REPORT_H_
#define CMOJO_BENCH_BENCH_REPORT_H_

#include <stdbool.h>
#include <stdint.h>

/* Monotonic time in nanoseconds. */
uint64_t bench_now_ns(void);

/* Pins the calling thread to `cpu`; -1 lets it run anywhere again. */
void bench_pin(int cpu);

/* A value measured lower-is-better (a time per operation, bytes). */
void bench_report_time(const char *name, double ours, double floor, const char *unit,
                       double target);
/* A value measured higher-is-better (a rate). */
void bench_report_rate(const char *name, double ours, double floor, const char *unit,
                       double target);
/* A figure with a fixed budget rather than a measured floor (e.g. the issue's
 * "at most 1 KiB"): floor is the budget, ratio = ours / budget. */
void bench_report_budget(const char *name, double ours, double budget, const char *unit);

/* Runs fn(arg, iterations) `rounds` times and returns the best time per
 * iteration in nanoseconds (the least disturbed run). */
double bench_best_ns_per_op(void (*fn)(void *arg, long iterations), void *arg, long iterations,
                            int rounds);

#endif /* CMOJO_BENCH_BENCH_REPORT_H_ */
