/* pki/cmp.c against OpenSSL's own CMP mock server (`openssl cmp -port N`),
 * started per test. The mock answers every certificate request with the one
 * certificate it was given (-rsp_cert), so the test makes a CA, a subject
 * key with its CSR, and the subject's certificate, and gives the mock that
 * certificate (INTEROP.md). HTTP-level failures (wrong status, oversized or
 * non-CMP answers, silence) come from a small canned server in a thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "mk_test.h"
#include "pki/cmp.h"

extern char **environ;

#define SECRET "mkey-cmp-test-secret"
#define REF "mock"
#define MOCK_START_WAIT_MS 15000 /* a loaded 2-core machine starts openssl slowly */

/* ---- fixtures: keys, certificates, files ------------------------------- */

static char dir[64];
static EVP_PKEY *ca_key, *sub_ca_key, *sub_key, *other_key;
static X509 *ca_cert, *sub_ca, *issued, *stranger;
static X509_REQ *csr, *other_csr;

static void add_ext(X509 *issuer, X509 *x, int nid, const char *value) {
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
  X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
  assert_non_null(ext);
  assert_int_equal(X509_add_ext(x, ext, -1), 1);
  X509_EXTENSION_free(ext);
}

static X509 *make_cert(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key, const char *cn,
                       long serial, int ca) {
  X509 *x = X509_new();
  assert_non_null(x);
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
                             (const unsigned char *)cn, -1, -1, 0);
  X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer)
                                         : X509_get_subject_name(x));
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509 *iss = issuer != NULL ? issuer : x;
  if (ca) {
    add_ext(iss, x, NID_basic_constraints, "critical,CA:TRUE");
    /* digitalSignature: the mock signs its CMP answers with this certificate */
    add_ext(iss, x, NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign");
  } else {
    add_ext(iss, x, NID_key_usage, "critical,digitalSignature");
  }
  add_ext(iss, x, NID_subject_key_identifier, "hash");
  if (issuer != NULL)
    add_ext(iss, x, NID_authority_key_identifier, "keyid");
  assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
  return x;
}

static X509_REQ *make_csr(EVP_PKEY *key, const char *cn) {
  X509_REQ *r = X509_REQ_new();
  assert_non_null(r);
  X509_REQ_set_pubkey(r, key);
  X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_UTF8,
                             (const unsigned char *)cn, -1, -1, 0);
  assert_true(X509_REQ_sign(r, key, EVP_sha256()) > 0);
  return r;
}

static const char *path_of(const char *name) {
  static char paths[16][128]; /* a mock's command line holds several */
  static int next;
  char *p = paths[next++ % 16];
  snprintf(p, 128, "%s/%s", dir, name);
  return p;
}

static void write_cert(const char *name, X509 *x) {
  FILE *f = fopen(path_of(name), "w");
  assert_non_null(f);
  assert_int_equal(PEM_write_X509(f, x), 1);
  fclose(f);
}

static EVP_PKEY *p256(void) {
  EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  assert_non_null(k);
  return k;
}

static int group_setup(void **state) {
  snprintf(dir, sizeof dir, "/tmp/mk_cmp_XXXXXX");
  assert_non_null(mkdtemp(dir));
  ca_key = p256();
  sub_ca_key = p256();
  sub_key = p256();
  other_key = p256();
  /* root (also the mock's CMP signer) -> issuing CA -> the subject */
  ca_cert = make_cert(NULL, ca_key, ca_key, "mkey CMP test root", 1, 1);
  sub_ca = make_cert(ca_cert, ca_key, sub_ca_key, "mkey CMP test issuing CA", 2, 1);
  issued = make_cert(sub_ca, sub_ca_key, sub_key, "张三", 0x2a, 0);
  stranger = make_cert(NULL, other_key, other_key, "stranger CA", 2, 1);
  csr = make_csr(sub_key, "张三");
  other_csr = make_csr(other_key, "李四");
  write_cert("ca.crt", ca_cert);
  write_cert("sub_ca.crt", sub_ca);
  write_cert("issued.crt", issued);
  FILE *f = fopen(path_of("ca.key"), "w");
  assert_non_null(f);
  assert_int_equal(PEM_write_PrivateKey(f, ca_key, NULL, NULL, 0, NULL, NULL), 1);
  fclose(f);
  return 0;
}

static int group_teardown(void **state) {
  const char *names[] = {"ca.crt", "ca.key", "sub_ca.crt", "issued.crt", "mock.log"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    unlink(path_of(names[i]));
  rmdir(dir);
  X509_REQ_free(csr);
  X509_REQ_free(other_csr);
  X509_free(ca_cert);
  X509_free(sub_ca);
  X509_free(issued);
  X509_free(stranger);
  EVP_PKEY_free(ca_key);
  EVP_PKEY_free(sub_ca_key);
  EVP_PKEY_free(sub_key);
  EVP_PKEY_free(other_key);
  return 0;
}

/* ---- ports and the mock server ---------------------------------------- */

/* A port that was free a moment ago: bind 127.0.0.1:0, read it, close. */
static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static int port_accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return 0;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  close(fd);
  return ok;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void print_log(void) {
  FILE *f = fopen(path_of("mock.log"), "r");
  char line[512];
  if (f == NULL)
    return;
  while (fgets(line, sizeof line, f) != NULL)
    fprintf(stderr, "  mock: %s", line);
  fclose(f);
}

static int log_contains(const char *needle) {
  FILE *f = fopen(path_of("mock.log"), "r");
  char line[512];
  int found = 0;
  if (f == NULL)
    return 0;
  while (!found && fgets(line, sizeof line, f) != NULL)
    found = strstr(line, needle) != NULL;
  fclose(f);
  return found;
}

/* The running mock of the current test: pid of `timeout`, which runs
 * openssl and ends it after 60 s should this process die without reaping. */
static pid_t mock_pid = -1;
static int mock_port;
static char mock_url[64];

static void mock_stop(void) {
  if (mock_pid <= 0)
    return;
  kill(mock_pid, SIGTERM); /* timeout passes it on to openssl */
  int st;
  while (waitpid(mock_pid, &st, 0) < 0 && errno == EINTR) {
  }
  mock_pid = -1;
}

static int test_teardown(void **state) {
  mock_stop();
  return 0;
}

/* Start `openssl cmp -port N` with protection by the shared secret (pbm) or
 * by signatures of ca.crt, plus extra arguments (NULL-terminated). */
static void mock_start(int pbm, const char *const *extra) {
  const char *openssl = getenv("MKEY_OPENSSL") != NULL ? getenv("MKEY_OPENSSL") : "openssl";
  for (int attempt = 0; attempt < 3; attempt++) {
    char port[16];
    mock_port = free_port();
    snprintf(port, sizeof port, "%d", mock_port);
    const char *argv[48];
    int n = 0;
    argv[n++] = "timeout";
    argv[n++] = "60";
    argv[n++] = openssl;
    argv[n++] = "cmp";
    argv[n++] = "-port";
    argv[n++] = port;
    argv[n++] = "-max_msgs";
    argv[n++] = "20";
    if (pbm) {
      argv[n++] = "-srv_ref";
      argv[n++] = REF;
      argv[n++] = "-srv_secret";
      argv[n++] = "pass:" SECRET;
    } else {
      argv[n++] = "-srv_trusted"; /* to check our signatures */
      argv[n++] = path_of("ca.crt");
    }
    argv[n++] = "-srv_cert";
    argv[n++] = path_of("ca.crt");
    argv[n++] = "-srv_key";
    argv[n++] = path_of("ca.key");
    argv[n++] = "-rsp_cert";
    argv[n++] = path_of("issued.crt");
    for (int i = 0; extra != NULL && extra[i] != NULL; i++)
      argv[n++] = extra[i];
    argv[n] = NULL;
    assert_true(n < 48);

    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, path_of("mock.log"), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int err = posix_spawnp(&pid, "timeout", &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(err, 0);
    mock_pid = pid; /* only now: pid is unspecified when posix_spawnp fails */

    /* The mock says "ACCEPT <addr>:<port>" once it listens. A probing
     * connection that sends nothing would make it pause for a second
     * before its next request, so connecting is only the fallback. */
    for (int waited = 0; waited < MOCK_START_WAIT_MS; waited += 20) {
      int st;
      if (waitpid(mock_pid, &st, WNOHANG) == mock_pid) {
        mock_pid = -1; /* exited: most likely the port was taken meanwhile */
        break;
      }
      if (log_contains("ACCEPT ") || (waited >= 5000 && port_accepts(mock_port))) {
        snprintf(mock_url, sizeof mock_url, "http://127.0.0.1:%d/pkix/", mock_port);
        return;
      }
      sleep_ms(20);
    }
    mock_stop();
  }
  print_log();
  fail_msg("the openssl cmp mock server did not start");
}

static mk_pki_cmp_config pbm_config(const char *url) {
  mk_pki_cmp_config c = {.url = url, .ref = REF, .secret = (const unsigned char *)SECRET,
                         .secret_len = strlen(SECRET), .msg_timeout = 15, .total_timeout = 30};
  return c;
}

static X509_STORE *store_of(X509 *x) {
  X509_STORE *s = X509_STORE_new();
  assert_non_null(s);
  assert_int_equal(X509_STORE_add_cert(s, x), 1);
  return s;
}

#define assert_msg_has(e, needle)                                                           \
  do {                                                                                      \
    if (strstr((e).msg, (needle)) == NULL)                                                  \
      fail_msg("message \"%s\" lacks \"%s\"", (e).msg, (needle));                           \
  } while (0)

/* ---- issuance ----------------------------------------------------------- */

/* p10cr returns the mock's certificate, confirmed; a proxy named in the
 * environment is not used. The chain is the issuing CA the mock sends in
 * extraCerts: unvalidated without issuer_trust, validated up to the root
 * with it. */
static void test_p10cr_issues(void **state) {
  const char *extra[] = {"-rsp_extracerts", path_of("sub_ca.crt"), NULL};
  mock_start(1, extra);
  mk_pki_cmp_config c = pbm_config(mock_url);
  c.srv_cert = ca_cert;
  mk_err e;
  X509 *cert = NULL;
  STACK_OF(X509) *chain = NULL;
  setenv("http_proxy", "http://127.0.0.1:9", 1);
  setenv("HTTP_PROXY", "http://127.0.0.1:9", 1);
  int rc = mk_pki_cmp_issue(&c, csr, NULL, &cert, &chain, &e);
  unsetenv("http_proxy");
  unsetenv("HTTP_PROXY");
  if (rc != 0)
    fail_msg("p10cr failed: %s", e.msg);
  assert_int_equal(X509_cmp(cert, issued), 0);
  assert_non_null(chain);
  assert_int_equal(sk_X509_num(chain), 1);
  assert_int_equal(X509_cmp(sk_X509_value(chain, 0), sub_ca), 0);
  X509_free(cert);
  sk_X509_pop_free(chain, X509_free);

  c.srv_cert = NULL;
  c.issuer_trust = store_of(ca_cert);
  rc = mk_pki_cmp_issue(&c, csr, NULL, &cert, &chain, &e);
  if (rc != 0)
    fail_msg("p10cr with issuer_trust failed: %s", e.msg);
  assert_int_equal(X509_cmp(cert, issued), 0);
  assert_int_equal(sk_X509_num(chain), 1);
  assert_int_equal(X509_cmp(sk_X509_value(chain, 0), sub_ca), 0);
  X509_free(cert);
  sk_X509_pop_free(chain, X509_free);

  /* chain_out may be NULL */
  rc = mk_pki_cmp_issue(&c, csr, NULL, &cert, NULL, &e);
  assert_int_equal(rc, 0);
  X509_free(cert);
  X509_STORE_free(c.issuer_trust);
}

/* ir with the CSR's key: CRMF template and signature POPO. Without
 * extraCerts from the server the chain is empty. A key other than the
 * CSR's is refused before anything is sent. */
static void test_ir_issues(void **state) {
  mock_start(1, NULL);
  mk_pki_cmp_config c = pbm_config(mock_url);
  mk_err e;
  X509 *cert = NULL;
  STACK_OF(X509) *chain = NULL;
  int rc = mk_pki_cmp_issue(&c, csr, sub_key, &cert, &chain, &e);
  if (rc != 0)
    fail_msg("ir failed: %s", e.msg);
  assert_int_equal(X509_cmp(cert, issued), 0);
  assert_int_equal(sk_X509_num(chain), 0);
  X509_free(cert);
  sk_X509_pop_free(chain, X509_free);

  assert_mk_fails(mk_pki_cmp_issue(&c, csr, other_key, &cert, &chain, &e), MK_EINVAL);
  assert_string_equal(e.msg, "the key for the ir is not the CSR's key");
  assert_null(cert);
  assert_null(chain);
}

/* Signature protection: our requests signed with issued.crt's key, its
 * issuing CA sent along for the mock to reach its root; the mock's answers
 * signed by the root. An answer by a signer we do not trust is MK_EAUTH. */
static void test_signature_protection(void **state) {
  mock_start(0, NULL);
  STACK_OF(X509) *ours = sk_X509_new_null();
  assert_non_null(ours);
  assert_int_equal(sk_X509_push(ours, sub_ca), 1);
  mk_pki_cmp_config c = {.url = mock_url, .cert = issued, .key = sub_key, .cert_chain = ours,
                         .trusted = store_of(ca_cert), .msg_timeout = 15};
  mk_err e;
  X509 *cert = NULL;
  int rc = mk_pki_cmp_issue(&c, csr, NULL, &cert, NULL, &e);
  if (rc != 0)
    fail_msg("signature-protected p10cr failed: %s", e.msg);
  assert_int_equal(X509_cmp(cert, issued), 0);
  X509_free(cert);
  X509_STORE_free(c.trusted);

  c.trusted = store_of(stranger);
  assert_mk_fails(mk_pki_cmp_issue(&c, csr, NULL, &cert, NULL, &e), MK_EAUTH);
  assert_msg_has(e, "cannot authenticate the answer of the CMP server at http://127.0.0.1:");
  assert_null(cert);
  X509_STORE_free(c.trusted);

  c.trusted = NULL;
  c.srv_cert = stranger; /* pinned: the root's answers come from another sender */
  assert_mk_fails(mk_pki_cmp_revoke(&c, issued, 1, &e), MK_EAUTH);
  assert_msg_has(e, "it comes from another sender");
  sk_X509_free(ours);
}

/* ---- revocation --------------------------------------------------------- */

static void test_rr_revokes(void **state) {
  mock_start(1, NULL);
  mk_pki_cmp_config c = pbm_config(mock_url);
  mk_err e;
  int rc = mk_pki_cmp_revoke(&c, issued, 1 /* keyCompromise */, &e);
  if (rc != 0)
    fail_msg("rr failed: %s", e.msg);
  assert_mk_ok(mk_pki_cmp_revoke(&c, issued, -1, &e));
  assert_true(log_contains("POST /pkix/"));

  /* The mock knows only its -rsp_cert: rr for another one is rejected with
   * a PKIStatus that reaches the message. */
  assert_mk_fails(mk_pki_cmp_revoke(&c, stranger, 0, &e), MK_EPROTO);
  assert_msg_has(e, "the CMP server rejected the rr: PKIStatus: rejection");

  assert_mk_fails(mk_pki_cmp_revoke(&c, issued, 7, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_cmp_revoke(&c, issued, 11, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_cmp_revoke(&c, NULL, 1, &e), MK_EINVAL);
}

/* ---- failures ------------------------------------------------------------ */

static void test_wrong_secret(void **state) {
  mock_start(1, NULL);
  mk_pki_cmp_config c = pbm_config(mock_url);
  c.secret = (const unsigned char *)"not-the-secret";
  c.secret_len = strlen("not-the-secret");
  mk_err e;
  X509 *cert = NULL;
  /* the mock cannot check our MAC and answers an error MACed with its own
   * secret, which fails our check in turn */
  assert_mk_fails(mk_pki_cmp_issue(&c, csr, NULL, &cert, NULL, &e), MK_EAUTH);
  assert_msg_has(e, "cannot authenticate the answer of the CMP server at ");
  assert_msg_has(e, "wrong pbm value");
  assert_null(cert);
  assert_mk_fails(mk_pki_cmp_revoke(&c, issued, 1, &e), MK_EAUTH);
}

static void test_nothing_listening(void **state) {
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/pkix/", free_port());
  mk_pki_cmp_config c = pbm_config(url);
  mk_err e;
  X509 *cert = NULL;
  assert_mk_fails(mk_pki_cmp_issue(&c, csr, NULL, &cert, NULL, &e), MK_ENET);
  char want[128];
  snprintf(want, sizeof want, "cannot reach the CMP server at %s: Connection refused", url);
  assert_string_equal(e.msg, want);
  assert_null(cert);
  assert_mk_fails(mk_pki_cmp_revoke(&c, issued, 1, &e), MK_ENET);
  assert_string_equal(e.msg, want);
}

/* The mock's certificate is not for the other CSR's key: we refuse it, tell
 * the server so in certConf, and report MK_EPROTO. */
static void test_other_key_refused(void **state) {
  mock_start(1, NULL);
  mk_pki_cmp_config c = pbm_config(mock_url);
  mk_err e;
  X509 *cert = NULL;
  STACK_OF(X509) *chain = NULL;
  assert_mk_fails(mk_pki_cmp_issue(&c, other_csr, NULL, &cert, &chain, &e), MK_EPROTO);
  assert_string_equal(e.msg,
                      "the CMP server returned a certificate for another public key; refused");
  assert_null(cert);
  assert_null(chain);
  assert_mk_fails(mk_pki_cmp_issue(&c, other_csr, other_key, &cert, &chain, &e), MK_EPROTO);
  mock_stop(); /* flushes the log */
  assert_true(log_contains("certificate rejected by client"));
}

/* A certificate that does not chain to issuer_trust is refused. */
static void test_untrusted_issuer(void **state) {
  mock_start(1, NULL);
  mk_pki_cmp_config c = pbm_config(mock_url);
  c.issuer_trust = store_of(stranger);
  mk_err e;
  X509 *cert = NULL;
  assert_mk_fails(mk_pki_cmp_issue(&c, csr, NULL, &cert, NULL, &e), MK_EPROTO);
  assert_string_equal(e.msg, "the certificate from the CMP server does not validate against "
                             "the trusted issuers; refused");
  assert_null(cert);
  X509_STORE_free(c.issuer_trust);
}

/* The mock told to reject (PKIStatus rejection with a failInfo and text):
 * MK_EPROTO with the status text; failInfo notAuthorized is MK_EAUTH. */
static void test_rejection(void **state) {
  const char *extra[] = {"-pkistatus", "2", "-failure", "19", "-statusstring",
                         "subject not allowed", NULL};
  mock_start(1, extra);
  mk_pki_cmp_config c = pbm_config(mock_url);
  mk_err e;
  X509 *cert = NULL;
  assert_mk_fails(mk_pki_cmp_issue(&c, csr, NULL, &cert, NULL, &e), MK_EPROTO);
  assert_msg_has(e, "the CMP server rejected the p10cr: PKIStatus: rejection");
  assert_msg_has(e, "badCertTemplate");
  assert_msg_has(e, "subject not allowed");
  assert_null(cert);
  mock_stop();

  const char *extra2[] = {"-pkistatus", "2", "-failure", "23", NULL};
  mock_start(1, extra2);
  c = pbm_config(mock_url);
  assert_mk_fails(mk_pki_cmp_issue(&c, csr, NULL, &cert, NULL, &e), MK_EAUTH);
  assert_msg_has(e, "the CMP server refused our authentication: ");
  assert_msg_has(e, "notAuthorized");
}

/* ---- HTTP bounds, with a canned server ---------------------------------- */

struct canned {
  int lfd;
  const char *rsp; /* NULL: accept, read, never answer until the client leaves */
  size_t rsp_len;
};

static int listen_local(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  assert_int_equal(listen(fd, 4), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

/* Serve one connection: read the whole request (headers, then
 * Content-Length bytes), write the canned answer, close. */
static void *canned_serve(void *arg) {
  struct canned *c = arg;
  struct pollfd p = {.fd = c->lfd, .events = POLLIN};
  if (poll(&p, 1, 20000) != 1)
    return NULL;
  int fd = accept(c->lfd, NULL, NULL);
  if (fd < 0)
    return NULL;
  char buf[16384];
  size_t n = 0;
  long want = -1;
  for (;;) {
    struct pollfd q = {.fd = fd, .events = POLLIN};
    if (poll(&q, 1, 20000) != 1)
      break;
    ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
    if (r <= 0)
      break;
    n += (size_t)r;
    buf[n] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (end != NULL && want < 0) {
      char *cl = strcasestr(buf, "Content-Length:");
      want = (end - buf) + 4 + (cl != NULL ? strtol(cl + 15, NULL, 10) : 0);
    }
    if (want >= 0 && (long)n >= want)
      break;
  }
  if (c->rsp != NULL) {
    ssize_t w = write(fd, c->rsp, c->rsp_len);
    (void)w;
  } else {
    struct pollfd q = {.fd = fd, .events = POLLIN};
    if (poll(&q, 1, 20000) == 1) { /* until the client gives up and closes */
      ssize_t r = read(fd, buf, sizeof buf);
      (void)r;
    }
  }
  close(fd);
  return NULL;
}

static int canned_issue(const char *rsp, size_t rsp_len, unsigned msg_timeout, mk_err *e) {
  int port;
  struct canned c = {.rsp = rsp, .rsp_len = rsp_len};
  c.lfd = listen_local(&port);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, canned_serve, &c), 0);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/pkix/", port);
  mk_pki_cmp_config cfg = pbm_config(url);
  cfg.msg_timeout = msg_timeout;
  X509 *cert = NULL;
  int rc = mk_pki_cmp_issue(&cfg, csr, NULL, &cert, NULL, e);
  assert_null(cert);
  pthread_join(t, NULL);
  close(c.lfd);
  return rc;
}

static void test_http_answers(void **state) {
  mk_err e;
  static const char not_found[] = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";
  assert_mk_fails(canned_issue(not_found, sizeof not_found - 1, 10, &e), MK_EPROTO);
  assert_msg_has(e, "answered no CMP message");

  static const char html[] =
      "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nhi";
  assert_mk_fails(canned_issue(html, sizeof html - 1, 10, &e), MK_EPROTO);
  assert_msg_has(e, "answered no CMP message");

  /* DER, but SEQUENCE { NULL } is no PKIMessage */
  static const char der[] = "HTTP/1.0 200 OK\r\nContent-Type: application/pkixcmp\r\n"
                            "Content-Length: 4\r\n\r\n\x30\x02\x05\x00";
  assert_mk_fails(canned_issue(der, sizeof der - 1, 10, &e), MK_EPROTO);
  assert_msg_has(e, "answered something that is not a CMP message");

  static const char big_length[] = "HTTP/1.0 200 OK\r\nContent-Type: application/pkixcmp\r\n"
                                   "Content-Length: 10000000\r\n\r\n\x30\x82";
  assert_mk_fails(canned_issue(big_length, sizeof big_length - 1, 10, &e), MK_ETOOBIG);
  assert_msg_has(e, "is over 65536 bytes");

  /* no Content-Length: the DER header claims 16 MiB */
  static const char big_der[] = "HTTP/1.0 200 OK\r\nContent-Type: application/pkixcmp\r\n\r\n"
                                "\x30\x84\x01\x00\x00\x00\x05\x00";
  assert_mk_fails(canned_issue(big_der, sizeof big_der - 1, 10, &e), MK_ETOOBIG);

  /* a server that never answers: the message timeout ends the wait */
  time_t t0 = time(NULL);
  assert_mk_fails(canned_issue(NULL, 0, 1, &e), MK_ENET);
  assert_msg_has(e, "cannot reach the CMP server at http://127.0.0.1:");
  assert_true(time(NULL) - t0 <= 5);
}

/* ---- configuration and arguments ------------------------------------------ */

static void test_config_refused(void **state) {
  mk_err e;
  X509 *cert = NULL;
  mk_pki_cmp_config c = pbm_config("http://127.0.0.1:1/pkix/");
  const char *bad_urls[] = {"https://127.0.0.1/pkix/", "ftp://127.0.0.1/", "127.0.0.1 /x",
                            "http://user@127.0.0.1/pkix/", "http://127.0.0.1/pkix/?a=b"};
  for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
    c.url = bad_urls[i];
    assert_mk_fails(mk_pki_cmp_issue(&c, csr, NULL, &cert, NULL, &e), MK_EINVAL);
  }
  c.url = NULL;
  assert_mk_fails(mk_pki_cmp_issue(&c, csr, NULL, &cert, NULL, &e), MK_EINVAL);
  assert_string_equal(e.msg, "no CMP server URL");

  c = pbm_config("http://127.0.0.1:1/pkix/");
  c.cert = issued;
  c.key = sub_key;
  assert_mk_fails(mk_pki_cmp_revoke(&c, issued, 1, &e), MK_EINVAL);
  assert_string_equal(e.msg,
                      "CMP protection needs either a shared secret or a certificate and key");
  c.secret = NULL;
  assert_mk_fails(mk_pki_cmp_revoke(&c, issued, 1, &e), MK_EINVAL);
  assert_string_equal(e.msg,
                      "CMP signature protection needs the server certificate or trust anchors");
  c.key = other_key;
  c.srv_cert = ca_cert;
  assert_mk_fails(mk_pki_cmp_revoke(&c, issued, 1, &e), MK_EINVAL);
  assert_string_equal(e.msg, "the CMP signing key does not match its certificate");
  c.cert = NULL;
  c.key = NULL;
  assert_mk_fails(mk_pki_cmp_revoke(&c, issued, 1, &e), MK_EINVAL);

  c = pbm_config("http://127.0.0.1:1/pkix/");
  c.ref = NULL;
  assert_mk_fails(mk_pki_cmp_revoke(&c, issued, 1, &e), MK_EINVAL);
  assert_string_equal(e.msg, "CMP protection with a shared secret needs its reference");
  c = pbm_config("http://127.0.0.1:1/pkix/");
  c.secret_len = 0;
  assert_mk_fails(mk_pki_cmp_revoke(&c, issued, 1, &e), MK_EINVAL);
  c.secret_len = MK_PKI_CMP_SECRET_MAX + 1;
  assert_mk_fails(mk_pki_cmp_revoke(&c, issued, 1, &e), MK_EINVAL);
  c = pbm_config("http://127.0.0.1:1/pkix/");
  c.total_timeout = MK_PKI_CMP_TIMEOUT_MAX + 1;
  assert_mk_fails(mk_pki_cmp_revoke(&c, issued, 1, &e), MK_EINVAL);
  char long_url[MK_PKI_CMP_URL_MAX + 16];
  memset(long_url, 'a', sizeof long_url - 1);
  memcpy(long_url, "http://", 7);
  long_url[sizeof long_url - 1] = '\0';
  c.url = long_url;
  c.total_timeout = 0;
  assert_mk_fails(mk_pki_cmp_revoke(&c, issued, 1, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_cmp_revoke(NULL, issued, 1, &e), MK_EINVAL);

  /* CSR size bound, before anything is sent */
  c = pbm_config("http://127.0.0.1:1/pkix/");
  X509_REQ *big = make_csr(sub_key, "big");
  static char filler[MK_PKI_CMP_CSR_MAX];
  memset(filler, 'x', sizeof filler - 1);
  assert_int_equal(X509_REQ_add1_attr_by_txt(big, "challengePassword", MBSTRING_ASC,
                                             (const unsigned char *)filler, -1), 1);
  assert_mk_fails(mk_pki_cmp_issue(&c, big, NULL, &cert, NULL, &e), MK_ETOOBIG);
  X509_REQ_free(big);

  assert_mk_fails(mk_pki_cmp_issue(&c, NULL, NULL, &cert, NULL, &e), MK_EINVAL);
  assert_mk_fails(mk_pki_cmp_issue(&c, csr, NULL, NULL, NULL, &e), MK_EINVAL);
  assert_null(cert);
}

int main(void) {
  /* a peer closing early must not end the test process */
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_p10cr_issues, test_teardown),
      cmocka_unit_test_teardown(test_ir_issues, test_teardown),
      cmocka_unit_test_teardown(test_signature_protection, test_teardown),
      cmocka_unit_test_teardown(test_rr_revokes, test_teardown),
      cmocka_unit_test_teardown(test_wrong_secret, test_teardown),
      cmocka_unit_test_teardown(test_nothing_listening, test_teardown),
      cmocka_unit_test_teardown(test_other_key_refused, test_teardown),
      cmocka_unit_test_teardown(test_untrusted_issuer, test_teardown),
      cmocka_unit_test_teardown(test_rejection, test_teardown),
      cmocka_unit_test(test_http_answers),
      cmocka_unit_test(test_config_refused),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
