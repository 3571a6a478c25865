/* The tagged share encodings of crypto/tp.h on arbitrary bytes: a decoder
 * accepts or refuses, and what it accepts encodes back to the same bytes. */
#include <stdint.h>
#include <string.h>

#include "crypto/tp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mk_tp_device *d = NULL;
  mk_tp_server *s = NULL;
  mk_buf again;
  if (mk_tp_device_decode(data, size, &d, NULL) == 0) {
    if (mk_tp_device_encode(d, &again, NULL) != 0 || again.len != size ||
        memcmp(again.data, data, size) != 0)
      __builtin_trap();
    mk_buf_free(&again);
    mk_tp_device_free(d);
  }
  if (mk_tp_server_decode(data, size, &s, NULL) == 0) {
    if (mk_tp_server_encode(s, &again, NULL) != 0 || again.len != size ||
        memcmp(again.data, data, size) != 0)
      __builtin_trap();
    mk_buf_free(&again);
    mk_tp_server_free(s);
  }
  return 0;
}
