/* mkey cache: what the client keeps to show lists without the network
 * (platforms, help articles, messages) lives in <profile>/cache/, apart
 * from profile.json (session token, device) and key files, so `cache
 * clear` (设置 / 删除缓存) can drop all of it and nothing else. Also the
 * helpers other commands use to write there and to build query strings. */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"

#define CACHE_DIR "cache"
#define CACHE_DEPTH_MAX 4

const char cmd_cache_usage[] =
    "usage: mkey cache clear\n"
    "\n"
    "clear    remove what this profile cached (lists of platforms and help\n"
    "         articles, messages) from <profile>/cache/ and say what went; the\n"
    "         session token, the device id and key files are never touched\n"
    "         (--json: {\"removed\": [names], \"files\": N, \"bytes\": N})\n";

int cli_query_escape(const char *in, char *out, size_t cap) {
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
    int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                *p == '-' || *p == '_' || *p == '.' || *p == '~';
    if (o + (plain ? 1 : 3) >= cap)
      return -1;
    if (plain) {
      out[o++] = (char)*p;
    } else {
      out[o++] = '%';
      out[o++] = hex[*p >> 4];
      out[o++] = hex[*p & 15];
    }
  }
  out[o] = '\0';
  return 0;
}

int cli_cache_put(const struct cli *ctx, const char *name, const json_t *v) {
  char dir[CLI_PATH_MAX], path[CLI_PATH_MAX + 64];
  mk_err e = {0};
  if (strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(name) || *name == '\0')
    return -1;
  if (cli_profile_dir(ctx->profile, 1, dir, sizeof dir, &e) < 0)
    return -1;
  snprintf(path, sizeof path, "%s/" CACHE_DIR, dir);
  if (mkdir(path, 0700) != 0 && errno != EEXIST)
    return -1;
  struct stat st;
  if (lstat(path, &st) != 0 || !S_ISDIR(st.st_mode))
    return -1;
  char *text = json_dumps(v, JSON_COMPACT);
  if (text == NULL)
    return -1;
  snprintf(path, sizeof path, "%s/" CACHE_DIR "/%s.json", dir, name);
  int rc = mk_file_write_private(path, text, strlen(text), 0, &e);
  free(text);
  return rc < 0 ? -1 : 0;
}

/* Remove everything inside the directory open as dfd, without following a
 * symbolic link anywhere (a link is removed, not what it points to). Names
 * (relative to the cache) go to removed; *files and *bytes add up. */
static int clear_dir(int dfd, const char *prefix, int depth, json_t *removed, long long *files,
                     long long *bytes, mk_err *e) {
  DIR *d = fdopendir(dfd);
  if (d == NULL) {
    close(dfd);
    return mk_err_set(e, MK_EIO, "cannot read the cache: %s", strerror(errno));
  }
  int rc = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    char name[CLI_PATH_MAX];
    snprintf(name, sizeof name, "%s%s", prefix, de->d_name);
    struct stat st;
    if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      rc = mk_err_set(e, MK_EIO, "cannot stat cache entry '%s': %s", name, strerror(errno));
      break;
    }
    if (S_ISDIR(st.st_mode)) {
      if (depth >= CACHE_DEPTH_MAX) {
        rc = mk_err_set(e, MK_EIO, "the cache is nested too deep at '%s'", name);
        break;
      }
      int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      char pre[CLI_PATH_MAX];
      if (snprintf(pre, sizeof pre, "%s/", name) >= (int)sizeof pre) {
        if (sub >= 0)
          close(sub);
        rc = mk_err_set(e, MK_ETOOBIG, "cache path too long at '%.64s'", name);
        break;
      }
      if (sub < 0 || (rc = clear_dir(sub, pre, depth + 1, removed, files, bytes, e)) < 0) {
        if (sub < 0)
          rc = mk_err_set(e, MK_EIO, "cannot open cache directory '%s': %s", name,
                          strerror(errno));
        break;
      }
      if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) != 0) {
        rc = mk_err_set(e, MK_EIO, "cannot remove '%s': %s", name, strerror(errno));
        break;
      }
      continue;
    }
    if (unlinkat(dirfd(d), de->d_name, 0) != 0) {
      rc = mk_err_set(e, MK_EIO, "cannot remove '%s': %s", name, strerror(errno));
      break;
    }
    (*files)++;
    *bytes += S_ISREG(st.st_mode) ? (long long)st.st_size : 0;
    if (json_array_append_new(removed, json_string(name)) != 0) {
      rc = mk_err_set(e, MK_ENOMEM, "out of memory");
      break;
    }
  }
  closedir(d);
  return rc;
}

static int cache_clear(int argc, const char **argv, struct cli *ctx) {
  int rc = cli_parse_options(ctx, argc, argv, NULL, NULL, 0, NULL, cmd_cache_usage);
  if (rc != 0)
    return rc;
  char dir[CLI_PATH_MAX], path[CLI_PATH_MAX + 16];
  mk_err e = {0};
  json_t *removed = json_array();
  long long files = 0, bytes = 0;
  if (removed == NULL)
    return cli_error("out of memory");
  rc = CLI_FAIL;
  if (cli_profile_dir(ctx->profile, 0, dir, sizeof dir, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  snprintf(path, sizeof path, "%s/" CACHE_DIR, dir);
  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0 && errno != ENOENT) {
    cli_error("cannot open '%s': %s", path, strerror(errno));
    goto out;
  }
  if (dfd >= 0 && clear_dir(dfd, "", 0, removed, &files, &bytes, &e) < 0) {
    cli_fail(&e);
    goto out;
  }
  if (ctx->json) {
    json_t *doc = json_pack("{s:O,s:I,s:I}", "removed", removed, "files", (json_int_t)files,
                            "bytes", (json_int_t)bytes);
    rc = doc != NULL ? cli_print_json(doc) : cli_error("out of memory");
    json_decref(doc);
    goto out;
  }
  if (files == 0) {
    printf("nothing cached in profile '%s'\n", ctx->profile);
  } else {
    printf("removed %lld cached file%s (%lld bytes) from profile '%s':", files,
           files == 1 ? "" : "s", bytes, ctx->profile);
    size_t i;
    json_t *v;
    json_array_foreach(removed, i, v) printf(" %s", json_string_value(v));
    printf("\nthe session, the device id and keys were kept\n");
  }
  rc = CLI_OK;
out:
  json_decref(removed);
  return rc;
}

int cmd_cache(int argc, const char **argv, struct cli *ctx) {
  if (argc < 2)
    return cli_usage_error(cmd_cache_usage, "cache needs a subcommand");
  if (strcmp(argv[1], "clear") == 0)
    return cache_clear(argc - 1, argv + 1, ctx);
  return cli_usage_error(cmd_cache_usage, "unknown cache subcommand '%.64s'", argv[1]);
}
