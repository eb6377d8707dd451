/*
 * mojomc must answer every input with exit status 0 or 1: never a crash, a
 * sanitizer report (the test environment maps those to other statuses), or a
 * hang. This driver feeds it prefixes of valid files and randomly corrupted
 * copies (fixed seed, so every run tries the same inputs), then checks the
 * limits that protect it from hostile input and the command-line errors.
 *
 *   mojomc_robustness <mojomc> <scratch dir> <seed.mojom>...
 *
 * Seeds may import files from "include/" next to them; -I points there.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

enum { RUN_TIMEOUT_MS = 20000, PREFIXES_PER_SEED = 400, MUTANTS_PER_SEED = 300 };

static const char *mojomc;
static const char *scratch;
static int failures;

struct buf {
  char *data;
  size_t len;
};

static bool read_all(const char *path, struct buf *b) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return false;
  b->data = NULL;
  b->len = 0;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    char *p = realloc(b->data, b->len + n + 1);
    if (!p)
      abort();
    b->data = p;
    memcpy(b->data + b->len, chunk, n);
    b->len += n;
  }
  fclose(f);
  if (!b->data)
    b->data = calloc(1, 1);
  else
    b->data[b->len] = '\0';
  return b->data != NULL;
}

static void write_file(const char *path, const char *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
    fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
    exit(2);
  }
}

/* Runs mojomc with `args` (NULL-terminated, without argv[0]); its stdout goes
 * to /dev/null and its stderr to `err_path`. Returns the exit status, or -1
 * after reporting a signal or a timeout. */
static int run(const char *const *args, const char *err_path) {
  const char *argv[32] = {mojomc};
  int argc = 1;
  for (; args[argc - 1] && argc < 31; argc++)
    argv[argc] = args[argc - 1];
  argv[argc] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid;
  int rc = posix_spawn(&pid, mojomc, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    fprintf(stderr, "cannot run %s: %s\n", mojomc, strerror(rc));
    exit(2);
  }
  int status;
  for (int waited = 0;; waited++) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      break;
    if (waited >= RUN_TIMEOUT_MS) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  if (WIFSIGNALED(status))
    return -1;
  return WEXITSTATUS(status);
}

static char *path_in_scratch(const char *name) {
  static char path[4096];
  snprintf(path, sizeof path, "%s/%s", scratch, name);
  return path;
}

/* One fuzz case: the input must be accepted (0) or rejected (1), nothing else. */
static void check_input(const char *data, size_t len, const char *include, const char *what) {
  char input[4096], err[4096];
  snprintf(input, sizeof input, "%s/robust_input.mojom", scratch);
  snprintf(err, sizeof err, "%s/robust_stderr.txt", scratch);
  write_file(input, data, len);
  const char *args[] = {"--dump-layout", "-I", include, "-D", "linux", input, NULL};
  int status = run(args, err);
  if (status == 0 || status == 1)
    return;
  failures++;
  char keep[4096];
  snprintf(keep, sizeof keep, "%s/robust_failure_%d.mojom", scratch, failures);
  write_file(keep, data, len);
  fprintf(stderr, "FAIL %s: status %d (timeout/signal = -1); input saved as %s\n", what, status,
          keep);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Applies one to three random edits: set a byte, put in a grammar character,
 * delete a range, or duplicate a range. */
static size_t mutate(char *out, const struct buf *seed, size_t cap) {
  static const char interesting[] = "{}<>[]();,@=?\"/*.\n0-x\\";
  memcpy(out, seed->data, seed->len);
  size_t len = seed->len;
  int edits = 1 + (int)(rng() % 3);
  for (int e = 0; e < edits && len > 0; e++) {
    size_t at = rng() % len;
    size_t span = 1 + rng() % 16;
    if (span > len - at)
      span = len - at;
    switch (rng() % 4) {
      case 0:
        out[at] = (char)(rng() & 0xff);
        break;
      case 1:
        out[at] = interesting[rng() % (sizeof interesting - 1)];
        break;
      case 2:
        memmove(out + at, out + at + span, len - at - span);
        len -= span;
        break;
      default:
        if (len + span <= cap) {
          memmove(out + at + span, out + at, len - at);
          len += span;
        }
    }
  }
  return len;
}

static void fuzz_seed(const char *seed_path) {
  struct buf seed;
  if (!read_all(seed_path, &seed)) {
    fprintf(stderr, "cannot read seed %s\n", seed_path);
    exit(2);
  }
  char include[4096];
  snprintf(include, sizeof include, "%s", seed_path);
  char *slash = strrchr(include, '/');
  snprintf(slash ? slash + 1 : include, sizeof include - (size_t)(slash ? slash + 1 - include : 0),
           "include");
  size_t stride = seed.len / PREFIXES_PER_SEED + 1;
  for (size_t n = 0; n <= seed.len; n += stride)
    check_input(seed.data, n, include, "prefix");
  size_t cap = seed.len + 64;
  char *out = malloc(cap);
  if (!out)
    abort();
  for (int i = 0; i < MUTANTS_PER_SEED; i++)
    check_input(out, mutate(out, &seed, cap), include, "mutant");
  free(out);
  free(seed.data);
}

/* ---- limits and command-line errors: exact statuses and messages ---- */

/* Runs mojomc and requires `status` and a stderr that contains `needle`. */
static void expect(const char *const *args, int status, const char *needle, const char *what) {
  char err[4096];
  snprintf(err, sizeof err, "%s/limit_stderr.txt", scratch);
  int got = run(args, err);
  struct buf out = {0};
  bool found = read_all(err, &out) && strstr(out.data, needle);
  if (got != status || !found) {
    failures++;
    fprintf(stderr, "FAIL %s: status %d (want %d), stderr:\n%s\n", what, got, status,
            out.data ? out.data : "");
  }
  free(out.data);
}

static void check_huge_file(void) {
  size_t len = (16u << 20) + 1;
  char *data = malloc(len);
  if (!data)
    abort();
  memset(data, ' ', len);
  char path[4096];
  snprintf(path, sizeof path, "%s", path_in_scratch("huge.mojom"));
  write_file(path, data, len);
  free(data);
  const char *args[] = {path, NULL};
  expect(args, 1, "is larger than", "file over the size limit");
  unlink(path);
}

/* c0 imports c1 imports ... c69: deeper than the import limit. */
static void check_import_depth(void) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", path_in_scratch("chain"));
  mkdir(dir, 0755);
  for (int i = 0; i < 70; i++) {
    char path[4200], text[64];
    snprintf(path, sizeof path, "%s/c%d.mojom", dir, i);
    int n = snprintf(text, sizeof text, "import \"c%d.mojom\";\n", i + 1);
    write_file(path, text, i == 69 ? 0 : (size_t)n);
  }
  char first[4200];
  snprintf(first, sizeof first, "%s/c0.mojom", dir);
  const char *args[] = {first, NULL};
  expect(args, 1, "imports are nested more than 64 deep", "import chain");
}

static void check_long_list(void) {
  size_t cap = 5000 * 24 + 64, len = 0;
  char *text = malloc(cap);
  if (!text)
    abort();
  len += (size_t)snprintf(text, cap, "struct S {\n");
  for (int i = 0; i < 5000; i++)
    len += (size_t)snprintf(text + len, cap - len, "  int8 f%d;\n", i);
  len += (size_t)snprintf(text + len, cap - len, "};\n");
  char path[4096];
  snprintf(path, sizeof path, "%s", path_in_scratch("long.mojom"));
  write_file(path, text, len);
  free(text);
  const char *args[] = {path, NULL};
  expect(args, 1, "too many elements in this list", "5000 fields");
}

static void check_command_line(const char *valid) {
  const char *missing[] = {path_in_scratch("does_not_exist.mojom"), NULL};
  expect(missing, 1, "cannot read", "missing input file");
  const char *directory[] = {scratch, NULL};
  expect(directory, 1, "cannot read", "directory as input");
  const char *emit[] = {"-o", "/dev/null/out", valid, NULL};
  expect(emit, 1, "cannot create directory", "-o where no directory can be");
  const char *bad[] = {"--no-such-option", valid, NULL};
  expect(bad, 2, "usage:", "unknown option");
  const char *no_value[] = {valid, "-I", NULL};
  expect(no_value, 2, "usage:", "-I without a directory");
  const char *none[] = {NULL};
  expect(none, 2, "usage:", "no input file");
}

static void check_limits(const char *valid) {
  check_huge_file();
  check_import_depth();
  check_long_list();
  check_command_line(valid);
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <mojomc> <scratch dir> <seed.mojom>...\n", argv[0]);
    return 2;
  }
  mojomc = argv[1];
  scratch = argv[2];
  /* Keep sanitizer reports distinguishable from mojomc's own status 1. */
  setenv("ASAN_OPTIONS", "exitcode=86:detect_leaks=1", 0);
  setenv("UBSAN_OPTIONS", "exitcode=87", 0);
  for (int i = 3; i < argc; i++)
    fuzz_seed(argv[i]);
  check_limits(argv[3]);
  if (failures) {
    fprintf(stderr, "%d failure(s)\n", failures);
    return 1;
  }
  puts("all inputs answered with status 0 or 1");
  return 0;
}
