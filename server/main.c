/*
 * mkeyd: load config, prepare the data directory, open and migrate the store,
 * serve HTTP until SIGINT/SIGTERM, then drain in-flight requests and close.
 */
#include <errno.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "config.h"
#include "store/store.h"
#include "svc/svc.h"
#include "util/file.h"
#include "util/log.h"
#include "util/time.h"

#define SHUTDOWN_GRACE_MS 10000

static const char *real_getenv(const char *name) { return getenv(name); }

/* First start on an empty or missing directory creates it 0700. An existing
 * directory that others may write to is refused: it will hold keys. */
static int prepare_data_dir(const char *dir, mk_err *e) {
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return mk_err_set(e, MK_EIO, "cannot create data directory '%s': %s", dir, strerror(errno));
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return mk_err_set(e, MK_EIO, "data directory '%s' is not a directory", dir);
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return mk_err_set(e, MK_EINVAL, "data directory '%s' is writable by others; chmod 700 it",
                      dir);
  return 0;
}

/* With port 0 the kernel picks the port: write the URL where scripts (and the
 * e2e harness) find it. */
static int write_url_file(const char *dir, const char *url, mk_err *e) {
  char path[PATH_MAX + 16], line[400];
  snprintf(path, sizeof path, "%.*s/mkeyd.url", PATH_MAX - 1, dir);
  int n = snprintf(line, sizeof line, "%s\n", url);
  return mk_file_write_private(path, line, (size_t)n, 0, e);
}

/* Request bodies parsed by jansson hold passwords, SMS codes, ID and card
 * numbers: every block jansson frees is wiped first, so no handler can
 * forget to. (malloc_usable_size is glibc's; the whole block is cleared.) */
static void *json_block_alloc(size_t n) { return malloc(n); }
static void json_block_free(void *p) {
  if (p != NULL) {
    OPENSSL_cleanse(p, malloc_usable_size(p));
    free(p);
  }
}

int main(int argc, char **argv) {
  json_set_alloc_funcs(json_block_alloc, json_block_free);
  mk_config cfg;
  mk_err e;
  mk_err_clear(&e);
  mk_store *store = NULL;
  mk_server *srv = NULL;
  mk_kek *kek = NULL;
  int status = 1;

  int rc = mk_config_load(&cfg, argc, argv, real_getenv, &e);
  if (rc == 1)
    return 0;
  if (rc < 0) {
    fprintf(stderr, "mkeyd: %s\n", e.msg);
    return 2;
  }
  mk_log_init(cfg.log_level, NULL);

  /* Signals are taken by sigwait in this thread only: block them before any
   * thread starts so the HTTP workers inherit the mask. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (prepare_data_dir(cfg.data_dir, &e) < 0)
    goto fail;
  /* The key-encryption key: made at first start (0600), then only read. */
  char kek_path[PATH_MAX + 16];
  snprintf(kek_path, sizeof kek_path, "%.*s/kek", PATH_MAX - 1, cfg.data_dir);
  if (mk_kek_file_open(kek_path, 1, &kek, &e) < 0)
    goto fail;
  /* The KMC's KEK, made the same way: it wraps escrowed encryption keys.
   * The KMC is the CA's service and mkeyd's KEK the platform's, so the two
   * are kept apart (docs/pki.md); only the CA service opens it. */
  snprintf(kek_path, sizeof kek_path, "%.*s/kmc.kek", PATH_MAX - 1, cfg.data_dir);
  mk_kek *kmc_kek = NULL;
  if (mk_kek_file_open(kek_path, 1, &kmc_kek, &e) < 0)
    goto fail;
  mk_kek_free(kmc_kek);
  if (cfg.store_url[0] == '\0')
    snprintf(cfg.store_url, sizeof cfg.store_url, "sqlite:%s/mkey.db", cfg.data_dir);
  mk_store_config scfg = {.url = cfg.store_url, .pool_size = cfg.threads + 1};
  if (mk_store_open(&scfg, &store, &e) < 0)
    goto fail;
  mk_svc_ctx svc = {.store = store, .kek = kek, .cfg = &cfg, .now = mk_time_now};
  if (mk_svc_system_init(&svc, &e) < 0 || mk_svc_operator_init(&svc, cfg.data_dir, &e) < 0 ||
      mk_svc_help_index(&svc, &e) < 0)
    goto fail;
  if (mk_server_start(&cfg, store, kek, &srv, &e) < 0)
    goto fail;

  char host[64];
  unsigned port;
  if (mk_config_listen_addr(&cfg, host, sizeof host, &port, &e) < 0)
    goto fail;
  char url[320];
  const char *scheme = cfg.tls_cert[0] ? "https" : "http";
  if (strchr(host, ':') != NULL)
    snprintf(url, sizeof url, "%s://[%s]:%u", scheme, host, mk_server_port(srv));
  else
    snprintf(url, sizeof url, "%s://%s:%u", scheme, host, mk_server_port(srv));
  /* The CAs need the URL their certificates point at, known only now with
   * port 0; seeding comes before mkeyd.url, which tells scripts we are ready. */
  if (mk_svc_ca_init(&svc, cfg.public_url[0] ? cfg.public_url : url, &e) < 0)
    goto fail;
  if (write_url_file(cfg.data_dir, url, &e) < 0)
    goto fail;
  int64_t schema = 0;
  if (mk_store_schema_version(store, &schema, &e) < 0)
    goto fail;
  if (cfg.sandbox) {
    fprintf(stderr,
            "mkeyd: *** SANDBOX MODE: plain HTTP and sandbox providers (SMS codes go to an "
            "outbox, identity checks are simulated). For trying mkey and tests only. ***\n");
    mk_log(MK_LOG_WARN, "server.sandbox", "{s:s}", "detail",
           "sandbox mode: plain HTTP, simulated outside services; never use in production");
  } else if (!cfg.tls_cert[0]) {
    mk_log(MK_LOG_WARN, "server.insecure_http", "{s:s}", "detail",
           "plain HTTP outside sandbox: only behind a TLS-terminating proxy");
  }
  mk_log(MK_LOG_INFO, "server.start", "{s:s,s:s,s:s,s:s,s:I,s:i}", "version", mk_version(), "url",
         url, "data", cfg.data_dir, "store", mk_store_backend(store), "schema", (json_int_t)schema,
         "threads", cfg.threads);

  int sig = 0;
  while (sigwait(&sigs, &sig) != 0)
    ;
  mk_log(MK_LOG_INFO, "server.stopping", "{s:s}", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM");
  status = 0;
  goto done;

fail:
  fprintf(stderr, "mkeyd: %s\n", e.msg);
  mk_log(MK_LOG_ERROR, "server.fail", "{s:s,s:s}", "err", mk_code_name(e.code), "detail", e.msg);
done:
  mk_server_stop(srv, SHUTDOWN_GRACE_MS);
  mk_store_close(store);
  mk_kek_free(kek);
  if (status == 0)
    mk_log(MK_LOG_INFO, "server.stopped", NULL);
  return status;
}
