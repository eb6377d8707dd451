/*
 * mojomc: the mojom compiler front end.
 *
 *   mojomc [-I dir]... [-D feature]... [--dump-layout] [-o outdir] file.mojom...
 *
 * Each file is loaded with its imports, filtered by the -D features,
 * resolved, checked and packed. Exit status 0 when every file is valid,
 * 1 after any error (each printed as file:line:col: error: ...), 2 for a
 * bad command line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "diag.h"
#include "dump.h"
#include "emit_c.h"

struct options {
  const char **includes;
  size_t include_count;
  const char **features;
  size_t feature_count;
  const char **files;
  size_t file_count;
  const char *outdir;
  bool dump_layout;
};

static void usage(FILE *out) {
  fputs("usage: mojomc [-I dir]... [-D feature]... [--dump-layout] [-o outdir] file.mojom...\n",
        out);
}

/* Takes the value of -I/-D/-o, attached ("-Idir") or as the next argument. */
static const char *option_value(int argc, char **argv, int *i) {
  if (argv[*i][2])
    return argv[*i] + 2;
  if (*i + 1 >= argc)
    return NULL;
  return argv[++*i];
}

enum args_result { ARGS_OK, ARGS_BAD, ARGS_HELP };

static enum args_result parse_args(int argc, char **argv, struct options *o) {
  /* Every list can hold at most argc entries. */
  o->includes = calloc((size_t)argc, sizeof *o->includes);
  o->features = calloc((size_t)argc, sizeof *o->features);
  o->files = calloc((size_t)argc, sizeof *o->files);
  if (!o->includes || !o->features || !o->files)
    return ARGS_BAD;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--dump-layout") == 0) {
      o->dump_layout = true;
    } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      return ARGS_HELP;
    } else if (a[0] == '-' && (a[1] == 'I' || a[1] == 'D' || a[1] == 'o')) {
      const char *v = option_value(argc, argv, &i);
      if (!v)
        return ARGS_BAD;
      if (a[1] == 'I')
        o->includes[o->include_count++] = v;
      else if (a[1] == 'D')
        o->features[o->feature_count++] = v;
      else
        o->outdir = v;
    } else if (a[0] == '-' && a[1]) {
      return ARGS_BAD;
    } else {
      o->files[o->file_count++] = a;
    }
  }
  return o->file_count > 0 ? ARGS_OK : ARGS_BAD;
}

/* Loads every file, then analyzes all loaded modules (analyze.h). */
static bool compile(struct mc_ctx *ctx, const struct options *o, struct mc_module **roots) {
  for (size_t i = 0; i < o->file_count; i++) {
    roots[i] = mc_load(ctx, o->files[i]);
    if (!roots[i])
      return false;
  }
  return mc_analyze(ctx);
}

static void free_options(struct options *o) {
  free(o->includes);
  free(o->features);
  free(o->files);
}

int main(int argc, char **argv) {
  struct options o = {0};
  enum args_result args = parse_args(argc, argv, &o);
  if (args != ARGS_OK) {
    usage(args == ARGS_HELP ? stdout : stderr);
    free_options(&o);
    return args == ARGS_HELP ? 0 : 2;
  }
  struct mc_arena *arena = mc_arena_new();
  struct mc_ctx ctx;
  mc_ctx_init(&ctx, arena);
  ctx.include_dirs = o.includes;
  ctx.include_count = o.include_count;
  ctx.features = (struct mc_feature_set){o.features, o.feature_count};
  struct mc_module **roots = mc_arena_alloc(arena, o.file_count * sizeof *roots);
  bool ok = compile(&ctx, &o, roots);
  if (ok && o.outdir)
    ok = mc_emit_c(&ctx, roots, o.file_count, o.outdir);
  if (ok && o.dump_layout) {
    for (size_t i = 0; i < o.file_count; i++) {
      bool seen = false;
      for (size_t j = 0; j < i; j++)
        seen |= roots[j] == roots[i];
      if (!seen)
        mc_dump_module(stdout, arena, roots[i]);
    }
  }
  mc_ctx_release(&ctx);
  mc_arena_free(arena);
  free_options(&o);
  if (fflush(stdout) != 0)
    return 1;
  return ok && mc_error_count() == 0 ? 0 : 1;
}
