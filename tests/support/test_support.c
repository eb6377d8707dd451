#include "test_support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cm_test_count_shm_mappings(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return -1;
  char line[512];
  int n = 0;
  while (fgets(line, sizeof(line), f)) {
    if (strstr(line, "/memfd:")) n++;
  }
  fclose(f);
  return n;
}

typedef struct resource_baseline {
  int fds;
  int maps;
} resource_baseline;

int cm_test_setup_resources(void **state) {
  static resource_baseline b;
  b.fds = cm_test_count_open_fds();
  b.maps = cm_test_count_shm_mappings();
  *state = &b;
  return 0;
}

int cm_test_teardown_resources(void **state) {
  const resource_baseline *b = *state;
  int fds = cm_test_count_open_fds(), maps = cm_test_count_shm_mappings();
  if (fds != b->fds || maps != b->maps) {
    print_error("leak: fds %d -> %d, shared memory mappings %d -> %d\n", b->fds, fds, b->maps,
                maps);
    return -1;
  }
  return 0;
}

uint64_t cm_test_seed(uint64_t fallback) {
  const char *s = getenv("CMOJO_TEST_SEED");
  return s ? strtoull(s, NULL, 0) : fallback;
}
