/* libFuzzer target for mojomc's front end: the input is one or more .mojom
 * files, run through mojomc's own pipeline (load with imports, EnableIf
 * filter, resolve, checks, pack, --dump-layout output). Errors are a normal
 * outcome; crashes, hangs, leaks and sanitizer reports are the bugs.
 *
 * Input: the text of main.mojom, optionally followed by more files, each
 * introduced by a line "//--- NAME". NAME is a relative path of at most 100
 * bytes from [A-Za-z0-9_.-/] whose components are not empty and do not start
 * with '.' (e.g. mojo/public/mojom/base/time.mojom); other inputs are
 * skipped. The files are written to a private temporary directory, which is
 * also the one -I directory, so `import "NAME";` finds them. The features
 * "linux" and "x11" are enabled, as in tests/mojomc/golden/features.mojom. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* By relative path: tools/mojomc/features.h must not shadow <features.h>. */
#include "../tools/mojomc/analyze.h"
#include "../tools/mojomc/dump.h"
#include "../tools/mojomc/resolve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_FILES = 8, MAX_NAME = 100 };
static const char kMarker[] = "\n//--- ";
static char dir[] = "/tmp/fuzz_mojom_parse.XXXXXX";
static char paths[MAX_FILES][sizeof dir + MAX_NAME + 1]; /* files of this input */
static FILE *devnull;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag;
  return ftw->level > 0 ? remove(path) : 0; /* everything below dir */
}

static void clean_dir(void) {
  nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  memset(paths, 0, sizeof paths);
}

static void at_exit(void) {
  clean_dir();
  rmdir(dir);
}

/* Writes file i of the input; false (input skipped) for a bad or repeated name
 * or a path that cannot be created (e.g. "a" and "a/b"). */
static bool write_one(int i, const uint8_t *name, size_t len, const uint8_t *p, size_t n) {
  if (len == 0 || len > MAX_NAME || name[len - 1] == '/')
    return false;
  for (size_t k = 0; k < len; k++)
    if (!name[k] || !strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/",
                            name[k]) ||
        ((k == 0 || name[k - 1] == '/') && (name[k] == '.' || name[k] == '/')))
      return false;
  char *path = paths[i];
  size_t base = strlen(dir) + 1;
  snprintf(path, sizeof paths[i], "%s/%.*s", dir, (int)len, (const char *)name);
  for (size_t k = base; path[k]; k++) /* parent directories; errors show at fopen */
    if (path[k] == '/') {
      path[k] = '\0';
      mkdir(path, 0700);
      path[k] = '/';
    }
  FILE *f = fopen(path, "wbx"); /* x: a name given twice is refused */
  bool ok = f && fwrite(p, 1, n, f) == n;
  return (f ? fclose(f) == 0 : false) && ok;
}

/* Splits the input at the markers into files of the temporary directory. */
static bool write_files(const uint8_t *data, size_t size) {
  const uint8_t *name = (const uint8_t *)"main.mojom", *p = data, *end = data + size;
  size_t name_len = strlen("main.mojom");
  for (int i = 0; i < MAX_FILES; i++) {
    const uint8_t *m = memmem(p, (size_t)(end - p), kMarker, sizeof kMarker - 1);
    if (!write_one(i, name, name_len, p, (size_t)((m ? m : end) - p)))
      return false;
    if (!m)
      return true;
    name = m + sizeof kMarker - 1;
    const uint8_t *eol = memchr(name, '\n', (size_t)(end - name));
    if (!eol)
      return false;
    name_len = (size_t)(eol - name);
    p = eol + 1;
  }
  return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!devnull) {
    if (!mkdtemp(dir) || !(devnull = fopen("/dev/null", "w")))
      abort();
    atexit(at_exit);
  }
  clean_dir(); /* files of the previous input must not be importable */
  if (!write_files(data, size))
    return 0;
  static const char *const features[] = {"linux", "x11"};
  const char *const includes[] = {dir};
  struct mc_arena *arena = mc_arena_new();
  struct mc_ctx ctx;
  mc_ctx_init(&ctx, arena);
  ctx.include_dirs = includes;
  ctx.include_count = 1;
  ctx.features = (struct mc_feature_set){features, 2};
  /* The stages mojomc runs: load, then mc_analyze (resolve, check, pack). */
  struct mc_module *root = mc_load(&ctx, paths[0]);
  bool ok = root != NULL && mc_analyze(&ctx);
  if (ok)
    mc_dump_module(devnull, arena, root);
  mc_ctx_release(&ctx);
  mc_arena_free(arena);
  return 0;
}
