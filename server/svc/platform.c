/*
 * Trading platforms (平台选择): the registry seeded by migration 0007, the
 * nearest platforms to where the phone is, and the account's current
 * platform. An alliance (长三角CA互认平台) is a platform of kind 'alliance'
 * whose members name it in alliance_id.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "svc/svc.h"
#include "util/guard.h"
#include "util/json.h"
#include "util/time.h"

#define EARTH_RADIUS_KM 6371.0088 /* IUGG mean radius */
#define NEAREST_MAX 10
#define PLATFORMS_MAX 1000        /* nearest looks at every platform: bounded */

#define COLS "p.id, p.name, p.kind, p.province, p.city, p.lat_e6, p.lon_e6, a.id, a.name"
#define FROM "FROM platform p LEFT JOIN platform a ON a.id = p.alliance_id"

double mk_svc_distance_km(int64_t lat1_e6, int64_t lon1_e6, int64_t lat2_e6, int64_t lon2_e6) {
  const double rad = M_PI / 180.0 / 1e6;
  double p1 = (double)lat1_e6 * rad, p2 = (double)lat2_e6 * rad;
  double dp = p2 - p1, dl = (double)(lon2_e6 - lon1_e6) * rad;
  double h = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
  if (h > 1.0)
    h = 1.0;
  return 2.0 * EARTH_RADIUS_KM * asin(sqrt(h));
}

int mk_svc_parse_degrees(const char *s, int max, int64_t *out_e6, mk_err *e) {
  /* [-+]?D{1,3}(.D{1,7})? : plain decimal only, so nothing strtod would
   * also take (exponents, hex floats, inf, nan) gets through. */
  int rc = 0;
  const char *p = s;
  int neg = 0;
  int64_t whole = 0, frac = 0;
  int nw = 0, nf = 0;
  MK_ENSURE(s != NULL && *s != '\0', MK_EINVAL, e, "a coordinate is required");
  MK_ENSURE(strlen(s) <= 16, MK_EINVAL, e, "a coordinate is a decimal number of degrees");
  if (*p == '-' || *p == '+')
    neg = *p++ == '-';
  for (; isdigit((unsigned char)*p); p++, nw++)
    whole = whole * 10 + (*p - '0');
  if (*p == '.') {
    for (p++; isdigit((unsigned char)*p); p++, nf++)
      if (nf < 7)
        frac = frac * 10 + (*p - '0');
    MK_ENSURE(nf >= 1 && nf <= 7, MK_EINVAL, e, "a coordinate has 1 to 7 decimals");
  }
  MK_ENSURE(*p == '\0' && nw >= 1 && nw <= 3, MK_EINVAL, e,
            "a coordinate is a decimal number of degrees (e.g. 30.7469)");
  for (int i = nf; i < 7; i++)
    frac *= 10;
  MK_ENSURE(whole * 10000000 + frac <= (int64_t)max * 10000000, MK_EINVAL, e,
            "a coordinate must lie within ±%d degrees", max);
  /* millionths: the seventh decimal rounds */
  int64_t v = whole * 1000000 + (frac + 5) / 10;
  *out_e6 = neg ? -v : v;
out:
  return rc;
}

/* One item from a row of COLS. */
static json_t *item_of(mk_stmt *st) {
  json_t *alliance = mk_stmt_is_null(st, 7)
                         ? json_null()
                         : json_pack("{s:s,s:s}", "id", mk_stmt_text(st, 7), "name",
                                     mk_stmt_text(st, 8));
  if (alliance == NULL)
    return NULL;
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:f,s:f,s:o}", "id", mk_stmt_text(st, 0), "name",
                   mk_stmt_text(st, 1), "kind", mk_stmt_text(st, 2), "province",
                   mk_stmt_text(st, 3), "city", mk_stmt_text(st, 4), "lat",
                   (double)mk_stmt_int(st, 5) / 1e6, "lon", (double)mk_stmt_int(st, 6) / 1e6,
                   "alliance", alliance);
}

/* An alliance's members, added to its item. */
static int add_members(mk_db *db, json_t *item, mk_err *e) {
  int rc = 0, row = 0;
  mk_stmt *st = NULL;
  json_t *members = json_array();
  MK_ENSURE_ALLOC(members, e);
  MK_TRY(mk_db_prepare(db, "SELECT id, name, city FROM platform WHERE alliance_id = $1 ORDER BY id",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, json_string_value(json_object_get(item, "id")), e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    json_t *m = json_pack("{s:s,s:s,s:s}", "id", mk_stmt_text(st, 0), "name", mk_stmt_text(st, 1),
                          "city", mk_stmt_text(st, 2));
    MK_ENSURE(m != NULL && json_array_append_new(members, m) == 0, MK_ENOMEM, e, "out of memory");
  }
  MK_TRY(row);
  MK_ENSURE(json_object_set(item, "members", members) == 0, MK_ENOMEM, e, "out of memory");
out:
  mk_stmt_finish(st);
  json_decref(members);
  return rc;
}

static int is_alliance(const json_t *item) {
  const char *k = json_string_value(json_object_get(item, "kind"));
  return k != NULL && strcmp(k, "alliance") == 0;
}

/* "浙江省" and "上海市" name the same province as "浙江" and "上海". */
static void province_key(const char *in, char *out, size_t cap) {
  snprintf(out, cap, "%s", in);
  size_t n = strlen(out);
  static const char *const suffixes[] = {"省", "市"};
  for (size_t i = 0; i < 2; i++) {
    size_t k = strlen(suffixes[i]);
    if (n > k && strcmp(out + n - k, suffixes[i]) == 0) {
      out[n - k] = '\0';
      return;
    }
  }
}

int mk_svc_platform_list(mk_svc_ctx *ctx, const char *province, const char *cursor, int64_t limit,
                         json_t **out, mk_err *e) {
  int rc = 0, row = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *items = NULL;
  char prov[64];
  const char *last = NULL;
  int more = 0;
  *out = NULL;
  MK_ENSURE(limit >= 1 && limit <= 100, MK_EINVAL, e, "limit must be 1..100");
  if (province != NULL) {
    MK_ENSURE(strlen(province) < sizeof prov && mk_utf8_valid_text(province, strlen(province), 0),
              MK_EINVAL, e, "province is a name such as 浙江");
    province_key(province, prov, sizeof prov);
  }
  items = json_array();
  MK_ENSURE_ALLOC(items, e);
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_prepare(db,
                       "SELECT " COLS " " FROM " WHERE p.id > $1 AND ($2 = '' OR p.province = $2) "
                       "ORDER BY p.id LIMIT $3",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, cursor ? cursor : "", e));
  MK_TRY(mk_stmt_bind_text(st, 2, province ? prov : "", e));
  MK_TRY(mk_stmt_bind_int(st, 3, limit + 1, e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    if ((int64_t)json_array_size(items) == limit) {
      more = 1;
      break;
    }
    json_t *it = item_of(st);
    MK_ENSURE(it != NULL && json_array_append_new(items, it) == 0, MK_ENOMEM, e, "out of memory");
  }
  MK_TRY(row);
  mk_stmt_finish(st);
  st = NULL;
  size_t i;
  json_t *it;
  json_array_foreach(items, i, it) {
    if (is_alliance(it))
      MK_TRY(add_members(db, it, e));
    last = json_string_value(json_object_get(it, "id"));
  }
  *out = json_pack("{s:O,s:s?}", "items", items, "next_cursor", more ? last : NULL);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  json_decref(items);
  return rc;
}

/* The platform id as an item (with members for an alliance), in db. */
static int platform_item(mk_db *db, const char *id, json_t **out, mk_err *e) {
  int rc = 0, found = 0;
  mk_stmt *st = NULL;
  *out = NULL;
  MK_TRY(mk_db_prepare(db, "SELECT " COLS " " FROM " WHERE p.id = $1", &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(found = mk_stmt_step(st, e));
  MK_ENSURE(found, MK_ENOTFOUND, e, "no such platform");
  *out = item_of(st);
  MK_ENSURE_ALLOC(*out, e);
  mk_stmt_finish(st);
  st = NULL;
  if (is_alliance(*out))
    MK_TRY(add_members(db, *out, e));
out:
  mk_stmt_finish(st);
  if (rc < 0) {
    json_decref(*out);
    *out = NULL;
  }
  return rc;
}

int mk_svc_platform_get(mk_svc_ctx *ctx, const char *id, json_t **out, mk_err *e) {
  int rc = 0;
  mk_db *db = NULL;
  *out = NULL;
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(platform_item(db, id, out, e));
out:
  mk_store_release(ctx->store, db);
  return rc;
}

typedef struct near {
  json_t *item;
  double km;
} near;

static int near_cmp(const void *a, const void *b) {
  const near *x = a, *y = b;
  if (x->km != y->km)
    return x->km < y->km ? -1 : 1;
  return strcmp(json_string_value(json_object_get(x->item, "id")),
                json_string_value(json_object_get(y->item, "id")));
}

int mk_svc_platform_nearest(mk_svc_ctx *ctx, int64_t lat_e6, int64_t lon_e6, int64_t limit,
                            json_t **out, mk_err *e) {
  int rc = 0, row = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  near *all = NULL;
  size_t n = 0;
  json_t *items = NULL;
  *out = NULL;
  MK_ENSURE(lat_e6 >= -90000000 && lat_e6 <= 90000000, MK_EINVAL, e,
            "lat must lie within ±90 degrees");
  MK_ENSURE(lon_e6 >= -180000000 && lon_e6 <= 180000000, MK_EINVAL, e,
            "lon must lie within ±180 degrees");
  MK_ENSURE(limit >= 1 && limit <= NEAREST_MAX, MK_EINVAL, e, "limit must be 1..%d", NEAREST_MAX);
  all = calloc(PLATFORMS_MAX, sizeof *all);
  MK_ENSURE_ALLOC(all, e);
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_prepare(db, "SELECT " COLS " " FROM " WHERE p.kind = 'platform' ORDER BY p.id LIMIT $1",
                       &st, e));
  MK_TRY(mk_stmt_bind_int(st, 1, PLATFORMS_MAX, e));
  while ((row = mk_stmt_step(st, e)) == 1) {
    all[n].item = item_of(st);
    MK_ENSURE_ALLOC(all[n].item, e);
    all[n].km = mk_svc_distance_km(lat_e6, lon_e6, mk_stmt_int(st, 5), mk_stmt_int(st, 6));
    n++;
  }
  MK_TRY(row);
  qsort(all, n, sizeof *all, near_cmp);
  items = json_array();
  MK_ENSURE_ALLOC(items, e);
  for (size_t i = 0; i < n && (int64_t)i < limit; i++) {
    /* 0.1 km: finer would claim more than the registry's coordinates hold. */
    MK_ENSURE(json_object_set_new(all[i].item, "distance_km",
                                  json_real(round(all[i].km * 10.0) / 10.0)) == 0 &&
                  json_array_append(items, all[i].item) == 0,
              MK_ENOMEM, e, "out of memory");
  }
  *out = json_pack("{s:{s:f,s:f},s:O}", "origin", "lat", (double)lat_e6 / 1e6, "lon",
                   (double)lon_e6 / 1e6, "items", items);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  for (size_t i = 0; all != NULL && i < n; i++)
    json_decref(all[i].item);
  free(all);
  json_decref(items);
  return rc;
}

int mk_svc_platform_select(mk_svc_ctx *ctx, const json_t *body, json_t **out, char *field,
                           mk_err *e) {
  static const char *const allowed[] = {"platform_id", NULL};
  int rc = 0;
  mk_db *db = NULL;
  mk_stmt *st = NULL;
  json_t *item = NULL;
  const char *id = NULL;
  char ts[MK_TIME_TEXT_MAX];
  *out = NULL;
  MK_TRY(mk_svc_need_account(ctx, e));
  MK_TRY(mk_json_only_keys(body, allowed, field, e));
  MK_TRY(mk_json_get_str(body, "platform_id", 1, 64, &id, field, e));
  MK_TRY(mk_time_format(ctx->now(), ts, e));
  MK_TRY(mk_store_acquire(ctx->store, &db, e));
  MK_TRY(mk_db_begin(db, e));
  rc = platform_item(db, id, &item, e);
  if (rc == MK_ENOTFOUND) {
    if (field != NULL)
      snprintf(field, MK_JSON_FIELD_MAX, "platform_id");
    MK_FAIL(MK_EINVAL, e, "no platform %s", id);
  }
  MK_TRY(rc);
  MK_TRY(mk_db_prepare(db, "UPDATE account SET platform_id = $1, updated_at = $2 WHERE id = $3",
                       &st, e));
  MK_TRY(mk_stmt_bind_text(st, 1, id, e));
  MK_TRY(mk_stmt_bind_text(st, 2, ts, e));
  MK_TRY(mk_stmt_bind_text(st, 3, ctx->caller.account_id, e));
  MK_TRY(mk_stmt_step(st, e));
  mk_stmt_finish(st);
  st = NULL;
  MK_ENSURE(mk_db_changes(db) == 1, MK_ENOTFOUND, e, "no such account");
  json_t *d = json_pack("{s:s}", "platform_id", id);
  MK_ENSURE_ALLOC(d, e);
  rc = mk_svc_audit(ctx, db, "account.platform", "account", ctx->caller.account_id,
                    ctx->caller.account_id, NULL, d, e);
  json_decref(d);
  MK_TRY(rc);
  MK_TRY(mk_db_commit(db, e));
  *out = json_pack("{s:O}", "platform", item);
  MK_ENSURE_ALLOC(*out, e);
out:
  mk_stmt_finish(st);
  mk_store_release(ctx->store, db);
  json_decref(item);
  return rc;
}
