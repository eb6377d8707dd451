/* Reading mojom files and following their imports; see resolve.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diag.h"
#include "parser.h"
#include "resolve.h"

/* Reads a whole regular file into the arena; reports and returns false on failure. */
static bool read_file(struct mc_ctx *ctx, const char *path, struct mc_loc from,
                      struct mc_source *src) {
  FILE *f = fopen(path, "rb");
  struct stat st;
  if (!f || fstat(fileno(f), &st) != 0) {
    mc_error(from, "cannot read '%s': %s", path, strerror(errno));
    if (f)
      fclose(f);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    fclose(f);
    mc_error(from, "cannot read '%s': not a regular file", path);
    return false;
  }
  if (st.st_size > MC_MAX_FILE_BYTES) {
    fclose(f);
    mc_error(from, "'%s' is larger than %d bytes", path, MC_MAX_FILE_BYTES);
    return false;
  }
  size_t cap = (size_t)st.st_size;
  char *buf = mc_arena_alloc(ctx->arena, cap + 1);
  size_t len = fread(buf, 1, cap, f);
  bool failed = ferror(f) != 0;
  fclose(f);
  if (failed) {
    mc_error(from, "cannot read '%s'", path);
    return false;
  }
  src->path = mc_arena_strndup(ctx->arena, path, strlen(path));
  src->text = buf;
  src->len = len;
  return true;
}

static struct mc_module *find_loaded(struct mc_ctx *ctx, const char *real) {
  for (struct mc_module *m = ctx->modules; m; m = m->next)
    if (strcmp(m->real_path, real) == 0)
      return m;
  return NULL;
}

/* Modules being loaded form a stack; it is how cycles are found and shown. */
struct load_frame {
  struct mc_module *mod;
  const struct load_frame *up;
};

static struct mc_module *load_real(struct mc_ctx *ctx, const char *path, const char *real,
                                   struct mc_loc from, const struct load_frame *up, int depth);

/* Finds an import on disk: the -I directories first, then the importer's directory. */
static char *find_import(struct mc_ctx *ctx, const struct mc_module *importer, const char *name,
                         char *real) {
  for (size_t i = 0; i < ctx->include_count; i++) {
    char *cand = mc_arena_printf(ctx->arena, "%s/%s", ctx->include_dirs[i], name);
    if (realpath(cand, real))
      return cand;
  }
  const char *slash = strrchr(importer->src->path, '/');
  char *cand = slash ? mc_arena_printf(ctx->arena, "%.*s/%s", (int)(slash - importer->src->path),
                                       importer->src->path, name)
                     : mc_arena_printf(ctx->arena, "%s", name);
  if (name[0] == '/')
    cand = mc_arena_printf(ctx->arena, "%s", name);
  return realpath(cand, real) ? cand : NULL;
}

static void report_cycle(const struct mc_import *imp, const struct load_frame *up,
                         const struct mc_module *target) {
  /* Show the chain from the module that closes the cycle back to itself. */
  char chain[1024] = "";
  size_t n = 0;
  for (const struct load_frame *f = up; f; f = f->up) {
    int w = snprintf(chain + n, sizeof chain - n, "%s%s", n ? " <- " : "", f->mod->src->path);
    if (w < 0 || (size_t)w >= sizeof chain - n)
      break;
    n += (size_t)w;
    if (f->mod == target)
      break;
  }
  mc_error(imp->loc, "import cycle: '%s' is already being imported (%s)", imp->path, chain);
}

static bool load_imports(struct mc_ctx *ctx, struct mc_module *mod, const struct load_frame *frame,
                         int depth) {
  for (struct mc_import *imp = mod->imports; imp; imp = imp->next) {
    char real[PATH_MAX];
    char *path = find_import(ctx, mod, imp->path, real);
    if (!path) {
      mc_error(imp->loc, "cannot find import '%s'", imp->path);
      return false;
    }
    struct mc_module *dep = find_loaded(ctx, real);
    if (!dep) {
      for (const struct load_frame *f = frame; f; f = f->up)
        if (strcmp(f->mod->real_path, real) == 0) {
          report_cycle(imp, frame, f->mod);
          return false;
        }
      dep = load_real(ctx, path, real, imp->loc, frame, depth + 1);
      if (!dep)
        return false;
    }
    imp->module = dep;
  }
  return true;
}

static struct mc_module *load_real(struct mc_ctx *ctx, const char *path, const char *real,
                                   struct mc_loc from, const struct load_frame *up, int depth) {
  if (depth > MC_MAX_IMPORT_DEPTH) {
    mc_error(from, "imports are nested more than %d deep", MC_MAX_IMPORT_DEPTH);
    return NULL;
  }
  struct mc_source *src = mc_arena_alloc(ctx->arena, sizeof *src);
  if (!read_file(ctx, path, from, src))
    return NULL;
  struct mc_module *mod = mc_parse(ctx->arena, src);
  if (!mod || !mc_filter_features(mod, &ctx->features))
    return NULL;
  mod->real_path = mc_arena_strndup(ctx->arena, real, strlen(real));
  struct load_frame frame = {mod, up};
  if (!load_imports(ctx, mod, &frame, depth))
    return NULL;
  /* Appended after its imports: the list stays in dependency order. */
  *ctx->modules_tail = mod;
  ctx->modules_tail = &mod->next;
  return mod;
}

struct mc_module *mc_load(struct mc_ctx *ctx, const char *path) {
  char real[PATH_MAX];
  if (!realpath(path, real)) {
    mc_error_plain("cannot read '%s': %s", path, strerror(errno));
    return NULL;
  }
  struct mc_module *done = find_loaded(ctx, real);
  if (done)
    return done;
  return load_real(ctx, path, real, (struct mc_loc){0}, NULL, 0);
}
