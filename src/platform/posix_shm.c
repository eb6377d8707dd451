/* Shared memory regions on Linux memfds.
 *
 * A region owns one fd (O_RDWR for WRITABLE and UNSAFE, O_RDONLY for
 * READ_ONLY) and, for WRITABLE only, a second O_RDONLY fd to the same file
 * opened at creation through /proc/self/fd. The second fd is what a
 * read-only duplicate is made from: an fd opened O_RDONLY can never yield a
 * writable shared mapping (mmap and mprotect check the open mode), and
 * because both fds exist from the start the conversion needs no reopening,
 * even after the region crossed a process boundary.
 *
 * Memfds made here are sealed F_SEAL_SHRINK | F_SEAL_GROW at birth, so the
 * length never changes under anyone's mapping; converting to read-only adds
 * F_SEAL_FUTURE_WRITE. Sizes are bounded by CM_MAX_SHARED_MEMORY_BYTES, which
 * keeps every offset and length well inside off_t and size_t. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cm_limits.h"
#include "platform/platform.h"

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U /* Linux 6.3: memfd can never be made executable */
#endif

struct cm_platform_shm_region {
  int fd;          /* O_RDWR, or O_RDONLY for READ_ONLY */
  int readonly_fd; /* O_RDONLY for WRITABLE, else -1 */
  uint64_t size;
  cm_platform_shm_guid guid;
  uint32_t mode; /* CM_PLATFORM_SHM_ACCESS_* */
};

static void close_fd(int fd) {
  cm_platform_handle h = cm_platform_handle_from_fd(fd);
  cm_platform_handle_close(&h);
}

static int dup_cloexec(int fd) {
  return fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

static MojoResult new_guid(cm_platform_shm_guid *out) {
  cm_platform_shm_guid g = {0, 0};
  /* {0, 0} means "no GUID" to Mojo; redraw in the (2^-128) case we get it. */
  while (g.high == 0 && g.low == 0) {
    MojoResult rc = cm_platform_random_bytes(&g, sizeof(g));
    if (rc != MOJO_RESULT_OK)
      return rc;
  }
  *out = g;
  return MOJO_RESULT_OK;
}

static cm_platform_shm_region *region_new(int fd, int readonly_fd, uint64_t size,
                                          cm_platform_shm_guid guid, uint32_t mode) {
  cm_platform_shm_region *r = malloc(sizeof(*r));
  if (!r)
    return NULL;
  r->fd = fd;
  r->readonly_fd = readonly_fd;
  r->size = size;
  r->guid = guid;
  r->mode = mode;
  return r;
}

/* A memfd of `size` bytes that can be neither shrunk nor grown. */
static MojoResult make_sealed_memfd(uint64_t size, int *out_fd) {
  /* Ask for a never-executable memfd where the kernel knows the flag (6.3+);
   * older kernels reject unknown flags with EINVAL, so fall back. */
  int fd = memfd_create("cmojo-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
  if (fd < 0 && errno == EINVAL)
    fd = memfd_create("cmojo-shm", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return cm_platform_result_from_errno(errno);
  if (ftruncate(fd, (off_t)size) != 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
    int err = errno;
    close_fd(fd);
    return cm_platform_result_from_errno(err);
  }
  *out_fd = fd;
  return MOJO_RESULT_OK;
}

/* A second, read-only fd to the file `fd` refers to. memfds have no path, so
 * this goes through the /proc magic link; fstat confirms it is the same
 * inode and not something /proc was made to point at. */
static MojoResult open_readonly_twin(int fd, int *out_fd) {
  char path[40];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  int ro = open(path, O_RDONLY | O_CLOEXEC);
  if (ro < 0)
    return cm_platform_result_from_errno(errno);
  struct stat a, b;
  if (fstat(fd, &a) != 0 || fstat(ro, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
    close_fd(ro);
    return MOJO_RESULT_INTERNAL;
  }
  *out_fd = ro;
  return MOJO_RESULT_OK;
}

MojoResult cm_platform_shm_create(uint64_t size, cm_platform_shm_region **out) {
  if (size == 0)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (size > CM_MAX_SHARED_MEMORY_BYTES)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;

  cm_platform_shm_guid guid;
  int fd = -1, ro = -1;
  MojoResult rc = new_guid(&guid);
  if (rc == MOJO_RESULT_OK)
    rc = make_sealed_memfd(size, &fd);
  if (rc == MOJO_RESULT_OK)
    rc = open_readonly_twin(fd, &ro);
  if (rc == MOJO_RESULT_OK) {
    cm_platform_shm_region *r = region_new(fd, ro, size, guid, CM_PLATFORM_SHM_ACCESS_WRITABLE);
    if (r) {
      *out = r;
      return MOJO_RESULT_OK;
    }
    rc = MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  close_fd(ro);
  close_fd(fd);
  return rc;
}

void cm_platform_shm_destroy(cm_platform_shm_region *region) {
  if (!region)
    return;
  close_fd(region->readonly_fd);
  close_fd(region->fd);
  free(region);
}

uint64_t cm_platform_shm_size(const cm_platform_shm_region *region) {
  return region->size;
}

cm_platform_shm_guid cm_platform_shm_get_guid(const cm_platform_shm_region *region) {
  return region->guid;
}

uint32_t cm_platform_shm_access_mode(const cm_platform_shm_region *region) {
  return region->mode;
}

uint32_t cm_platform_shm_handles_for_mode(uint32_t access_mode) {
  switch (access_mode) {
    case CM_PLATFORM_SHM_ACCESS_READ_ONLY:
    case CM_PLATFORM_SHM_ACCESS_UNSAFE:
      return 1;
    case CM_PLATFORM_SHM_ACCESS_WRITABLE:
      return 2; /* the read/write fd and its read-only twin */
    default:
      return 0;
  }
}

uint32_t cm_platform_shm_handle_count(const cm_platform_shm_region *region) {
  return cm_platform_shm_handles_for_mode(region->mode);
}

/* Turns a WRITABLE region into READ_ONLY: keep only the O_RDONLY fd, and seal
 * the file against any future writable mapping or write(), so reopening the
 * read-only fd O_RDWR through /proc gains nothing. Mappings that already
 * exist keep working (F_SEAL_FUTURE_WRITE, unlike F_SEAL_WRITE, allows them).
 * The seal is defence in depth on top of the O_RDONLY fd, which alone is
 * Mojo's guarantee: it is skipped where the kernel predates it (EINVAL) or
 * the file is not ours to seal (a wrapped file that is not a sealable memfd,
 * or one already sealed with F_SEAL_SEAL: EPERM). */
static void convert_to_read_only(cm_platform_shm_region *r) {
  (void)fcntl(r->fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE);
  close_fd(r->fd);
  r->fd = r->readonly_fd;
  r->readonly_fd = -1;
  r->mode = CM_PLATFORM_SHM_ACCESS_READ_ONLY;
}

/* Turns a WRITABLE region into UNSAFE: dropping the read-only fd makes any
 * later read-only duplicate impossible, as it must be once a second
 * writable handle exists. */
static void convert_to_unsafe(cm_platform_shm_region *r) {
  close_fd(r->readonly_fd);
  r->readonly_fd = -1;
  r->mode = CM_PLATFORM_SHM_ACCESS_UNSAFE;
}

MojoResult cm_platform_shm_duplicate(cm_platform_shm_region *region, bool read_only,
                                     cm_platform_shm_region **out) {
  uint32_t mode = region->mode;
  if (read_only && mode == CM_PLATFORM_SHM_ACCESS_UNSAFE)
    return MOJO_RESULT_FAILED_PRECONDITION;
  if (!read_only && mode == CM_PLATFORM_SHM_ACCESS_READ_ONLY)
    return MOJO_RESULT_FAILED_PRECONDITION;

  /* Everything that can fail happens before the source is converted. */
  int src =
      (read_only && mode == CM_PLATFORM_SHM_ACCESS_WRITABLE) ? region->readonly_fd : region->fd;
  int nfd = dup_cloexec(src);
  if (nfd < 0)
    return cm_platform_result_from_errno(errno);
  uint32_t new_mode = read_only ? CM_PLATFORM_SHM_ACCESS_READ_ONLY : CM_PLATFORM_SHM_ACCESS_UNSAFE;
  cm_platform_shm_region *dup = region_new(nfd, -1, region->size, region->guid, new_mode);
  if (!dup) {
    close_fd(nfd);
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  }

  if (mode == CM_PLATFORM_SHM_ACCESS_WRITABLE) {
    if (read_only)
      convert_to_read_only(region);
    else
      convert_to_unsafe(region);
  }
  *out = dup;
  return MOJO_RESULT_OK;
}

MojoResult cm_platform_shm_map(cm_platform_shm_region *region, uint64_t offset, uint64_t size,
                               cm_platform_mapping *mapping) {
  if (size == 0 || offset > region->size || size > region->size - offset)
    return MOJO_RESULT_INVALID_ARGUMENT;

  /* region->size <= CM_MAX_SHARED_MEMORY_BYTES, so none of this overflows. */
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  uint64_t start = offset - offset % page;
  size_t len = (size_t)(offset - start + size);
  bool writable = region->mode != CM_PLATFORM_SHM_ACCESS_READ_ONLY;
  int prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
  void *p = mmap(NULL, len, prot, MAP_SHARED, region->fd, (off_t)start);
  if (p == MAP_FAILED) {
    return errno == ENOMEM ? MOJO_RESULT_RESOURCE_EXHAUSTED : cm_platform_result_from_errno(errno);
  }
  mapping->base = (unsigned char *)p + (offset - start);
  mapping->size = (size_t)size;
  mapping->writable = writable;
  mapping->map_start = p;
  mapping->map_len = len;
  return MOJO_RESULT_OK;
}

void cm_platform_shm_prefault(const cm_platform_mapping *mapping) {
#if defined(MADV_POPULATE_WRITE) && defined(MADV_POPULATE_READ)
  if (mapping->map_start)
    (void)madvise(mapping->map_start, mapping->map_len,
                  mapping->writable ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
#else
  (void)mapping;
#endif
}

void cm_platform_shm_unmap(cm_platform_mapping *mapping) {
  if (mapping->map_start)
    munmap(mapping->map_start, mapping->map_len);
  memset(mapping, 0, sizeof(*mapping));
}

/* Checks one fd offered as (part of) a region: an open regular file (memfds
 * are), not an O_PATH fd (which stat works on but mmap refuses), opened
 * with `accmode`, at least `size` bytes long. */
static MojoResult check_region_fd(cm_platform_handle h, int accmode, uint64_t size,
                                  struct stat *st) {
  int fd = cm_platform_handle_fd(h);
  if (h.type != CM_PLATFORM_HANDLE_TYPE_FD || fd < 0)
    return MOJO_RESULT_INVALID_ARGUMENT;
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || (fl & O_PATH) || (fl & O_ACCMODE) != accmode)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode))
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (st->st_size < 0 || (uint64_t)st->st_size < size)
    return MOJO_RESULT_INVALID_ARGUMENT;
  return MOJO_RESULT_OK;
}

static MojoResult check_wrap(const cm_platform_handle *handles, uint32_t num_handles, uint64_t size,
                             cm_platform_shm_guid guid, uint32_t mode, uint32_t flags) {
  /* The caller has checked mode and num_handles (wrap_takes_handles). */
  if (guid.high == 0 && guid.low == 0)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (size == 0)
    return MOJO_RESULT_INVALID_ARGUMENT;
  if (size > CM_MAX_SHARED_MEMORY_BYTES)
    return MOJO_RESULT_RESOURCE_EXHAUSTED;
  if (flags & ~CM_PLATFORM_SHM_WRAP_UNTRUSTED)
    return MOJO_RESULT_INVALID_ARGUMENT;

  struct stat st0, st1;
  int acc0 = mode == CM_PLATFORM_SHM_ACCESS_READ_ONLY ? O_RDONLY : O_RDWR;
  MojoResult rc = check_region_fd(handles[0], acc0, size, &st0);
  if (rc != MOJO_RESULT_OK)
    return rc;
  if (num_handles == 2) {
    rc = check_region_fd(handles[1], O_RDONLY, size, &st1);
    if (rc != MOJO_RESULT_OK)
      return rc;
    if (st0.st_dev != st1.st_dev || st0.st_ino != st1.st_ino)
      return MOJO_RESULT_INVALID_ARGUMENT;
  }
  if (flags & CM_PLATFORM_SHM_WRAP_UNTRUSTED) {
    int seals = fcntl(cm_platform_handle_fd(handles[0]), F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK))
      return MOJO_RESULT_INVALID_ARGUMENT;
  }
  return MOJO_RESULT_OK;
}

/* Closes every handle of the array once, even if a caller (or a peer)
 * listed the same fd twice, then resets all entries. The duplicate scan
 * matters with threads: between two close() calls on one number another
 * thread may be given that number, and the second close would take its fd.
 * Entries are reset only after the loop so that duplicates are recognized
 * against the originals. Values that name no open fd (a caller's bogus
 * input, often the reason the wrap failed) are skipped rather than handed to
 * close(). */
static void close_handle_array(cm_platform_handle *handles, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    bool seen = false;
    for (uint32_t j = 0; j < i && !seen; j++) {
      seen = handles[j].type == handles[i].type && handles[j].value == handles[i].value;
    }
    if (!seen && cm_platform_handle_check(handles[i]) == MOJO_RESULT_OK) {
      cm_platform_handle h = handles[i];
      cm_platform_handle_close(&h);
    }
  }
  for (uint32_t i = 0; i < n; i++)
    handles[i] = cm_platform_handle_invalid();
}

/* Whether wrap takes ownership of the array: only when its length is the one
 * the access mode needs. As in Mojo, a wrong count (or unknown mode) is
 * refused before anything is taken, which also bounds every loop over the
 * array by CM_PLATFORM_SHM_MAX_HANDLES whatever count a caller passes. */
static bool wrap_takes_handles(const cm_platform_handle *handles, uint32_t num_handles,
                               uint32_t mode) {
  uint32_t needed = cm_platform_shm_handles_for_mode(mode);
  return handles && needed && num_handles == needed;
}

MojoResult cm_platform_shm_wrap(cm_platform_handle *handles, uint32_t num_handles, uint64_t size,
                                cm_platform_shm_guid guid, uint32_t access_mode, uint32_t flags,
                                cm_platform_shm_region **out) {
  if (!wrap_takes_handles(handles, num_handles, access_mode))
    return MOJO_RESULT_INVALID_ARGUMENT;
  MojoResult rc = check_wrap(handles, num_handles, size, guid, access_mode, flags);
  cm_platform_shm_region *r = NULL;
  if (rc == MOJO_RESULT_OK) {
    int ro = num_handles == 2 ? cm_platform_handle_fd(handles[1]) : -1;
    r = region_new(cm_platform_handle_fd(handles[0]), ro, size, guid, access_mode);
    if (!r)
      rc = MOJO_RESULT_RESOURCE_EXHAUSTED;
  }
  if (rc != MOJO_RESULT_OK) {
    close_handle_array(handles, num_handles);
    return rc;
  }
  for (uint32_t i = 0; i < num_handles; i++)
    handles[i] = cm_platform_handle_invalid();
  *out = r;
  return MOJO_RESULT_OK;
}

uint32_t cm_platform_shm_unwrap(cm_platform_shm_region *region,
                                cm_platform_handle out[CM_PLATFORM_SHM_MAX_HANDLES]) {
  uint32_t n = cm_platform_shm_handle_count(region);
  out[0] = cm_platform_handle_from_fd(region->fd);
  out[1] = n == 2 ? cm_platform_handle_from_fd(region->readonly_fd) : cm_platform_handle_invalid();
  free(region);
  return n;
}
