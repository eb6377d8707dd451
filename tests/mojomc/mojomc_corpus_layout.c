/*
 * Cross-checks mojomc's layouts against Mojo's validation corpus: every
 * vector that Chromium's validators accept (".expected" is PASS) carries a
 * method parameter struct whose header {num_bytes, version} must agree with
 * the version table mojomc computes for that method, by the validator's rule
 * (exact size for a known version, at least the newest size for a newer one).
 *
 *   mojomc_corpus_layout <mojomc> <corpus dir> <file.mojom>...
 *
 * The ".data" text format is described in shared/conformance/README.md §c.1.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_TABLES = 256, MAX_VERSIONS = 16, MAX_DATA = 1 << 16, MAX_ANCHORS = 256 };

struct table {
  char iface[64];
  unsigned ordinal;
  bool response;
  size_t count;
  unsigned version[MAX_VERSIONS], size[MAX_VERSIONS];
};

static struct table tables[MAX_TABLES];
static size_t table_count;

/* Reads the parameter struct version tables out of a --dump-layout run. */
static bool load_tables(const char *mojomc, const char *mojom) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "'%s' --dump-layout '%s'", mojomc, mojom);
  FILE *p = popen(cmd, "r");
  if (!p)
    return false;
  char line[1024], iface[64] = "";
  unsigned ordinal = 0;
  struct table *cur = NULL;
  while (fgets(line, sizeof line, p)) {
    char name[512];
    unsigned v, s;
    if (sscanf(line, "interface %511s", name) == 1) {
      const char *dot = strrchr(name, '.');
      snprintf(iface, sizeof iface, "%.63s", dot ? dot + 1 : name);
      cur = NULL;
    } else if (sscanf(line, " method %511s ordinal=%u", name, &ordinal) == 2) {
      cur = NULL;
    } else if (sscanf(line, " struct %511s", name) == 1 && strstr(name, "Params") &&
               table_count < MAX_TABLES) {
      cur = &tables[table_count++];
      snprintf(cur->iface, sizeof cur->iface, "%s", iface);
      cur->ordinal = ordinal;
      cur->response = strstr(name, "_ResponseParams") != NULL;
    } else if (cur && sscanf(line, " version %u: %*s %*s size=%u", &v, &s) == 2 &&
               cur->count < MAX_VERSIONS) {
      cur->version[cur->count] = v;
      cur->size[cur->count++] = s;
    }
  }
  return pclose(p) == 0;
}

struct anchor_ref {
  char id[64];
  size_t at, width;
};

/* Turns one ".data" text into message bytes; false on anything unexpected. */
static bool parse_data(char *text, uint8_t *out, size_t *len) {
  struct anchor_ref refs[MAX_ANCHORS], anchors[MAX_ANCHORS];
  size_t nrefs = 0, nanchors = 0, n = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char *comment = strstr(line, "//");
    if (comment)
      *comment = '\0';
    char item[128];
    int used;
    for (char *s = line; sscanf(s, "%127s%n", item, &used) == 1; s += used) {
      char type[16] = "u1", *value = item;
      if (item[0] == '[') {
        char *close = strchr(item, ']');
        if (!close || close - item > 15)
          return false;
        memcpy(type, item + 1, (size_t)(close - item - 1));
        type[close - item - 1] = '\0';
        value = close + 1;
      }
      if (strcmp(type, "handles") == 0)
        continue;
      if (strcmp(type, "anchr") == 0 || strncmp(type, "dist", 4) == 0) {
        bool anchor = type[0] == 'a';
        struct anchor_ref *r = anchor ? &anchors[nanchors++] : &refs[nrefs++];
        if (nanchors > MAX_ANCHORS - 1 || nrefs > MAX_ANCHORS - 1)
          return false;
        snprintf(r->id, sizeof r->id, "%.63s", value);
        r->at = n;
        r->width = anchor ? 0 : (size_t)atoi(type + 4);
        if (n + r->width > MAX_DATA)
          return false;
        memset(out + n, 0, r->width);
        n += r->width;
        continue;
      }
      size_t width = type[0] == 'b' ? 1 : (size_t)atoi(type + 1);
      uint64_t v;
      if (type[0] == 'b')
        v = strtoull(value, NULL, 2);
      else if (type[0] == 'f') {
        float f = strtof(value, NULL);
        uint32_t bits;
        memcpy(&bits, &f, 4);
        v = bits, width = 4;
      } else if (strcmp(type, "d") == 0) {
        double dv = strtod(value, NULL);
        memcpy(&v, &dv, 8);
        width = 8;
      } else if (type[0] == 's')
        v = (uint64_t)strtoll(value, NULL, 0);
      else
        v = strtoull(value, NULL, 0);
      if (width == 0 || width > 8 || n + width > MAX_DATA)
        return false;
      for (size_t i = 0; i < width; i++)
        out[n++] = (uint8_t)(v >> (8 * i));
    }
  }
  for (size_t i = 0; i < nrefs; i++) {
    size_t j = 0;
    while (j < nanchors && strcmp(anchors[j].id, refs[i].id) != 0)
      j++;
    if (j == nanchors)
      return false;
    uint64_t d = (uint64_t)(anchors[j].at - refs[i].at);
    for (size_t k = 0; k < refs[i].width; k++)
      out[refs[i].at + k] = (uint8_t)(d >> (8 * k));
  }
  *len = n;
  return true;
}

static uint32_t u32_at(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Which interface a vector exercises, from its file name (README §c). */
static const char *interface_for(const char *name) {
  static const struct {
    const char *prefix, *iface;
  } map[] = {
      {"associated_conformance_", "AssociatedConformanceTestInterface"},
      {"conformance_", "ConformanceTestInterface"},
      {"resp_conformance_", "ConformanceTestInterface"},
      {"boundscheck_", "BoundsCheckTestInterface"},
      {"resp_boundscheck_", "BoundsCheckTestInterface"},
      {"integration_intf_", "IntegrationTestInterface"},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strncmp(name, map[i].prefix, strlen(map[i].prefix)) == 0)
      return map[i].iface;
  return NULL;
}

/* The validator's rule for a struct header against a version table. */
static bool header_ok(const struct table *t, uint32_t num_bytes, uint32_t version) {
  const size_t last = t->count - 1;
  if (version > t->version[last])
    return num_bytes >= t->size[last];
  size_t best = 0;
  for (size_t i = 0; i < t->count; i++)
    if (t->version[i] <= version)
      best = i;
  return num_bytes == t->size[best];
}

/* 1 when the vector was checked and agrees, 0 when skipped, -1 on mismatch. */
static int check_vector(const char *dir, const char *name, uint8_t *data) {
  char path[4096], text[1 << 17];
  snprintf(path, sizeof path, "%s/%.*s.expected", dir, (int)(strlen(name) - 5), name);
  FILE *f = fopen(path, "r");
  if (!f || !fgets(text, sizeof text, f) || strncmp(text, "PASS", 4) != 0) {
    if (f)
      fclose(f);
    return 0;
  }
  fclose(f);
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "r");
  size_t len = f ? fread(text, 1, sizeof text - 1, f) : 0;
  if (f)
    fclose(f);
  text[len] = '\0';
  const char *iface = interface_for(name);
  if (!iface || !parse_data(text, data, &len) || len < 24)
    return 0;
  uint32_t header_bytes = u32_at(data), method = u32_at(data + 12), flags = u32_at(data + 16);
  size_t payload = header_bytes;
  if (header_bytes >= 48) /* v2+: the payload pointer at offset 32 */
    payload = 32 + u32_at(data + 32);
  if (payload + 8 > len)
    return 0;
  for (size_t i = 0; i < table_count; i++) {
    const struct table *t = &tables[i];
    if (strcmp(t->iface, iface) != 0 || t->ordinal != method || t->response != ((flags & 2) != 0))
      continue;
    if (header_ok(t, u32_at(data + payload), u32_at(data + payload + 4)))
      return 1;
    fprintf(stderr, "MISMATCH %s: params header %u bytes, version %u\n", name,
            u32_at(data + payload), u32_at(data + payload + 4));
    return -1;
  }
  fprintf(stderr, "MISMATCH %s: mojomc has no %s method %u\n", name, iface, method);
  return -1;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s <mojomc> <corpus dir> <file.mojom>...\n", argv[0]);
    return 2;
  }
  for (int i = 3; i < argc; i++)
    if (!load_tables(argv[1], argv[i])) {
      fprintf(stderr, "mojomc failed on %s\n", argv[i]);
      return 1;
    }
  DIR *d = opendir(argv[2]);
  if (!d) {
    fprintf(stderr, "cannot open %s\n", argv[2]);
    return 1;
  }
  static uint8_t data[MAX_DATA];
  int checked = 0, bad = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".data") != 0)
      continue;
    int r = check_vector(argv[2], e->d_name, data);
    checked += r == 1;
    bad += r < 0;
  }
  closedir(d);
  printf("%d accepted vectors agree with mojomc's layouts, %d disagree\n", checked, bad);
  /* The corpus has 38 accepted vectors with a parameter struct. */
  return bad == 0 && checked >= 38 ? 0 : 1;
}
