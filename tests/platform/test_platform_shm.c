/* Tests of shared memory regions: create, map, duplicate (with Mojo's
 * read-only / unsafe conversion rule), seals, wrap/unwrap and the checks on
 * wrapped input. Every test must leave the fd count and the number of memory
 * mappings where it found them. */
#include "test_support.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cm_limits.h"
#include "platform/platform.h"

struct baseline {
  int fds;
  int maps;
};

static int setup_counts(void **state) {
  static struct baseline b;
  b.fds = cm_test_count_open_fds();
  b.maps = cm_test_count_mappings();
  *state = &b;
  return (b.fds < 0 || b.maps < 0) ? -1 : 0;
}

static int teardown_counts(void **state) {
  const struct baseline *b = *state;
  int fds = cm_test_count_open_fds(), maps = cm_test_count_mappings();
  if (fds != b->fds || maps != b->maps) {
    print_error("leak: fds %d -> %d, mappings %d -> %d\n", b->fds, fds, b->maps, maps);
    return -1;
  }
  return 0;
}

static size_t page_size(void) {
  return (size_t)sysconf(_SC_PAGESIZE);
}

static cm_platform_shm_region *create(uint64_t size) {
  cm_platform_shm_region *r = NULL;
  assert_int_equal(cm_platform_shm_create(size, &r), MOJO_RESULT_OK);
  assert_non_null(r);
  return r;
}

static void map(cm_platform_shm_region *r, uint64_t off, uint64_t size, cm_platform_mapping *m) {
  assert_int_equal(cm_platform_shm_map(r, off, size, m), MOJO_RESULT_OK);
  assert_non_null(m->base);
  assert_int_equal(m->size, size);
}

/* Writes through one mapping are read through another, including through a
 * mapping whose offset is not page aligned. */
static void test_create_map_write_read(void **state) {
  (void)state;
  size_t pg = page_size(), size = 3 * pg + 100;
  cm_platform_shm_region *r = create(size);
  assert_int_equal(cm_platform_shm_size(r), size);
  assert_int_equal(cm_platform_shm_access_mode(r), CM_PLATFORM_SHM_ACCESS_WRITABLE);
  assert_int_equal(cm_platform_shm_handle_count(r), 2);

  cm_platform_mapping a, b;
  map(r, 0, size, &a);
  map(r, pg + 7, 2 * pg, &b);
  assert_true(a.writable && b.writable);
  for (size_t i = 0; i < size; i++)
    assert_int_equal(((unsigned char *)a.base)[i], 0);

  memcpy((char *)a.base + pg + 7, "hello", 5);
  assert_memory_equal(b.base, "hello", 5);
  memcpy((char *)b.base + 2 * pg - 3, "end", 3); /* last bytes of b */
  assert_memory_equal((char *)a.base + 3 * pg + 4, "end", 3);
  ((char *)a.base)[size - 1] = 'z'; /* the last byte of the region is usable */

  cm_platform_shm_unmap(&b);
  assert_null(b.base);
  cm_platform_shm_unmap(&b); /* a cleared mapping is a no-op */
  cm_platform_shm_destroy(r);
  /* The mapping outlives the region. */
  assert_memory_equal((char *)a.base + pg + 7, "hello", 5);
  cm_platform_shm_unmap(&a);
  cm_platform_shm_destroy(NULL);
}

static void test_create_sizes(void **state) {
  (void)state;
  cm_platform_shm_region *r = NULL;
  assert_int_equal(cm_platform_shm_create(0, &r), MOJO_RESULT_INVALID_ARGUMENT);
  assert_int_equal(cm_platform_shm_create(CM_MAX_SHARED_MEMORY_BYTES + 1, &r),
                   MOJO_RESULT_RESOURCE_EXHAUSTED);
  assert_int_equal(cm_platform_shm_create(UINT64_MAX, &r), MOJO_RESULT_RESOURCE_EXHAUSTED);
  assert_null(r); /* outputs only on success */

  /* One byte works and maps; the limit itself is allowed (memfds are sparse,
   * so this costs no memory until touched). */
  r = create(1);
  cm_platform_mapping m;
  map(r, 0, 1, &m);
  *(volatile char *)m.base = 1;
  cm_platform_shm_unmap(&m);
  cm_platform_shm_destroy(r);
  r = create(CM_MAX_SHARED_MEMORY_BYTES);
  map(r, CM_MAX_SHARED_MEMORY_BYTES - 10, 10, &m);
  memcpy(m.base, "0123456789", 10);
  cm_platform_shm_unmap(&m);
  cm_platform_shm_destroy(r);
}

static void test_map_bounds(void **state) {
  (void)state;
  uint64_t size = 1000;
  cm_platform_shm_region *r = create(size);
  cm_platform_mapping m;
  memset(&m, 0x5a, sizeof(m));
  const uint64_t bad[][2] = {
      {0, 0},
      {size, 1},
      {size - 1, 2},
      {0, size + 1},
      {size + 1, 0},
      {UINT64_MAX, 1},
      {1, UINT64_MAX},
      {UINT64_MAX, UINT64_MAX},
      {500, UINT64_MAX - 499},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(cm_platform_shm_map(r, bad[i][0], bad[i][1], &m),
                     MOJO_RESULT_INVALID_ARGUMENT);
  }
  assert_int_equal(((unsigned char *)&m)[0], 0x5a); /* untouched on failure */
  map(r, size - 1, 1, &m);
  cm_platform_shm_unmap(&m);
  cm_platform_shm_destroy(r);
}

static void test_guid(void **state) {
  (void)state;
  cm_platform_shm_region *a = create(64), *b = create(64);
  cm_platform_shm_guid ga = cm_platform_shm_get_guid(a), gb = cm_platform_shm_get_guid(b);
  assert_false(ga.high == 0 && ga.low == 0);
  assert_false(ga.high == gb.high && ga.low == gb.low);
  cm_platform_shm_region *d = NULL;
  assert_int_equal(cm_platform_shm_duplicate(a, true, &d), MOJO_RESULT_OK);
  cm_platform_shm_guid gd = cm_platform_shm_get_guid(d);
  assert_true(gd.high == ga.high && gd.low == ga.low);
  assert_int_equal(cm_platform_shm_size(d), 64);
  cm_platform_shm_destroy(d);
  cm_platform_shm_destroy(a);
  cm_platform_shm_destroy(b);
}

/* Mojo's rule: a read-only duplicate of a WRITABLE region turns the source
 * read-only too; mappings made before keep writing, and the reader sees it. */
static void test_read_only_duplicate(void **state) {
  (void)state;
  cm_platform_shm_region *w = create(4096);
  cm_platform_mapping wm, rm, again;
  map(w, 0, 4096, &wm);

  cm_platform_shm_region *ro = NULL;
  assert_int_equal(cm_platform_shm_duplicate(w, true, &ro), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_shm_access_mode(ro), CM_PLATFORM_SHM_ACCESS_READ_ONLY);
  assert_int_equal(cm_platform_shm_access_mode(w), CM_PLATFORM_SHM_ACCESS_READ_ONLY);
  assert_int_equal(cm_platform_shm_handle_count(ro), 1);
  assert_int_equal(cm_platform_shm_handle_count(w), 1);

  map(ro, 100, 50, &rm);
  assert_false(rm.writable);
  memcpy((char *)wm.base + 100, "written after the conversion", 28);
  assert_memory_equal(rm.base, "written after the conversion", 28);
  /* The kernel refuses to make the read-only mapping writable. */
  assert_int_equal(mprotect(rm.map_start, rm.map_len, PROT_READ | PROT_WRITE), -1);
  assert_int_equal(errno, EACCES);
  /* The converted source now maps read-only as well. */
  map(w, 0, 10, &again);
  assert_false(again.writable);
  assert_int_equal(mprotect(again.map_start, again.map_len, PROT_READ | PROT_WRITE), -1);

  /* READ_ONLY -> writable is refused; READ_ONLY -> READ_ONLY is fine. */
  cm_platform_shm_region *x = NULL;
  assert_int_equal(cm_platform_shm_duplicate(ro, false, &x), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(cm_platform_shm_duplicate(w, false, &x), MOJO_RESULT_FAILED_PRECONDITION);
  assert_null(x);
  assert_int_equal(cm_platform_shm_duplicate(ro, true, &x), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_shm_access_mode(x), CM_PLATFORM_SHM_ACCESS_READ_ONLY);

  cm_platform_shm_destroy(x);
  cm_platform_shm_unmap(&again);
  cm_platform_shm_unmap(&rm);
  cm_platform_shm_unmap(&wm);
  cm_platform_shm_destroy(ro);
  cm_platform_shm_destroy(w);
}

/* The fd inside a read-only region cannot be turned into write access by
 * any route a receiving process has: mmap PROT_WRITE, write(), or reopening
 * it read/write through /proc (blocked by F_SEAL_FUTURE_WRITE). */
static void test_read_only_fd_cannot_write(void **state) {
  (void)state;
  cm_platform_shm_region *w = create(4096);
  cm_platform_mapping wm;
  map(w, 0, 4096, &wm);
  cm_platform_shm_region *ro = NULL;
  assert_int_equal(cm_platform_shm_duplicate(w, true, &ro), MOJO_RESULT_OK);
  cm_platform_handle h[CM_PLATFORM_SHM_MAX_HANDLES];
  assert_int_equal(cm_platform_shm_unwrap(ro, h), 1);
  assert_false(cm_platform_handle_is_valid(h[1]));
  int fd = cm_platform_handle_fd(h[0]);
  assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);

  assert_ptr_equal(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), MAP_FAILED);
  assert_int_equal(errno, EACCES);
  assert_int_equal(write(fd, "x", 1), -1);
  assert_int_equal(ftruncate(fd, 0), -1);

  char path[40];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  int rw = open(path, O_RDWR | O_CLOEXEC);
  if (rw >= 0) {
    assert_ptr_equal(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rw, 0), MAP_FAILED);
    assert_int_equal(errno, EPERM);
    assert_int_equal(pwrite(rw, "x", 1, 0), -1);
    assert_int_equal(errno, EPERM);
    assert_int_equal(ftruncate(rw, 0), -1);
    close(rw);
  } else {
    assert_true(errno == EACCES || errno == EPERM);
  }
  /* ...while the writer's earlier mapping still writes and the fd reads it. */
  memcpy(wm.base, "still", 5);
  char buf[5];
  assert_int_equal(pread(fd, buf, 5, 0), 5);
  assert_memory_equal(buf, "still", 5);

  cm_platform_handle_close(&h[0]);
  cm_platform_shm_unmap(&wm);
  cm_platform_shm_destroy(w);
}

static void on_segv(int sig) {
  (void)sig;
  _exit(42);
}

/* Writing through a read-only mapping faults (checked in a child, which
 * reports the fault by exiting 42 from its SIGSEGV handler). */
static void test_read_only_mapping_write_faults(void **state) {
  (void)state;
  cm_platform_shm_region *w = create(4096);
  cm_platform_shm_region *ro = NULL;
  assert_int_equal(cm_platform_shm_duplicate(w, true, &ro), MOJO_RESULT_OK);
  cm_platform_mapping m;
  map(ro, 0, 4096, &m);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    signal(SIGSEGV, on_segv);
    signal(SIGBUS, on_segv);
    *(volatile char *)m.base = 1;
    _exit(0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 42);
  cm_platform_shm_unmap(&m);
  cm_platform_shm_destroy(ro);
  cm_platform_shm_destroy(w);
}

/* A writable duplicate turns both into UNSAFE, after which no read-only
 * duplicate can ever be made; both still share the memory. */
static void test_writable_duplicate_makes_unsafe(void **state) {
  (void)state;
  cm_platform_shm_region *w = create(8192);
  cm_platform_shm_region *u = NULL, *x = NULL;
  assert_int_equal(cm_platform_shm_duplicate(w, false, &u), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_shm_access_mode(w), CM_PLATFORM_SHM_ACCESS_UNSAFE);
  assert_int_equal(cm_platform_shm_access_mode(u), CM_PLATFORM_SHM_ACCESS_UNSAFE);
  assert_int_equal(cm_platform_shm_handle_count(w), 1);
  assert_int_equal(cm_platform_shm_duplicate(w, true, &x), MOJO_RESULT_FAILED_PRECONDITION);
  assert_int_equal(cm_platform_shm_duplicate(u, true, &x), MOJO_RESULT_FAILED_PRECONDITION);
  assert_null(x);
  assert_int_equal(cm_platform_shm_duplicate(u, false, &x), MOJO_RESULT_OK);
  assert_int_equal(cm_platform_shm_access_mode(x), CM_PLATFORM_SHM_ACCESS_UNSAFE);

  cm_platform_mapping a, b;
  map(w, 4096, 4096, &a);
  map(x, 4000, 200, &b);
  assert_true(a.writable && b.writable);
  memcpy((char *)b.base + 96, "both ways", 9);
  assert_memory_equal(a.base, "both ways", 9);
  cm_platform_shm_unmap(&a);
  cm_platform_shm_unmap(&b);
  cm_platform_shm_destroy(x);
  cm_platform_shm_destroy(u);
  cm_platform_shm_destroy(w);
}

/* Whoever holds a writable fd still cannot change the length of a region:
 * it is sealed against shrinking and growing from creation. */
static void test_seals_stop_ftruncate(void **state) {
  (void)state;
  size_t size = 3 * page_size();
  cm_platform_shm_region *w = create(size);
  cm_platform_shm_guid g = cm_platform_shm_get_guid(w);
  cm_platform_handle h[CM_PLATFORM_SHM_MAX_HANDLES];
  assert_int_equal(cm_platform_shm_unwrap(w, h), 2);
  int fd = cm_platform_handle_fd(h[0]);
  int seals = fcntl(fd, F_GET_SEALS);
  assert_true(seals >= 0);
  assert_true((seals & F_SEAL_SHRINK) && (seals & F_SEAL_GROW));
  assert_int_equal(ftruncate(fd, 0), -1);
  assert_int_equal(errno, EPERM);
  assert_int_equal(ftruncate(fd, (off_t)size * 2), -1);
  assert_int_equal(errno, EPERM);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  assert_int_equal(st.st_size, size);
  /* Writing within the region through the fd is fine. */
  assert_int_equal(pwrite(fd, "ok", 2, 0), 2);

  assert_int_equal(cm_platform_shm_wrap(h, 2, size, g, CM_PLATFORM_SHM_ACCESS_WRITABLE,
                                        CM_PLATFORM_SHM_WRAP_UNTRUSTED, &w),
                   MOJO_RESULT_OK);
  cm_platform_shm_destroy(w);
}

/* Unwrap then wrap gives back a region with the same size, GUID, mode and
 * contents, for every access mode; wrapping consumes the handles. */
static void test_wrap_unwrap_round_trip(void **state) {
  (void)state;
  cm_platform_shm_region *w = create(5000);
  cm_platform_shm_region *ro = NULL, *u = NULL, *u2 = NULL;
  cm_platform_mapping m;
  map(w, 0, 5000, &m);
  memcpy((char *)m.base + 4999, "!", 1);
  cm_platform_shm_unmap(&m);
  /* Three regions, one per mode: a writable one, a read-only one made from a
   * second writable region, and an unsafe pair. */
  cm_platform_shm_region *w2 = create(5000);
  assert_int_equal(cm_platform_shm_duplicate(w2, true, &ro), MOJO_RESULT_OK);
  cm_platform_shm_destroy(w2);
  cm_platform_shm_region *w3 = create(5000);
  assert_int_equal(cm_platform_shm_duplicate(w3, false, &u), MOJO_RESULT_OK);
  u2 = w3;

  cm_platform_shm_region *regions[] = {w, ro, u};
  for (int i = 0; i < 3; i++) {
    cm_platform_shm_region *r = regions[i];
    uint64_t size = cm_platform_shm_size(r);
    uint32_t mode = cm_platform_shm_access_mode(r);
    cm_platform_shm_guid g = cm_platform_shm_get_guid(r);
    cm_platform_handle h[CM_PLATFORM_SHM_MAX_HANDLES];
    uint32_t n = cm_platform_shm_unwrap(r, h);
    assert_int_equal(n, mode == CM_PLATFORM_SHM_ACCESS_WRITABLE ? 2 : 1);
    for (uint32_t k = 0; k < n; k++) {
      assert_int_equal(cm_platform_handle_check(h[k]), MOJO_RESULT_OK);
      assert_true(fcntl(cm_platform_handle_fd(h[k]), F_GETFD) & FD_CLOEXEC);
    }
    cm_platform_shm_region *back = NULL;
    assert_int_equal(
        cm_platform_shm_wrap(h, n, size, g, mode, CM_PLATFORM_SHM_WRAP_UNTRUSTED, &back),
        MOJO_RESULT_OK);
    assert_false(cm_platform_handle_is_valid(h[0]));
    assert_int_equal(cm_platform_shm_size(back), size);
    assert_int_equal(cm_platform_shm_access_mode(back), mode);
    cm_platform_shm_guid g2 = cm_platform_shm_get_guid(back);
    assert_true(g2.high == g.high && g2.low == g.low);
    map(back, 4990, 10, &m);
    assert_int_equal(m.writable, mode != CM_PLATFORM_SHM_ACCESS_READ_ONLY);
    if (i == 0)
      assert_int_equal(((char *)m.base)[9], '!');
    cm_platform_shm_unmap(&m);
    regions[i] = back;
  }
  /* The re-wrapped WRITABLE region still converts to read-only. */
  cm_platform_shm_region *x = NULL;
  assert_int_equal(cm_platform_shm_duplicate(regions[0], true, &x), MOJO_RESULT_OK);
  cm_platform_shm_destroy(x);
  for (int i = 0; i < 3; i++)
    cm_platform_shm_destroy(regions[i]);
  cm_platform_shm_destroy(u2);
}

/* ---- wrap with bad input: every case must give its result code and leave
 * no fd behind (wrap consumes its handles whatever happens). ---- */

static int new_memfd(uint64_t size, bool sealed) {
  int fd = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, (off_t)size), 0);
  if (sealed)
    assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
  return fd;
}

static int reopen(int fd, int flags) {
  char path[40];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  int r = open(path, flags | O_CLOEXEC);
  assert_true(r >= 0);
  return r;
}

static const cm_platform_shm_guid kGuid = {0x1234, 0x5678};

static MojoResult wrap2(int fd0, int fd1, uint32_t n, uint64_t size, cm_platform_shm_guid g,
                        uint32_t mode, uint32_t flags) {
  cm_platform_handle h[2] = {cm_platform_handle_from_fd(fd0), cm_platform_handle_from_fd(fd1)};
  cm_platform_shm_region *r = NULL;
  MojoResult rc = cm_platform_shm_wrap(h, n, size, g, mode, flags, &r);
  assert_false(cm_platform_handle_is_valid(h[0]));
  if (n == 2)
    assert_false(cm_platform_handle_is_valid(h[1]));
  if (rc == MOJO_RESULT_OK)
    cm_platform_shm_destroy(r);
  else
    assert_null(r);
  return rc;
}

static MojoResult wrap1(int fd, uint64_t size, uint32_t mode, uint32_t flags) {
  return wrap2(fd, -1, 1, size, kGuid, mode, flags);
}

/* Offers an array of two copies of one fresh O_RDWR fd, with a count that
 * does not suit the mode; checks the array was left alone, then closes the fd
 * itself. */
static MojoResult wrap_not_taken(int file, uint32_t n, uint32_t mode) {
  int fd = reopen(file, O_RDWR);
  cm_platform_handle h[2] = {cm_platform_handle_from_fd(fd), cm_platform_handle_from_fd(fd)};
  cm_platform_shm_region *r = NULL;
  MojoResult rc = cm_platform_shm_wrap(h, n, 10, kGuid, mode, 0, &r);
  assert_null(r);
  assert_int_equal(cm_platform_handle_fd(h[0]), fd);
  assert_int_equal(cm_platform_handle_fd(h[1]), fd);
  assert_int_equal(fcntl(fd, F_GETFD) >= 0, 1);
  close(fd);
  return rc;
}

static void test_wrap_rejects_bad_single_fds(void **state) {
  (void)state;
  const uint32_t UNSAFE = CM_PLATFORM_SHM_ACCESS_UNSAFE, RO = CM_PLATFORM_SHM_ACCESS_READ_ONLY;
  const MojoResult BAD = MOJO_RESULT_INVALID_ARGUMENT;
  cm_platform_shm_region *r = NULL;
  assert_int_equal(cm_platform_shm_wrap(NULL, 1, 10, kGuid, UNSAFE, 0, &r), BAD);
  assert_int_equal(wrap1(-1, 10, UNSAFE, 0), BAD);

  int fd = new_memfd(10, true);
  close(fd); /* now a number that names nothing */
  assert_int_equal(wrap1(fd, 10, UNSAFE, 0), BAD);

  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  close(p[0]);
  assert_int_equal(wrap1(p[1], 10, UNSAFE, 0), BAD); /* not a regular file */
  assert_int_equal(wrap1(open("/", O_RDONLY | O_CLOEXEC), 10, RO, 0), BAD);

  fd = new_memfd(10, true);
  assert_int_equal(wrap1(reopen(fd, O_PATH), 10, RO, 0), BAD);
  assert_int_equal(wrap1(reopen(fd, O_RDWR), 10, RO, 0), BAD);       /* RO needs O_RDONLY */
  assert_int_equal(wrap1(reopen(fd, O_RDONLY), 10, UNSAFE, 0), BAD); /* needs O_RDWR */
  assert_int_equal(wrap1(reopen(fd, O_RDWR), 11, UNSAFE, 0), BAD);   /* beyond the file */
  assert_int_equal(wrap1(reopen(fd, O_RDWR), 0, UNSAFE, 0), BAD);
  assert_int_equal(wrap1(reopen(fd, O_RDWR), CM_MAX_SHARED_MEMORY_BYTES + 1, UNSAFE, 0),
                   MOJO_RESULT_RESOURCE_EXHAUSTED);
  assert_int_equal(wrap1(reopen(fd, O_RDWR), 10, UNSAFE, 0x80), BAD); /* unknown flag */
  cm_platform_shm_guid zero = {0, 0};
  assert_int_equal(wrap2(reopen(fd, O_RDWR), -1, 1, 10, zero, UNSAFE, 0), BAD);
  /* A count the mode does not take, or an unknown mode: refused before
   * ownership is taken, so the caller still has to close the handles. */
  assert_int_equal(wrap_not_taken(fd, 2, UNSAFE), BAD);
  assert_int_equal(wrap_not_taken(fd, 0, UNSAFE), BAD);
  assert_int_equal(wrap_not_taken(fd, 3, RO), BAD);
  assert_int_equal(wrap_not_taken(fd, UINT32_MAX, RO), BAD);
  assert_int_equal(wrap_not_taken(fd, 1, 3), BAD);
  /* A handle of another OS's type is refused and not mistaken for an fd. */
  cm_platform_handle win = {3, (uint64_t)fd};
  assert_int_equal(cm_platform_shm_wrap(&win, 1, 10, kGuid, UNSAFE, 0, &r), BAD);
  assert_int_equal(fcntl(fd, F_GETFD) >= 0, 1);
  /* Smaller sizes than the file are accepted. */
  assert_int_equal(wrap1(reopen(fd, O_RDWR), 5, UNSAFE, CM_PLATFORM_SHM_WRAP_UNTRUSTED),
                   MOJO_RESULT_OK);
  assert_int_equal(wrap1(fd, 10, UNSAFE, 0), MOJO_RESULT_OK);
}

static void test_wrap_rejects_bad_writable_pairs(void **state) {
  (void)state;
  const uint32_t W = CM_PLATFORM_SHM_ACCESS_WRITABLE;
  const MojoResult BAD = MOJO_RESULT_INVALID_ARGUMENT;
  int fd = new_memfd(100, true), other = new_memfd(100, true);
  assert_int_equal(wrap_not_taken(fd, 1, W), BAD); /* WRITABLE needs 2 */
  assert_int_equal(wrap2(reopen(fd, O_RDWR), reopen(fd, O_RDWR), 2, 100, kGuid, W, 0), BAD);
  assert_int_equal(wrap2(reopen(fd, O_RDONLY), reopen(fd, O_RDONLY), 2, 100, kGuid, W, 0), BAD);
  assert_int_equal(wrap2(reopen(fd, O_RDWR), reopen(other, O_RDONLY), 2, 100, kGuid, W, 0), BAD);
  /* The same fd listed twice is closed once (a double close would abort in
   * debug builds or close someone else's fd). */
  int dup_fd = reopen(fd, O_RDWR);
  assert_int_equal(wrap2(dup_fd, dup_fd, 2, 100, kGuid, W, 0), BAD);
  assert_int_equal(fcntl(dup_fd, F_GETFD), -1);
  assert_int_equal(wrap2(reopen(fd, O_RDWR), reopen(fd, O_RDONLY), 2, 100, kGuid, W,
                         CM_PLATFORM_SHM_WRAP_UNTRUSTED),
                   MOJO_RESULT_OK);
  close(other);
  close(fd);
}

/* From another process only regions sealed against shrinking are accepted:
 * an unsealed one could be truncated under our mapping (SIGBUS). Locally,
 * any shared file is fine, as in Mojo. */
static void test_wrap_untrusted_requires_seal(void **state) {
  (void)state;
  const uint32_t UNSAFE = CM_PLATFORM_SHM_ACCESS_UNSAFE;
  int fd = new_memfd(4096, false);
  assert_int_equal(wrap1(reopen(fd, O_RDWR), 4096, UNSAFE, CM_PLATFORM_SHM_WRAP_UNTRUSTED),
                   MOJO_RESULT_INVALID_ARGUMENT);
  cm_platform_handle h = cm_platform_handle_from_fd(fd);
  cm_platform_shm_region *r = NULL;
  assert_int_equal(cm_platform_shm_wrap(&h, 1, 4096, kGuid, UNSAFE, 0, &r), MOJO_RESULT_OK);
  cm_platform_mapping m;
  map(r, 0, 4096, &m);
  assert_true(m.writable);
  cm_platform_shm_unmap(&m);
  cm_platform_shm_destroy(r);
}

/* Out of fds: create fails with RESOURCE_EXHAUSTED (child process, which
 * reports the result code as its exit status). */
static void test_create_out_of_fds(void **state) {
  (void)state;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* A small limit keeps the filling loop short whatever `ulimit -n` is. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
      _exit(100);
    rl.rlim_cur = 64;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
      _exit(101);
    while (fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 0) >= 0) {
    }
    cm_platform_shm_region *r = NULL;
    _exit((int)cm_platform_shm_create(100, &r));
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), MOJO_RESULT_RESOURCE_EXHAUSTED);
}

/* Runs one full cycle before the tests so that lazily created allocator and
 * libc mappings (and sanitizer runtime ones) exist before any baseline is
 * taken: the per-test mapping counts then reflect only the test's own. */
static int warm_up(void **state) {
  (void)state;
  cm_platform_shm_region *r = NULL, *d = NULL;
  cm_platform_mapping m;
  if (cm_platform_shm_create(4096, &r) != MOJO_RESULT_OK)
    return -1;
  if (cm_platform_shm_map(r, 0, 4096, &m) != MOJO_RESULT_OK)
    return -1;
  cm_platform_shm_unmap(&m);
  if (cm_platform_shm_duplicate(r, true, &d) != MOJO_RESULT_OK)
    return -1;
  cm_platform_shm_destroy(d);
  cm_platform_shm_destroy(r);
  return cm_test_count_mappings() < 0 || cm_test_count_open_fds() < 0;
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup_counts, teardown_counts)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_create_map_write_read),
      T(test_create_sizes),
      T(test_map_bounds),
      T(test_guid),
      T(test_read_only_duplicate),
      T(test_read_only_fd_cannot_write),
      T(test_read_only_mapping_write_faults),
      T(test_writable_duplicate_makes_unsafe),
      T(test_seals_stop_ftruncate),
      T(test_wrap_unwrap_round_trip),
      T(test_wrap_rejects_bad_single_fds),
      T(test_wrap_rejects_bad_writable_pairs),
      T(test_wrap_untrusted_requires_seal),
      T(test_create_out_of_fds),
  };
  return cmocka_run_group_tests(tests, warm_up, NULL);
}
