/*
 * The list cursors a client sends back in ?cursor= (and ?after=): the
 * application lists' "<unix seconds>-<application id>" (svc/review.c) and
 * the inbox's message seq (svc/message.c). A cursor the parser accepts
 * names a real instant and an application id, and the cursor the server
 * would make from that position reads back to it (to the same text, when
 * the seconds have no leading zero); every refusal is MK_EINVAL naming the
 * cursor field. A seq is -1 or exactly the 1..18 digits it was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "svc/svc.h"
#include "util/json.h"

#define FUZZ_MAX 256 /* past both parsers' own bounds */

static void app_cursor(const char *s) {
  mk_svc_app_pos p, back;
  char field[MK_JSON_FIELD_MAX] = "";
  char made[24 + MK_ID_MAX];
  mk_err e;
  mk_err_clear(&e);
  int rc = mk_svc_app_cursor_parse(s, &p, field, &e);
  if (rc == MK_EINVAL) {
    if (strcmp(field, "cursor") != 0 || e.code != MK_EINVAL || e.msg[0] == '\0')
      abort();
    return;
  }
  if (rc != 0 || p.at[0] == '\0' || mk_id_check(p.id, "apl", NULL) != 0)
    abort();
  int64_t t = 0;
  if (mk_time_parse(p.at, &t, NULL) != 0 || t < 0)
    abort();
  if (mk_svc_app_cursor_make(p.at, p.id, made, sizeof made, &e) != 0)
    abort();
  if (mk_svc_app_cursor_parse(made, &back, field, &e) != 0 || strcmp(back.at, p.at) != 0 ||
      strcmp(back.id, p.id) != 0)
    abort();
  if ((s[0] != '0' || s[1] == '-') && strcmp(made, s) != 0)
    abort();
}

static void seq(const char *s) {
  int64_t v = mk_svc_message_seq_parse(s);
  size_t n = strlen(s);
  int digits = n >= 1 && n <= 18 && strspn(s, "0123456789") == n;
  if (v == -1) {
    if (digits)
      abort();
    return;
  }
  if (!digits || v < 0 || v != strtoll(s, NULL, 10))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > FUZZ_MAX)
    return 0;
  char *s = malloc(size + 1);
  if (s == NULL)
    abort();
  memcpy(s, data, size);
  s[size] = '\0';
  app_cursor(s);
  seq(s);
  free(s);

  /* No cursor is the first page. */
  mk_svc_app_pos p;
  if (mk_svc_app_cursor_parse(NULL, &p, NULL, NULL) != 0 || p.at[0] != '\0' || p.id[0] != '\0')
    abort();
  if (mk_svc_message_seq_parse(NULL) != -1)
    abort();
  return 0;
}
