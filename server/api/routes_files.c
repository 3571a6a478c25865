/*
 * Uploads: an account sends an image as the raw request body (Content-Type
 * image/png or image/jpeg) and gets an attachment id that its forms then
 * name. Reading one back is for its uploader and for whoever reviews an
 * application that carries it.
 */
#include <string.h>

#include "api/api.h"
#include "util/guard.h"

static int post_attachment(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  MK_TRY(mk_svc_attachment_put(&req->svc, mk_api_header(req, "Content-Type"), req->body,
                               req->body_len, &resp->json, e));
  resp->status = 201;
out:
  return rc;
}

static int get_attachment(mk_req *req, mk_resp *resp, mk_err *e) {
  int rc = 0;
  char mt[16];
  MK_TRY(mk_svc_attachment_get(&req->svc, req->params[0], &resp->raw_owned, &resp->raw_len, mt, e));
  resp->content_type = strcmp(mt, "image/png") == 0 ? "image/png" : "image/jpeg";
out:
  return rc;
}

const struct mk_route mk_routes_files[] = {
    /* One image and its headers; the server refuses larger bodies with 413. */
    {"POST", "/v1/attachments", post_attachment, MK_ATTACHMENT_MAX,
     "Upload a PNG or JPEG attachment", MK_AUTH_ACCOUNT},
    {"GET", "/v1/attachments/{id}", get_attachment, 0, "Download an attachment you may see",
     MK_AUTH_ACCOUNT},
    {NULL, NULL, NULL, 0, NULL, 0},
};
