/* RequireContext / AllowedContext checks; see contexts.h. */
#include "contexts.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"

/* What a method has to satisfy for the interfaces it can pass. Only two
 * distinct enums are kept: with two, every AllowedContext fails already. */
struct mc_context_summary {
  const struct mc_decl *any;     /* some interface with RequireContext, or NULL */
  const struct mc_decl *bad;     /* one whose RequireContext names no enum value */
  const struct mc_decl *enum1;   /* enum of the first requirement */
  const struct mc_decl *lowest1; /* interface requiring the lowest value of enum1 */
  const struct mc_decl *enum2;   /* a second, different enum, or NULL */
  const struct mc_decl *other2;  /* an interface requiring a value of enum2 */
};

static const struct mc_resolved_value *requirement(const struct mc_decl *iface) {
  const struct mc_attr *a = mc_attr_find(iface->attrs, "RequireContext");
  return a ? &a->resolved : NULL;
}

static int64_t required_value(const struct mc_decl *iface) {
  return requirement(iface)->enum_value->number;
}

/* Adds one interface that has a resolved RequireContext to a summary. */
static void add_interface(struct mc_context_summary *s, const struct mc_decl *iface) {
  const struct mc_decl *e = requirement(iface)->enum_decl;
  if (!s->any)
    s->any = iface;
  if (!s->enum1) {
    s->enum1 = e;
    s->lowest1 = iface;
  } else if (e == s->enum1) {
    if (required_value(iface) < required_value(s->lowest1))
      s->lowest1 = iface;
  } else if (!s->enum2) {
    s->enum2 = e;
    s->other2 = iface;
  }
}

static void merge(struct mc_context_summary *into, const struct mc_context_summary *from) {
  if (!into->any)
    into->any = from->any;
  if (!into->bad)
    into->bad = from->bad;
  if (from->lowest1)
    add_interface(into, from->lowest1);
  if (from->other2)
    add_interface(into, from->other2);
}

/* Adds what a pending_* type contributes. */
static void add_pending(struct mc_context_summary *s, const struct mc_decl *iface) {
  const struct mc_resolved_value *req = requirement(iface);
  if (!req)
    return;
  if (req->kind == MC_RV_ENUM_VALUE) {
    add_interface(s, iface);
    return;
  }
  if (!s->any)
    s->any = iface;
  if (!s->bad)
    s->bad = iface; /* an unresolved requirement, reported by check_method */
}

/* A struct or union being summarised, and the next field to look at. */
struct frame {
  struct mc_decl *decl;
  const struct mc_field *next;
};

struct walk {
  struct frame *frames;
  size_t depth, cap;
};

static void enter(struct mc_arena *arena, struct walk *w, struct mc_decl *d) {
  if (w->depth == w->cap) {
    w->cap = w->cap ? w->cap * 2 : 64;
    w->frames = realloc(w->frames, w->cap * sizeof *w->frames);
    if (!w->frames) {
      mc_error_plain("out of memory");
      exit(1);
    }
  }
  /* The memo exists from the start, so a struct that reaches itself sees
   * what has been gathered so far, as in Chromium. */
  d->contexts = mc_arena_alloc(arena, sizeof *d->contexts);
  w->frames[w->depth++] = (struct frame){d, d->fields};
}

/* Summarises struct or union `root` and everything reachable through its
 * fields. The walk keeps its own stack: chains of structs across imports can
 * be far deeper than the C stack should be trusted with. */
static const struct mc_context_summary *summarize_decl(struct mc_arena *arena,
                                                       struct mc_decl *root) {
  if (root->contexts)
    return root->contexts;
  struct walk w = {0};
  enter(arena, &w, root);
  while (w.depth) {
    struct frame *top = &w.frames[w.depth - 1];
    if (!top->next) {
      w.depth--;
      if (w.depth)
        merge(w.frames[w.depth - 1].decl->contexts, top->decl->contexts);
      continue;
    }
    const struct mc_type *t = top->next->type;
    top->next = top->next->next;
    if (t->kind >= MC_T_PENDING_REMOTE)
      add_pending(top->decl->contexts, t->decl);
    else if ((t->kind == MC_T_STRUCT || t->kind == MC_T_UNION) && t->decl->contexts)
      merge(top->decl->contexts, t->decl->contexts);
    else if (t->kind == MC_T_STRUCT || t->kind == MC_T_UNION)
      enter(arena, &w, t->decl);
  }
  free(w.frames);
  return root->contexts;
}

static void summarize_type(struct mc_arena *arena, const struct mc_type *t,
                           struct mc_context_summary *s) {
  if (t->kind >= MC_T_PENDING_REMOTE)
    add_pending(s, t->decl);
  else if (t->kind == MC_T_STRUCT || t->kind == MC_T_UNION)
    merge(s, summarize_decl(arena, t->decl));
}

static bool check_method(const struct mc_method *m, const struct mc_context_summary *s) {
  if (!s->any)
    return true;
  const struct mc_attr *allowed = mc_attr_find(m->attrs, "AllowedContext");
  if (!allowed) {
    mc_error(m->loc,
             "method '%s' passes interface '%s', which has [RequireContext], but has no "
             "[AllowedContext]",
             m->name, s->any->name);
    return false;
  }
  if (s->bad) {
    mc_error(mc_attr_find(s->bad->attrs, "RequireContext")->loc,
             "RequireContext of '%s' must name an enum value", s->bad->name);
    return false;
  }
  if (allowed->resolved.kind != MC_RV_ENUM_VALUE) {
    mc_error(allowed->loc, "AllowedContext must name an enum value");
    return false;
  }
  const struct mc_decl *e = allowed->resolved.enum_decl;
  const struct mc_decl *wrong = s->enum1 != e ? s->lowest1 : s->enum2 ? s->other2 : NULL;
  if (wrong) {
    mc_error(allowed->loc,
             "AllowedContext of '%s' names a value of %s, but interface '%s' "
             "requires one of %s",
             m->name, e->full_name, wrong->name, requirement(wrong)->enum_decl->full_name);
    return false;
  }
  if (required_value(s->lowest1) < allowed->resolved.enum_value->number) {
    mc_error(allowed->loc, "method '%s' is allowed in %s, but interface '%s' requires %s", m->name,
             allowed->resolved.enum_value->name, s->lowest1->name,
             requirement(s->lowest1)->enum_value->name);
    return false;
  }
  return true;
}

bool mc_check_contexts(struct mc_arena *arena, struct mc_module *mod) {
  bool ok = true;
  for (struct mc_decl *d = mod->decls; d; d = d->next) {
    for (const struct mc_method *m = d->methods; m; m = m->next) {
      struct mc_context_summary s = {0};
      for (const struct mc_field *f = m->params; f; f = f->next)
        summarize_type(arena, f->type, &s);
      for (const struct mc_field *f = m->response; f; f = f->next)
        summarize_type(arena, f->type, &s);
      ok &= check_method(m, &s);
    }
  }
  return ok;
}
