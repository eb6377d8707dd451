/* Replays fuzz/corpus/mojom_parse/ (seeds and saved reproducers) through the
 * mojom front-end fuzz target, fuzz/fuzz_mojom_parse.c, in an ordinary
 * build: every input must come back without a crash or a sanitizer report.
 *
 *   mojomc_fuzz_replay CORPUS_DIR [MIN_INPUTS]
 *
 * Each input's name is printed before it runs, so a crash names its input.
 * Exit status 0 when at least MIN_INPUTS (default 1) inputs were replayed. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads a whole regular file; NULL on failure. */
static uint8_t *read_all(const char *path, size_t *len) {
  struct stat st;
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  uint8_t *buf = NULL;
  if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (buf = malloc((size_t)st.st_size + 1)))
    *len = fread(buf, 1, (size_t)st.st_size, f);
  if (buf && (ferror(f) || *len != (size_t)st.st_size)) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  return buf;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: %s CORPUS_DIR [MIN_INPUTS]\n", argv[0]);
    return 2;
  }
  long min_inputs = argc == 3 ? strtol(argv[2], NULL, 10) : 1;
  DIR *d = opendir(argv[1]);
  if (!d) {
    perror(argv[1]);
    return 1;
  }
  char **names = NULL;
  size_t count = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.')
      continue;
    char **grown = realloc(names, (count + 1) * sizeof *names);
    if (!grown || !(grown[count] = strdup(e->d_name))) {
      fputs("out of memory\n", stderr);
      return 1;
    }
    names = grown;
    count++;
  }
  closedir(d);
  qsort(names, count, sizeof *names, compare_names);
  int status = 0;
  for (size_t i = 0; i < count; i++) {
    char path[4096];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", argv[1], names[i]);
    printf("replay %s\n", names[i]);
    fflush(stdout);
    uint8_t *data = read_all(path, &len);
    if (!data) {
      fprintf(stderr, "cannot read %s\n", path);
      status = 1;
    } else if (LLVMFuzzerTestOneInput(data, len) != 0) {
      fprintf(stderr, "%s: the fuzz target returned non-zero\n", path);
      status = 1;
    }
    free(data);
    free(names[i]);
  }
  free(names);
  printf("replayed %zu inputs from %s\n", count, argv[1]);
  if ((long)count < min_inputs) {
    fprintf(stderr, "expected at least %ld inputs\n", min_inputs);
    status = 1;
  }
  return status;
}
