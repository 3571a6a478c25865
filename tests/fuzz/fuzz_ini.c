/* mkeyd's INI parser on arbitrary bytes: it must refuse or accept, never
 * read out of bounds, and leave every string field NUL-terminated. */
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mk_config c;
  mk_err e;
  memset(&c, 0, sizeof c);
  if (mk_config_parse_ini(&c, (const char *)data, size, "fuzz.ini", &e) == 0) {
    if (strnlen(c.data_dir, sizeof c.data_dir) == sizeof c.data_dir ||
        strnlen(c.listen, sizeof c.listen) == sizeof c.listen)
      __builtin_trap();
  }
  return 0;
}
