#include "test_support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cm_test_count_open_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d)
    return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.')
      n++;
  }
  closedir(d);
  return n - 1; /* the directory stream's own fd */
}

int cm_test_count_mappings(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f)
    return -1;
  int n = 0, c;
  while ((c = fgetc(f)) != EOF) {
    if (c == '\n')
      n++;
  }
  fclose(f);
  return n;
}

int cm_test_count_shm_mappings(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f)
    return -1;
  char line[512];
  int n = 0;
  while (fgets(line, sizeof(line), f)) {
    if (strstr(line, "/memfd:"))
      n++;
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

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t cm_test_replay_dir(const char *dir, cm_test_input_fn fn, void *ctx) {
  DIR *d = opendir(dir);
  if (!d)
    fail_msg("cannot open %s", dir);
  char **names = NULL;
  size_t count = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.')
      continue;
    char **grown = realloc(names, (count + 1) * sizeof(*names));
    assert_non_null(grown);
    names = grown;
    names[count] = strdup(e->d_name);
    assert_non_null(names[count]);
    count++;
  }
  closedir(d);
  if (count)
    qsort(names, count, sizeof(*names), compare_names);
  for (size_t i = 0; i < count; i++) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
      fail_msg("cannot read %s", path);
    size_t size = (size_t)st.st_size;
    uint8_t *data = malloc(size ? size : 1);
    assert_non_null(data);
    if (fread(data, 1, size, f) != size || ferror(f))
      fail_msg("cannot read %s", path);
    fclose(f);
    fn(names[i], data, size, ctx);
    free(data);
    free(names[i]);
  }
  free(names);
  return count;
}

void cm_test_write_file(const char *dir, const char *name, const uint8_t *data, size_t size) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(1);
  }
}
