#include "util/file.h"
#include "util/guard.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define FILE_PATH_MAX 4096

static int sync_parent(const char *path, mk_err *e) {
  char dir[FILE_PATH_MAX];
  const char *slash = strrchr(path, '/');
  size_t n = slash == NULL ? 0 : slash == path ? 1 : (size_t)(slash - path);
  if (n >= sizeof dir)
    return mk_err_set(e, MK_ETOOBIG, "path '%.64s...' is too long", path);
  if (n == 0) {
    memcpy(dir, ".", 2);
  } else {
    memcpy(dir, path, n);
    dir[n] = '\0';
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return mk_err_set(e, MK_EIO, "cannot open '%s': %s", dir, strerror(errno));
  int r = fsync(fd);
  int err = errno;
  close(fd);
  /* Some file systems cannot fsync a directory; the rename stands. */
  if (r != 0 && err != EINVAL && err != ENOTSUP)
    return mk_err_set(e, MK_EIO, "cannot sync '%s': %s", dir, strerror(err));
  return 0;
}

int mk_file_write_private(const char *path, const void *data, size_t len, unsigned flags,
                          mk_err *e) {
  int rc = 0, fd = -1;
  char tmp[FILE_PATH_MAX];
  const unsigned char *p = data;
  tmp[0] = '\0';

  MK_ENSURE(path != NULL && path[0] != '\0', MK_EINVAL, e, "no file name given");
  MK_ENSURE((flags & ~(unsigned)MK_FILE_EXCL) == 0, MK_EINVAL, e, "bad flags for a write");
  int n = snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
  if (n < 0 || (size_t)n >= sizeof tmp) {
    tmp[0] = '\0';
    MK_FAIL(MK_ETOOBIG, e, "path '%.64s...' is too long", path);
  }
  fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    tmp[0] = '\0'; /* nothing to remove */
    MK_FAIL(MK_EIO, e, "cannot create a file next to '%s': %s", path, strerror(errno));
  }
  /* mkstemp makes 0600 already; say it so no umask or libc changes that. */
  MK_ENSURE(fchmod(fd, 0600) == 0, MK_EIO, e, "cannot chmod '%s': %s", tmp, strerror(errno));
  for (size_t off = 0; off < len;) {
    ssize_t w = write(fd, p + off, len - off);
    if (w < 0 && errno == EINTR)
      continue;
    MK_ENSURE(w > 0, MK_EIO, e, "cannot write '%s': %s", tmp, strerror(errno));
    off += (size_t)w;
  }
  MK_ENSURE(fsync(fd) == 0, MK_EIO, e, "cannot sync '%s': %s", tmp, strerror(errno));
  int closed = close(fd);
  fd = -1;
  MK_ENSURE(closed == 0, MK_EIO, e, "cannot close '%s': %s", tmp, strerror(errno));
  if (flags & MK_FILE_EXCL) {
    /* link(2) fails with EEXIST instead of replacing: an atomic create. */
    if (link(tmp, path) != 0) {
      int err = errno;
      MK_ENSURE(err != EEXIST, MK_ECONFLICT, e, "'%s' exists already", path);
      MK_FAIL(MK_EIO, e, "cannot create '%s': %s", path, strerror(err));
    }
    unlink(tmp);
  } else {
    MK_ENSURE(rename(tmp, path) == 0, MK_EIO, e, "cannot rename '%s' to '%s': %s", tmp, path,
              strerror(errno));
  }
  tmp[0] = '\0';
  MK_TRY(sync_parent(path, e));
out:
  if (fd >= 0)
    close(fd);
  if (tmp[0] != '\0')
    unlink(tmp);
  return rc;
}

int mk_file_read_capped(const char *path, size_t max, unsigned flags, mk_buf *out, mk_err *e) {
  int rc = 0, fd = -1;
  struct stat st;
  unsigned char chunk[4096];

  mk_buf_init_secret(out, max); /* key files: growth must not leave copies */
  MK_ENSURE(path != NULL && path[0] != '\0', MK_EINVAL, e, "no file name given");
  MK_ENSURE((flags & ~(unsigned)MK_FILE_PRIVATE) == 0, MK_EINVAL, e, "bad flags for a read");
  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int err = errno;
    MK_ENSURE(err != ENOENT, MK_ENOTFOUND, e, "cannot open '%s': no such file", path);
    MK_ENSURE(err != EACCES, MK_EPERM, e, "cannot open '%s': permission denied", path);
    MK_FAIL(MK_EIO, e, "cannot open '%s': %s", path, strerror(err));
  }
  MK_ENSURE(fstat(fd, &st) == 0, MK_EIO, e, "cannot stat '%s': %s", path, strerror(errno));
  /* A FIFO or device would block or never end: key files are regular. */
  MK_ENSURE(S_ISREG(st.st_mode), MK_EINVAL, e, "'%s' is not a regular file", path);
  if (flags & MK_FILE_PRIVATE) {
    MK_ENSURE(st.st_uid == geteuid(), MK_EPERM, e,
              "'%s' belongs to another user (uid %lu): refusing to use a key file this user "
              "does not own",
              path, (unsigned long)st.st_uid);
    MK_ENSURE((st.st_mode & 077) == 0, MK_EPERM, e,
              "'%s' is accessible by other users (mode %04o): run chmod 600 '%s'", path,
              (unsigned)(st.st_mode & 07777), path);
  }
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR)
      continue;
    MK_ENSURE(r >= 0, MK_EIO, e, "cannot read '%s': %s", path, strerror(errno));
    if (r == 0)
      break;
    int a = mk_buf_append(out, chunk, (size_t)r, NULL);
    MK_ENSURE(a != MK_ETOOBIG, MK_ETOOBIG, e, "'%s' is over %zu bytes", path, max);
    MK_ENSURE(a == 0, a, e, "out of memory reading '%s'", path);
  }
out:
  OPENSSL_cleanse(chunk, sizeof chunk);
  if (fd >= 0)
    close(fd);
  if (rc < 0)
    mk_buf_free_secret(out);
  return rc;
}
