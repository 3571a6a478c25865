/* util/image: the upload sniffing rule the CLI and mkeyd share. */
#include <string.h>

#include "mk_test.h"
#include "util/image.h"

static const unsigned char png[] = {
    0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 1,
    0,    0,   0,   1,   8,    6,    0,    0,    0, 0x1f, 0x15, 0xc4, 0x89};
static const unsigned char jpeg[] = {0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 0xff, 0xd9};

static void test_types(void **state) {
  (void)state;
  assert_string_equal(mk_image_type(png, sizeof png), "image/png");
  assert_string_equal(mk_image_type(jpeg, sizeof jpeg), "image/jpeg");
  /* cut short: a PNG without its whole IHDR chunk, a JPEG without EOI */
  assert_null(mk_image_type(png, sizeof png - 1));
  assert_null(mk_image_type(jpeg, sizeof jpeg - 1));
  /* the signature alone, another chunk first, other formats, nothing */
  unsigned char other[sizeof png];
  memcpy(other, png, sizeof png);
  memcpy(other + 12, "IDAT", 4);
  assert_null(mk_image_type(other, sizeof other));
  assert_null(mk_image_type((const unsigned char *)"GIF89a........................", 30));
  assert_null(mk_image_type((const unsigned char *)"%PDF-1.7", 8));
  assert_null(mk_image_type(jpeg, 3));
  assert_null(mk_image_type(png, 0));
  /* the smallest JPEG the rule accepts: SOI, a marker byte, EOI */
  static const unsigned char tiny[] = {0xff, 0xd8, 0xff, 0xd9};
  assert_string_equal(mk_image_type(tiny, sizeof tiny), "image/jpeg");
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_types)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
