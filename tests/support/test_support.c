#include "test_support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

int cm_test_count_open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.') n++;
  }
  closedir(d);
  return n - 1; /* the directory stream's own fd */
}

int cm_test_count_mappings(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return -1;
  int n = 0, c;
  while ((c = fgetc(f)) != EOF) {
    if (c == '\n') n++;
  }
  fclose(f);
  return n;
}

uint64_t cm_test_seed(uint64_t fallback) {
  const char *s = getenv("CMOJO_TEST_SEED");
  return s ? strtoull(s, NULL, 0) : fallback;
}
