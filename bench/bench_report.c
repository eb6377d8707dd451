#include "bench_report.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void bench_pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (cpu < 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (long i = 0; i < n && i < CPU_SETSIZE; i++) CPU_SET((int)i, &set);
  } else {
    CPU_SET(cpu, &set);
  }
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void report(const char *name, double ours, double floor, const char *unit, double ratio,
                   double target) {
  printf("bench %s ours=%.4g %s floor=%.4g %s ratio=%.2f target=%.2f%s\n", name, ours, unit,
         floor, unit, ratio, target, ratio <= target ? "" : " MISSED");
  fflush(stdout);
}

void bench_report_time(const char *name, double ours, double floor, const char *unit,
                       double target) {
  report(name, ours, floor, unit, ours / floor, target);
}

void bench_report_rate(const char *name, double ours, double floor, const char *unit,
                       double target) {
  report(name, ours, floor, unit, floor / ours, target);
}

void bench_report_budget(const char *name, double ours, double budget, const char *unit) {
  report(name, ours, budget, unit, ours / budget, 1.0);
}

double bench_best_ns_per_op(void (*fn)(void *arg, long iterations), void *arg, long iterations,
                            int rounds) {
  double best = 0;
  for (int r = 0; r < rounds; r++) {
    uint64_t t0 = bench_now_ns();
    fn(arg, iterations);
    double ns = (double)(bench_now_ns() - t0) / (double)iterations;
    if (r == 0 || ns < best) best = ns;
  }
  return best;
}
