/*
 * cmojo-validate: judges one message against a mojom interface.
 *
 *   cmojo-validate --mojom FILE [-I DIR]... [-D FEATURE]... --interface NAME
 *                  [--response] [--handles N] [--text | --raw] MESSAGE
 *
 * Prints PASS, or the name of the first validation error as Mojo spells it
 * (VALIDATION_ERROR_...), for MESSAGE read either in the text format of
 * Mojo's validation corpus (.data files: the default for names ending in
 * ".data", or with --text) or as raw message bytes (otherwise, or with
 * --raw; --handles says how many handles are attached). The tables come
 * from FILE compiled by mojomc's front end (see mojom_tables.h).
 *
 * Exit status: 0 for PASS, 1 for a validation error, 2 for a bad command
 * line, an unreadable message or a mojom that does not compile.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "mojom_tables.h"
#include "validation_input.h"

struct options {
  const char *mojom, *interface, *message;
  const char **includes, **features;
  size_t include_count, feature_count;
  bool response, force_text, force_raw;
  uint32_t handles;
};

static int usage(void) {
  fputs(
      "usage: cmojo-validate --mojom FILE [-I DIR]... [-D FEATURE]... --interface NAME\n"
      "                      [--response] [--handles N] [--text | --raw] MESSAGE\n",
      stderr);
  return 2;
}

static bool parse_args(int argc, char **argv, struct options *o) {
  o->includes = calloc((size_t)argc, sizeof *o->includes);
  o->features = calloc((size_t)argc, sizeof *o->features);
  if (!o->includes || !o->features)
    return false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--response") == 0) {
      o->response = true;
    } else if (strcmp(a, "--text") == 0) {
      o->force_text = true;
    } else if (strcmp(a, "--raw") == 0) {
      o->force_raw = true;
    } else if (next &&
               (strcmp(a, "--mojom") == 0 || strcmp(a, "--interface") == 0 ||
                strcmp(a, "--handles") == 0 || strcmp(a, "-I") == 0 || strcmp(a, "-D") == 0)) {
      i++;
      if (a[1] == 'I')
        o->includes[o->include_count++] = next;
      else if (a[1] == 'D')
        o->features[o->feature_count++] = next;
      else if (a[2] == 'm')
        o->mojom = next;
      else if (a[2] == 'i')
        o->interface = next;
      else
        o->handles = (uint32_t)strtoul(next, NULL, 10);
    } else if (a[0] == '-' || o->message) {
      return false;
    } else {
      o->message = a;
    }
  }
  return o->mojom && o->interface && o->message && !(o->force_text && o->force_raw);
}

/* The front end's pipeline, as mojomc runs it. */
static struct mc_module *compile(struct mc_ctx *ctx, const char *path) {
  struct mc_module *root = mc_load(ctx, path);
  return root && mc_analyze(ctx) ? root : NULL;
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Reads MESSAGE into *in, as text or raw bytes. */
static bool read_message(const struct options *o, cm_vinput *in) {
  size_t len;
  char *data = cm_vinput_read_file(o->message, &len);
  if (!data) {
    fprintf(stderr, "cmojo-validate: cannot read '%s'\n", o->message);
    return false;
  }
  bool text = o->force_text || (!o->force_raw && ends_with(o->message, ".data"));
  if (!text) {
    *in = (cm_vinput){(uint8_t *)data, len, o->handles};
    return true;
  }
  char err[256];
  int r = cm_vinput_parse(data, len, in, err, sizeof err);
  free(data);
  if (r != 0) {
    fprintf(stderr, "cmojo-validate: %s: %s\n", o->message, err);
    return false;
  }
  if (o->handles)
    in->num_handles = o->handles;
  return true;
}

static int judge(const struct options *o, struct mc_ctx *ctx) {
  struct mc_module *root = compile(ctx, o->mojom);
  struct cv_tables *tables = root ? cv_tables_build(ctx) : NULL;
  if (!tables)
    return 2;
  const cmojo_wire_interface *iface = cv_tables_find_interface(tables, root, o->interface);
  if (!iface) {
    fprintf(stderr, "cmojo-validate: no interface '%s' in %s\n", o->interface, o->mojom);
    return 2;
  }
  cm_vinput in;
  if (!read_message(o, &in))
    return 2;
  cmojo_wire_error e = cmojo_wire_validate_message(
      in.bytes, in.num_bytes, in.num_handles, iface,
      o->response ? CMOJO_WIRE_RESPONSE : CMOJO_WIRE_REQUEST, NULL, NULL);
  cm_vinput_free(&in);
  puts(e == CMOJO_WIRE_ERROR_NONE ? "PASS" : cmojo_wire_error_string(e));
  return e == CMOJO_WIRE_ERROR_NONE ? 0 : 1;
}

int main(int argc, char **argv) {
  struct options o = {0};
  if (!parse_args(argc, argv, &o)) {
    free(o.includes);
    free(o.features);
    return usage();
  }
  struct mc_arena *arena = mc_arena_new();
  struct mc_ctx ctx;
  mc_ctx_init(&ctx, arena);
  ctx.include_dirs = o.includes;
  ctx.include_count = o.include_count;
  ctx.features = (struct mc_feature_set){o.features, o.feature_count};
  int status = judge(&o, &ctx);
  mc_ctx_release(&ctx);
  mc_arena_free(arena);
  free(o.includes);
  free(o.features);
  if (fflush(stdout) != 0)
    return 2;
  return status;
}
