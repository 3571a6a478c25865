/*
 * Real-name verification providers (实名认证). One interface for the three
 * methods of the manual: CFCA (中金认证: name + ID number), Alipay face
 * (支付宝认证: a certification for name + ID number, then the person's face
 * result in Alipay) and bank card four elements (银行卡四要素: name, ID
 * number, card number, the phone the bank has). Two implementations, chosen
 * by the `realname` setting:
 *   sandbox  deterministic rules, documented in docs/identity.md (sandbox
 *            mode only)
 *   http     JSON over HTTP(S) to the gateway at realname_url (contract in
 *            docs/identity.md), bearer token from realname_token_file
 * svc/realname.c validates every field before a provider sees it; providers
 * never log what they are given.
 */
#ifndef MK_PROVIDERS_REALNAME_H
#define MK_PROVIDERS_REALNAME_H

#include <jansson.h>

#include "config.h"
#include "mkey/mkey.h"

enum mk_realname_method {
  MK_REALNAME_CFCA = 0,
  MK_REALNAME_ALIPAY = 1,
  MK_REALNAME_BANKCARD = 2,
};

/* What a provider concluded. */
enum mk_realname_verdict {
  MK_REALNAME_MATCH = 0,    /* the data belong together (and the face matched) */
  MK_REALNAME_MISMATCH = 1, /* refused: reason says why, in words for the user */
  MK_REALNAME_PENDING = 2,  /* face check not finished yet */
};

#define MK_REALNAME_REASON_MAX 128 /* bytes with the NUL, UTF-8 */
#define MK_REALNAME_REF_MAX 129    /* provider's certification id: 1..128 unreserved chars */
#define MK_REALNAME_URL_MAX 512

/* The person to check; strings validated by the caller. */
typedef struct mk_realname_subject {
  const char *name;
  const char *id_number;   /* GB 11643, upper-case X */
  const char *card_number; /* bank card only, else NULL */
  const char *card_phone;  /* bank card only, else NULL */
} mk_realname_subject;

typedef struct mk_realname mk_realname;

/* The provider cfg selects. MK_EINVAL when http is chosen without a gateway
 * URL, or the sandbox outside sandbox mode; MK_EIO when the token file
 * cannot be read. *out is the caller's: mk_realname_free. */
int mk_realname_open(const mk_config *cfg, mk_realname **out, mk_err *e) MK_MUST_CHECK;
void mk_realname_free(mk_realname *p); /* NULL is a no-op; wipes the token */
/* "sandbox" or "http". */
const char *mk_realname_kind(const mk_realname *p);
/* The method's name as stored and sent: "cfca", "alipay", "bankcard"; NULL
 * for an unknown method. mk_realname_method_parse is the reverse (-1). */
const char *mk_realname_method_name(int method);
int mk_realname_method_parse(const char *name);

/* CFCA or bank card check: *verdict MATCH or MISMATCH (reason filled).
 * MK_ENET when the gateway cannot be reached, MK_EPROTO when it answers
 * something else than the contract. */
int mk_realname_check(mk_realname *p, int method, const mk_realname_subject *s, int *verdict,
                      char reason[MK_REALNAME_REASON_MAX], mk_err *e) MK_MUST_CHECK;

/* Start an Alipay face certification for s; session_id is ours (the
 * provider's outer id). *verdict MISMATCH (reason) when the provider refuses
 * the name and ID number at once, else PENDING with ref (the provider's
 * certification id) and url (where the person does the face check). */
int mk_realname_face_start(mk_realname *p, const mk_realname_subject *s, const char *session_id,
                           int *verdict, char reason[MK_REALNAME_REASON_MAX],
                           char ref[MK_REALNAME_REF_MAX], char url[MK_REALNAME_URL_MAX],
                           mk_err *e) MK_MUST_CHECK;

/* The face result of certification ref: PENDING, MATCH or MISMATCH.
 * sandbox_outcome ("pass", "fail" or NULL) is what the sandbox endpoint
 * recorded; only the sandbox provider reads it. */
int mk_realname_face_result(mk_realname *p, const char *ref, const char *sandbox_outcome,
                            int *verdict, char reason[MK_REALNAME_REASON_MAX],
                            mk_err *e) MK_MUST_CHECK;

/* How the http provider reads the gateway's answer object ans (contract in
 * docs/identity.md), whatever it holds. A check or a face result
 * {"result": "match" | "mismatch" (| "pending" when allow_pending),
 * "reason"}: *verdict, with reason for a mismatch (the gateway's when it is
 * valid text, else a generic one). A face start: that with "mismatch" only,
 * or {"certify_id", "url"} for PENDING with ref and url. MK_EPROTO for
 * anything else. */
int mk_realname_gateway_result(const json_t *ans, int allow_pending, int *verdict,
                               char reason[MK_REALNAME_REASON_MAX], mk_err *e) MK_MUST_CHECK;
int mk_realname_gateway_face_start(const json_t *ans, int *verdict,
                                   char reason[MK_REALNAME_REASON_MAX],
                                   char ref[MK_REALNAME_REF_MAX], char url[MK_REALNAME_URL_MAX],
                                   mk_err *e) MK_MUST_CHECK;

/* Sandbox rules, exposed for tests and docs: the name and the reserved
 * phone the sandbox refuses; ID numbers whose sequence code (digits 15-17)
 * is 999 are refused too. */
#define MK_REALNAME_SANDBOX_REFUSED_NAME "王不符"
#define MK_REALNAME_SANDBOX_REFUSED_PHONE "13900000000"

#endif
